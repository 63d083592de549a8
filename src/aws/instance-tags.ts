import type { InstanceInfo } from '../types.js';

/** The tag keys that name an instance's EKS cluster, most trustworthy first. */
export const ClusterTag = {
  /** Set by EKS managed node groups (and by Karpenter on EKS). */
  EksManaged: 'aws:eks:cluster-name',
  /** Set by eksctl and by users who copy its convention. */
  Eks: 'eks:cluster-name',
  /** The cloud-provider convention: `kubernetes.io/cluster/<name>` = owned | shared. */
  KubernetesPrefix: 'kubernetes.io/cluster/',
  /** Karpenter's discovery tag: usually, not always, the cluster name; a hint, tried last. */
  KarpenterDiscovery: 'karpenter.sh/discovery',
} as const;

const kubernetesClusterValues = ['owned', 'shared'];

/**
 * The cluster names an instance's tags point at, in order of confidence, without duplicates.
 *
 * @example
 * clusterNamesFromTags({ 'kubernetes.io/cluster/prod': 'owned' }) // ['prod']
 */
export function clusterNamesFromTags(tags: Record<string, string>): string[] {
  const names: string[] = [];
  const add = (name: string | undefined) => {
    const trimmed = name?.trim();
    if (trimmed && !names.includes(trimmed)) names.push(trimmed);
  };
  add(tags[ClusterTag.EksManaged]);
  add(tags[ClusterTag.Eks]);
  const kubernetesTagged = Object.keys(tags)
    .filter((key) => key.startsWith(ClusterTag.KubernetesPrefix))
    .filter((key) => kubernetesClusterValues.includes(tags[key] ?? ''))
    // "owned" says more than "shared"; the key order of the tag set says nothing.
    .sort((a, b) => Number(tags[a] !== 'owned') - Number(tags[b] !== 'owned') || a.localeCompare(b));
  for (const key of kubernetesTagged) add(key.slice(ClusterTag.KubernetesPrefix.length));
  add(tags[ClusterTag.KarpenterDiscovery]);
  return names;
}

/**
 * The first of the instance's cluster names that this deployment manages, or undefined when the
 * instance belongs to no managed cluster (someone else's node: leave it alone). Names are exact.
 * With `managedTag` (MANAGED_TAG, NTH's opt-in), only an instance carrying that tag key is managed.
 */
export function resolveManagedCluster(
  info: Pick<InstanceInfo, 'clusterNames'> & { tags?: Record<string, string> },
  managedClusters: readonly string[],
  managedTag?: string,
): string | undefined {
  if (managedTag && !Object.hasOwn(info.tags ?? {}, managedTag)) return undefined;
  return info.clusterNames.find((name) => managedClusters.includes(name));
}
