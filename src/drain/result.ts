import type { Action, NoticeKind } from '../types.js';
import type { HookRecord, LeaseState } from './lease.js';

/** Why a pod is evicted last, or not at all. */
export type PodTier = 'ordinary' | 'critical';

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

/** How a drain ended, strongest claim first. */
export const DrainOutcome = {
  /** Every evictable pod is gone. */
  Drained: 'drained',
  /** Cordoned only (policy says so). */
  Cordoned: 'cordoned',
  /** Another invocation holds the drain lease for this node: nothing done. */
  InProgressElsewhere: 'in-progress-elsewhere',
  /** An earlier invocation already did at least this much for this node. */
  AlreadyDone: 'already-done',
  /** The deadline came with pods still on the node. */
  DeadlineReached: 'deadline-reached',
  /** Some evictions failed for good; the rest are gone. */
  Incomplete: 'incomplete',
  /** The node disappeared before or while it was being marked: the instance is gone already. */
  NodeGone: 'node-gone',
  /** A Health scheduled change far ahead: recorded on the node, drained by the reconcile when due. */
  Scheduled: 'scheduled',
  /** EC2 says the instance is gone and its kubelet stopped: the out-of-service taint frees the pods. */
  OutOfService: 'out-of-service',
  /** The node's kubelet stopped during the drain: evictions can no longer finish (see out-of-service). */
  NodeNotReady: 'node-not-ready',
  /** Our lease was taken over (we were thought dead): the new holder finishes the drain. */
  TakenOver: 'taken-over',
  /** The interruption is over (a Health change closed, the instance came back): marks removed. */
  Released: 'released',
  /** Health closed the change while its drain ran or its node was not Ready: the reconcile releases it. */
  Closed: 'closed',
  /** Dry run: the plan, nothing changed. */
  DryRun: 'dry-run',
} as const;
export type DrainOutcome = (typeof DrainOutcome)[keyof typeof DrainOutcome];

export interface DrainTimings {
  markMs: number;
  listMs: number;
  evictOrdinaryMs: number;
  evictCriticalMs: number;
  totalMs: number;
}

/** One object that tells the whole story of a drain; the handler logs it and makes metrics of it. */
export interface DrainResult {
  nodeName: string;
  kind: NoticeKind;
  eventId: string;
  action: Action;
  outcome: DrainOutcome;
  pods: PodReport[];
  counts: Record<PodOutcome, number>;
  timings: DrainTimings;
  deadline: string;
  /** Milliseconds left before the deadline when the drain returned (negative: it overran). */
  timeLeftMs: number;
  /** Who holds the lease when the outcome is in-progress-elsewhere or already-done. */
  leaseHolder?: string;
  /** The node's lease state when the drain returned. */
  leaseState?: LeaseState;
  /** Lifecycle hooks recorded on the node that this drain completed as it ended. */
  hooksCompleted?: HookRecord[];
  /** Lifecycle hooks that could not be completed: left on the lease for the reconcile. */
  hooksPending?: HookRecord[];
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
  return { markMs: 0, listMs: 0, evictOrdinaryMs: 0, evictCriticalMs: 0, totalMs: 0 };
}

/** The result of one request for a node: who, what, how it ended, and the time left. */
export function drainResult(
  request: { nodeName: string; kind: NoticeKind; eventId: string; action: Action },
  outcome: DrainOutcome,
  pods: PodReport[],
  timings: DrainTimings,
  deadline: number,
  now: number,
): DrainResult {
  return {
    nodeName: request.nodeName,
    kind: request.kind,
    eventId: request.eventId,
    action: request.action,
    outcome,
    pods,
    counts: countOutcomes(pods),
    timings,
    deadline: new Date(deadline).toISOString(),
    timeLeftMs: deadline - now,
  };
}
