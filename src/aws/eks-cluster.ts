import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { TransientError } from '../errors.js';
import type { ClusterEndpoint } from '../types.js';
import { type AwsCallOptions, callAws } from './aws-retry.js';

/**
 * Where a cluster's API server is and which CA signs it. Throttling, 5xx and timeouts are retried
 * until the deadline, then thrown as a TransientError; so is a cluster that has no endpoint yet
 * (still CREATING). An unknown cluster throws EKS's ResourceNotFoundException unchanged: a
 * configuration problem that no retry fixes.
 */
export async function describeCluster(
  eks: EKSClient,
  name: string,
  options: AwsCallOptions,
): Promise<ClusterEndpoint> {
  const { cluster } = await callAws(
    `DescribeCluster ${name}`,
    (abortSignal) => eks.send(new DescribeClusterCommand({ name }), { abortSignal }),
    options,
  );
  const endpoint = cluster?.endpoint;
  const certificateAuthorityData = cluster?.certificateAuthority?.data;
  if (!endpoint || !certificateAuthorityData) {
    throw new TransientError(
      `EKS cluster ${name} has no endpoint yet (status ${cluster?.status ?? 'unknown'})`,
    );
  }
  return { name, endpoint, certificateAuthorityData };
}

/**
 * Remembers each cluster's endpoint for the life of the container: it does not change while the
 * cluster exists. Concurrent lookups share the call in flight; a failed lookup is not remembered.
 */
export class ClusterEndpointCache {
  readonly #eks: EKSClient;
  readonly #entries = new Map<string, Promise<ClusterEndpoint>>();

  constructor(eks: EKSClient) {
    this.#eks = eks;
  }

  /** The cluster's endpoint from the cache, or from EKS the first time. */
  get(name: string, options: AwsCallOptions): Promise<ClusterEndpoint> {
    const cached = this.#entries.get(name);
    if (cached) return cached;
    const endpoint = describeCluster(this.#eks, name, options);
    this.#entries.set(name, endpoint);
    endpoint.catch(() => {
      if (this.#entries.get(name) === endpoint) this.#entries.delete(name);
    });
    return endpoint;
  }

  /** Forgets a cluster, e.g. after its API server refused our CA: the next get asks EKS again. */
  invalidate(name: string): void {
    this.#entries.delete(name);
  }
}
