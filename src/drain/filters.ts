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
  /**
   * The node's taints while it is drained (this project's included), undefined when they could not
   * be read: an evicted DaemonSet pod that tolerates every one of them is put straight back.
   */
  nodeTaints: k8s.V1Taint[] | undefined;
}

/** What a caller that cannot ask assumes: every DaemonSet exists, so its pods are left alone. */
export const assumeDaemonSetsExist: PodFacts = { daemonSetExists: () => true, nodeTaints: undefined };

/**
 * A filter says "skip" with a reason, or "evict" (ending the chain), or passes and may add a warning
 * or move the pod to the DaemonSet tiers (evicted after every other pod).
 */
type PodFilter = (
  pod: k8s.V1Pod,
  options: DrainOptions,
  facts: PodFacts,
) => { skip: string } | { evict: string } | { warning: string } | { daemonSetTier: true } | undefined;

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

/** Annotations by which a pod asks not to be disrupted: Karpenter's, and this project's own. */
export const doNotDisruptAnnotations = ['karpenter.sh/do-not-disrupt', 'eks-spot-drainer/do-not-disrupt'];

// Karpenter honours do-not-disrupt for voluntary disruption only: a Spot reclaim takes the pod anyway,
// so evicting it first, within its grace, is the better end.
const doNotDisrupt: PodFilter = (pod, options) => {
  const asked = doNotDisruptAnnotations.find((a) => pod.metadata?.annotations?.[a] === 'true');
  if (!asked) return undefined;
  return options.keepDoNotDisrupt
    ? { skip: `${asked}: kept through a voluntary drain` }
    : { warning: `${asked} overridden: the instance goes at a set time` };
};

const daemonSet: PodFilter = (pod, options, facts) => {
  const owner = controllerOf(pod);
  if (owner?.kind !== 'DaemonSet') return undefined;
  if (!facts.daemonSetExists(pod.metadata?.namespace ?? '', owner.name)) {
    // Its DaemonSet is gone, so nothing recreates it: an unmanaged pod (kubectl drain --force).
    return options.evictUnmanagedPods
      ? { warning: `its DaemonSet ${owner.name} no longer exists: it will not be recreated` }
      : { skip: `its DaemonSet ${owner.name} no longer exists (EVICT_UNMANAGED_PODS=false)` };
  }
  if (!options.evictDaemonSetPods) return { skip: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' };
  if (!facts.nodeTaints)
    return { skip: 'DaemonSet pod: the node could not be read to tell if it would return' };
  // Karpenter leaves a pod that tolerates its disrupted taint alone, for the same reason: evicted, it
  // would only come back (its DaemonSet tolerates the cordon for it, and here every taint too).
  if (toleratesAll(pod, facts.nodeTaints)) {
    return { skip: 'DaemonSet pod that tolerates every taint of the node: its DaemonSet would put it back' };
  }
  return { daemonSetTier: true };
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
const chain: PodFilter[] = [skipMirror, finished, doNotDisrupt, daemonSet, emptyDir, unmanaged];

/** Decides what to do with one pod of the node; pure, so it is tested table-driven. */
export function decidePod(
  pod: k8s.V1Pod,
  options: DrainOptions,
  facts: PodFacts = assumeDaemonSetsExist,
): PodDecision {
  const tier = tierOf(pod, options);
  const warnings: string[] = [];
  let daemonSetTier = false;
  for (const filter of chain) {
    const verdict = filter(pod, options, facts);
    if (!verdict) continue;
    if ('skip' in verdict) return { action: 'skip', tier, reason: verdict.skip };
    if ('evict' in verdict) return { action: 'evict', tier: 'ordinary', warning: verdict.evict };
    if ('daemonSetTier' in verdict) daemonSetTier = true;
    else warnings.push(verdict.warning);
  }
  const evictedIn = daemonSetTier ? daemonSetTierOf(tier) : tier;
  if (pod.metadata?.deletionTimestamp) return { action: 'wait', tier: evictedIn };
  return warnings.length > 0
    ? { action: 'evict', tier: evictedIn, warning: warnings.join('; ') }
    : { action: 'evict', tier: evictedIn };
}

/** Cluster add-ons (CoreDNS, CNI helpers, metrics) go last, so the cluster keeps working meanwhile. */
export function tierOf(pod: k8s.V1Pod, options: DrainOptions): 'ordinary' | 'critical' {
  const priority = pod.spec?.priority ?? 0;
  const className = pod.spec?.priorityClassName ?? '';
  return priority >= options.criticalPriorityThreshold || criticalClasses.has(className)
    ? 'critical'
    : 'ordinary';
}

/**
 * Node agents (log shippers, monitoring, CNI) outlive every pod they serve: DaemonSet pods go after
 * the critical tier, and critical ones (kube-proxy, the CNI) after the other DaemonSet pods.
 */
function daemonSetTierOf(tier: 'ordinary' | 'critical'): PodTier {
  return tier === 'critical' ? 'critical-daemonset' : 'daemonset';
}

/**
 * Whether the pod tolerates every NoSchedule and NoExecute taint of the node: then its DaemonSet
 * would put it straight back once evicted (the DaemonSet controller's own test; the cordon's
 * `node.kubernetes.io/unschedulable` is tolerated by every DaemonSet pod).
 */
export function toleratesAll(pod: k8s.V1Pod, taints: k8s.V1Taint[]): boolean {
  const tolerations = pod.spec?.tolerations ?? [];
  return taints
    .filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
    .filter((t) => t.key !== 'node.kubernetes.io/unschedulable')
    .every((taint) => tolerations.some((t) => toleratesTaint(t, taint)));
}

/** Kubernetes' matching of one toleration against one taint (k8s.io/api/core/v1 ToleratesTaint). */
export function toleratesTaint(toleration: k8s.V1Toleration, taint: k8s.V1Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  // An empty key (allowed only with Exists) matches every key.
  if (toleration.operator === 'Exists') return true;
  return (
    (!toleration.operator || toleration.operator === 'Equal') &&
    (toleration.value ?? '') === (taint.value ?? '')
  );
}

export function controllerOf(pod: k8s.V1Pod): k8s.V1OwnerReference | undefined {
  return pod.metadata?.ownerReferences?.find((ref) => ref.controller);
}
