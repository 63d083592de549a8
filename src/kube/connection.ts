import http from 'node:http';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { UsageError } from '../errors.js';
import type { ClusterEndpoint } from '../types.js';

/** The Kubernetes API clients one drain needs, sharing one pool of keep-alive connections. */
export interface KubeApis {
  /** The in-memory config behind the clients; the watch client reads it. */
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  policy: k8s.PolicyV1Api;
  /** Only to ask whether a DaemonSet pod's DaemonSet still exists. */
  apps: k8s.AppsV1Api;
  /** Closes the pooled connections (a warm Lambda container keeps them between invocations). */
  close(): void;
}

export interface ConnectionOptions {
  /** Every request is aborted after this long; retries happen above, within the deadline. */
  requestTimeoutMs?: number;
  /** Upper bound on parallel connections: a 110-pod node is drained with one eviction per pod in flight. */
  maxSockets?: number;
}

/** An in-memory client-node config for an EKS cluster and a bearer token. Nothing touches disk. */
export function kubeConfigForEndpoint(endpoint: ClusterEndpoint, token: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: endpoint.name,
        server: endpoint.endpoint,
        caData: endpoint.certificateAuthorityData,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'eks-spot-drainer', token }],
    contexts: [{ name: endpoint.name, cluster: endpoint.name, user: 'eks-spot-drainer' }],
    currentContext: endpoint.name,
  });
  return kc;
}

/**
 * A client-node config from a kubeconfig file (default: $KUBECONFIG or ~/.kube/config) and
 * optionally a context; for the CLI, the local demo and self-managed clusters.
 */
export function kubeConfigFromFile(path?: string, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${path ?? '(default)'}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new UsageError(`kubeconfig has no context "${context}"`);
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UsageError(`kubeconfig ${path ?? '(default)'} has no current cluster; pass --context`);
  }
  return kc;
}

/**
 * Builds the API clients with one keep-alive agent per cluster. client-node 1.x makes a new agent,
 * hence a new TLS handshake, for every request; across a 110-pod drain that costs more than the drain.
 */
export function createKubeApis(kc: k8s.KubeConfig, options: ConnectionOptions = {}): KubeApis {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError('the Kubernetes config has no current cluster');
  const auth = new PooledAuthentication(kc, options.maxSockets ?? 128);
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const configuration = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
    promiseMiddleware: [
      {
        pre: async (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return context;
        },
        post: async (response) => response,
      },
    ],
  });
  return {
    kc,
    core: new k8s.CoreV1Api(configuration),
    policy: new k8s.PolicyV1Api(configuration),
    apps: new k8s.AppsV1Api(configuration),
    close: () => auth.close(),
  };
}

/** client-node's authentication (token, exec plugin, client certificate) with a shared agent. */
class PooledAuthentication implements k8s.SecurityAuthentication {
  private agent: http.Agent | undefined;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly maxSockets: number,
  ) {}

  getName(): string {
    return 'pooled';
  }

  async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    if (this.kc.getCurrentCluster()?.proxyUrl) {
      // Proxies need client-node's own agents; correctness over connection reuse.
      return this.kc.applySecurityAuthentication(context);
    }
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) context.setHeaderParam(name, String(value));
    }
    if (options.auth) {
      context.setHeaderParam('Authorization', `Basic ${Buffer.from(options.auth).toString('base64')}`);
    }
    this.agent ??= this.createAgent(options);
    context.setAgent(this.agent);
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private createAgent(options: https.RequestOptions): http.Agent {
    const pool = { keepAlive: true, maxSockets: this.maxSockets, scheduling: 'lifo' as const };
    if (this.kc.getCurrentCluster()?.server.startsWith('http://')) return new http.Agent(pool);
    return new https.Agent({
      ...pool,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      pfx: options.pfx,
      passphrase: options.passphrase,
      servername: options.servername,
      rejectUnauthorized: options.rejectUnauthorized,
    });
  }
}
