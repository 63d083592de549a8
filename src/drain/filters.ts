import type * as k8s from '@kubernetes/client-node';
import type { DrainOptions } from './options.js';
import type { PodTier } from './result.js';

/** What the filter chain decided for one pod. */
export type PodDecision =
  | { action: 'evict'; tier: PodTier; warning?: string }
  /** Already being deleted: wait for it (and cut its grace if it would outlast the deadline). */
  | { action: 'wait'; tier: PodTier }
  | { action: 'skip'; tier: PodTier; reason: string };

/** What the filters may know beyond the pod, fetched before they run (filters make no API calls). */
export interface PodFacts {
  /** Whether the DaemonSet a pod names as its controller still exists (namespace/name). */
  daemonSetExists: (namespace: string, name: string) => boolean;
}

/** Every DaemonSet exists: what a caller that cannot ask assumes (the pod is left alone). */
export const assumeDaemonSetsExist: PodFacts = { daemonSetExists: () => true };

/** A filter says "skip" with a reason, or "evict" (ending the chain), or passes and may add a warning. */
type PodFilter = (
  pod: k8s.V1Pod,
  options: DrainOptions,
  facts: PodFacts,
) => { skip: string } | { evict: string } | { warning: string } | undefined;

const mirrorAnnotation = 'kubernetes.io/config.mirror';
const criticalClasses = new Set(['system-cluster-critical', 'system-node-critical']);

export function isFinished(pod: k8s.V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

const skipMirror: PodFilter = (pod) =>
  pod.metadata?.annotations?.[mirrorAnnotation] !== undefined ? { skip: 'mirror pod (static)' } : undefined;

// kubectl deletes finished pods, whatever owns them and whatever they mount: they hold nothing, and
// an eviction of a finished pod deletes it without asking its budget.
const finished: PodFilter = (pod) =>
  isFinished(pod) ? { evict: `finished (${pod.status?.phase}): deleted` } : undefined;

const daemonSet: PodFilter = (pod, options, facts) => {
  const owner = controllerOf(pod);
  if (owner?.kind !== 'DaemonSet') return undefined;
  if (facts.daemonSetExists(pod.metadata?.namespace ?? '', owner.name)) return { skip: 'DaemonSet pod' };
  // Its DaemonSet is gone, so nothing recreates it: an unmanaged pod (kubectl drain --force).
  return options.evictUnmanagedPods
    ? { warning: `its DaemonSet ${owner.name} no longer exists: it will not be recreated` }
    : { skip: `its DaemonSet ${owner.name} no longer exists (EVICT_UNMANAGED_PODS=false)` };
};

const emptyDir: PodFilter = (pod, options) => {
  if (!pod.spec?.volumes?.some((v) => v.emptyDir)) return undefined;
  return options.deleteEmptyDirData
    ? { warning: 'emptyDir data is lost' }
    : { skip: 'uses emptyDir (DELETE_EMPTYDIR_DATA=false)' };
};

const unmanaged: PodFilter = (pod, options) => {
  const owner = controllerOf(pod);
  // An orphaned DaemonSet pod was already warned about by the DaemonSet filter.
  if (owner) return undefined;
  return options.evictUnmanagedPods
    ? { warning: 'no controller: it will not be recreated' }
    : { skip: 'no controller (EVICT_UNMANAGED_PODS=false)' };
};

/** kubectl drain's order: the first filter that decides wins; warnings accumulate. */
const chain: PodFilter[] = [skipMirror, finished, daemonSet, emptyDir, unmanaged];

/** Decides what to do with one pod of the node; pure, so it is tested table-driven. */
export function decidePod(
  pod: k8s.V1Pod,
  options: DrainOptions,
  facts: PodFacts = assumeDaemonSetsExist,
): PodDecision {
  const tier = tierOf(pod, options);
  const warnings: string[] = [];
  for (const filter of chain) {
    const verdict = filter(pod, options, facts);
    if (!verdict) continue;
    if ('skip' in verdict) return { action: 'skip', tier, reason: verdict.skip };
    if ('evict' in verdict) return { action: 'evict', tier: 'ordinary', warning: verdict.evict };
    warnings.push(verdict.warning);
  }
  if (pod.metadata?.deletionTimestamp) return { action: 'wait', tier };
  return warnings.length > 0
    ? { action: 'evict', tier, warning: warnings.join('; ') }
    : { action: 'evict', tier };
}

/** Cluster add-ons (CoreDNS, CNI helpers, metrics) go last, so the cluster keeps working meanwhile. */
export function tierOf(pod: k8s.V1Pod, options: DrainOptions): PodTier {
  const priority = pod.spec?.priority ?? 0;
  const className = pod.spec?.priorityClassName ?? '';
  return priority >= options.criticalPriorityThreshold || criticalClasses.has(className)
    ? 'critical'
    : 'ordinary';
}

export function controllerOf(pod: k8s.V1Pod): k8s.V1OwnerReference | undefined {
  return pod.metadata?.ownerReferences?.find((ref) => ref.controller);
}
