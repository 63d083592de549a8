import type { AwsCallOptions } from '../aws/aws-retry.js';
import type { ClusterEndpointCache } from '../aws/eks-cluster.js';
import type { EksTokenProvider } from '../aws/eks-token.js';
import {
  type ConnectionOptions,
  createKubeApis,
  type KubeApis,
  kubeConfigForEndpoint,
} from './connection.js';

/** How the function gets into a cluster by name. */
export interface ClusterAccess {
  connect(clusterName: string, options: AwsCallOptions): Promise<KubeApis>;
}

/**
 * EKS access: endpoint and CA from DescribeCluster (cached for the container's life), a bearer token
 * from the token provider (renewed before it expires), and API clients kept while the token lasts,
 * so warm invocations reuse their TLS connections.
 */
export class EksClusterAccess implements ClusterAccess {
  readonly #connections = new Map<string, { token: string; apis: KubeApis }>();

  constructor(
    private readonly endpoints: ClusterEndpointCache,
    private readonly tokens: EksTokenProvider,
    private readonly connection: ConnectionOptions = {},
  ) {}

  async connect(clusterName: string, options: AwsCallOptions): Promise<KubeApis> {
    const [endpoint, { token }] = await Promise.all([
      this.endpoints.get(clusterName, options),
      this.tokens.getToken(clusterName),
    ]);
    const cached = this.#connections.get(clusterName);
    if (cached?.token === token) return cached.apis;
    cached?.apis.close();
    const apis = createKubeApis(kubeConfigForEndpoint(endpoint, token), this.connection);
    this.#connections.set(clusterName, { token, apis });
    return apis;
  }

  toJSON(): object {
    return { clusters: [...this.#connections.keys()] };
  }
}

/** One cluster from a kubeconfig context, whatever the cluster's name (CLI, local demo, self-managed). */
export class FixedClusterAccess implements ClusterAccess {
  constructor(private readonly apis: KubeApis) {}

  async connect(): Promise<KubeApis> {
    return this.apis;
  }
}
