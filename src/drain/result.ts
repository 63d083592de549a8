/**
 * When a pod is evicted, in this order, each tier once the tiers before it are gone (or at the latest
 * when it needs the time left for its own grace): ordinary pods, critical ones, then with
 * EVICT_DAEMONSET_PODS DaemonSet pods and critical DaemonSet pods. A skipped pod keeps the tier of
 * its priority.
 */
export const podTiers = ['ordinary', 'critical', 'daemonset', 'critical-daemonset'] as const;
export type PodTier = (typeof podTiers)[number];

/** What happened to one pod of the node. */
export const PodOutcome = {
  /** Evicted, and gone before the deadline. */
  Evicted: 'evicted',
  /** Left alone by a filter (DaemonSet, mirror, finished, or a switched-off kind). */
  Skipped: 'skipped',
  /** Was already terminating when the drain began, and is gone. */
  AlreadyTerminating: 'already-terminating',
  /** A PodDisruptionBudget refused its eviction until the deadline. */
  Blocked: 'blocked',
  /** Evicted (or terminating), but still there at the deadline. */
  StillTerminating: 'still-terminating',
  /** Terminating well past the end of its grace period (a kubelet that is gone or hung): not waited for. */
  Stuck: 'stuck',
  /** Gone, but not by our eviction (its namespace or controller deleted it, or someone else did). */
  Gone: 'gone',
  /** Came back to the node after it was evicted (it tolerates the cordon and the taint): left, reported. */
  Returned: 'returned',
  /** The eviction failed for a reason no retry fixes (multiple budgets, forbidden, invalid). */
  Failed: 'failed',
  /** Deleted past its budget at the deadline (FORCE_AT_DEADLINE). */
  ForceDeleted: 'force-deleted',
  /** Dry run: would be evicted. */
  WouldEvict: 'would-evict',
} as const;
export type PodOutcome = (typeof PodOutcome)[keyof typeof PodOutcome];

export interface PodReport {
  namespace: string;
  name: string;
  tier: PodTier;
  outcome: PodOutcome;
  /** Why it was skipped, blocked or failed; a warning for evicted unmanaged pods. */
  reason?: string;
  /** The budget that refused the eviction. */
  pdb?: string;
  evictionAttempts?: number;
  /** Milliseconds from the drain's start until the pod was gone. */
  goneAfterMs?: number;
}

/** How a drain of a node's pods ended. */
export const PodsOutcome = {
  /** Every evictable pod is gone. */
  Drained: 'drained',
  /** The deadline came with pods still on the node. */
  DeadlineReached: 'deadline-reached',
  /** Some evictions failed for good; the rest are gone. */
  Incomplete: 'incomplete',
  /** Stopped before its end: the node's kubelet stopped, or another holder took the drain over. */
  Halted: 'halted',
} as const;
export type PodsOutcome = (typeof PodsOutcome)[keyof typeof PodsOutcome];

export interface DrainTimings {
  markMs: number;
  listMs: number;
  evictOrdinaryMs: number;
  evictCriticalMs: number;
  /** Both DaemonSet tiers (EVICT_DAEMONSET_PODS). */
  evictDaemonSetMs: number;
  totalMs: number;
}

/** What a drain did to a node's pods: how it ended, each pod, and how long each phase took. */
export interface PodsResult {
  outcome: PodsOutcome;
  pods: PodReport[];
  counts: Record<PodOutcome, number>;
  timings: DrainTimings;
}

/** Counts pods by outcome, with every outcome present. */
export function countOutcomes(pods: PodReport[]): Record<PodOutcome, number> {
  const counts = Object.fromEntries(Object.values(PodOutcome).map((o) => [o, 0])) as Record<
    PodOutcome,
    number
  >;
  for (const pod of pods) counts[pod.outcome]++;
  return counts;
}

/** Zero for every phase: the timings of a result before (or without) a drain. */
export function noTimings(): DrainTimings {
  return { markMs: 0, listMs: 0, evictOrdinaryMs: 0, evictCriticalMs: 0, evictDaemonSetMs: 0, totalMs: 0 };
}
