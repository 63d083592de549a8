import type * as k8s from '@kubernetes/client-node';
import type { DrainOptions } from './options.js';
import type { PodTier } from './result.js';

/** What the filter chain decided for one pod. */
export type PodDecision =
  | { action: 'evict'; tier: PodTier; warning?: string }
  /** Already being deleted: wait for it, don't evict it again. */
  | { action: 'wait'; tier: PodTier }
  | { action: 'skip'; tier: PodTier; reason: string };

/** A filter says "skip" with a reason, or passes (undefined) and may add a warning. */
type PodFilter = (
  pod: k8s.V1Pod,
  options: DrainOptions,
) => { skip: string } | { warning: string } | undefined;

const mirrorAnnotation = 'kubernetes.io/config.mirror';
const criticalClasses = new Set(['system-cluster-critical', 'system-node-critical']);

const skipFinished: PodFilter = (pod) =>
  pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
    ? { skip: `finished (${pod.status.phase})` }
    : undefined;

const skipMirror: PodFilter = (pod) =>
  pod.metadata?.annotations?.[mirrorAnnotation] !== undefined ? { skip: 'mirror pod (static)' } : undefined;

const skipDaemonSet: PodFilter = (pod) =>
  controllerOf(pod)?.kind === 'DaemonSet' ? { skip: 'DaemonSet pod' } : undefined;

const emptyDir: PodFilter = (pod, options) => {
  if (!pod.spec?.volumes?.some((v) => v.emptyDir)) return undefined;
  return options.deleteEmptyDirData
    ? { warning: 'emptyDir data is lost' }
    : { skip: 'uses emptyDir (DELETE_EMPTYDIR_DATA=false)' };
};

const unmanaged: PodFilter = (pod, options) => {
  if (controllerOf(pod)) return undefined;
  return options.evictUnmanagedPods
    ? { warning: 'no controller: it will not be recreated' }
    : { skip: 'no controller (EVICT_UNMANAGED_PODS=false)' };
};

/** kubectl drain's order: the first filter that says "skip" wins; warnings accumulate. */
const chain: PodFilter[] = [skipFinished, skipMirror, skipDaemonSet, emptyDir, unmanaged];

/** Decides what to do with one pod of the node; pure, so it is tested table-driven. */
export function decidePod(pod: k8s.V1Pod, options: DrainOptions): PodDecision {
  const tier = tierOf(pod, options);
  const warnings: string[] = [];
  for (const filter of chain) {
    const verdict = filter(pod, options);
    if (verdict && 'skip' in verdict) return { action: 'skip', tier, reason: verdict.skip };
    if (verdict) warnings.push(verdict.warning);
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

function controllerOf(pod: k8s.V1Pod): k8s.V1OwnerReference | undefined {
  return pod.metadata?.ownerReferences?.find((ref) => ref.controller);
}
