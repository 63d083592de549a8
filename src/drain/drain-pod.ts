import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import { PodEventReason, type PodEventRecorder } from '../kube/pod-events.js';
import type { BudgetWaiter } from './budget-waiter.js';
import { type DeadlineClock, graceWithin } from './deadline-clock.js';
import type { DrainContext, DrainProgress } from './drain-types.js';
import { evictPod } from './evict.js';
import type { EvictionWindow } from './eviction-window.js';
import type { DrainOptions } from './options.js';
import type { PlannedPod } from './plan.js';
import type { PodTracker } from './pod-tracker.js';
import { podEventMessage } from './report.js';
import type { PodReport } from './result.js';

/**
 * How long a pod may stay past the end of its grace period (its deletionTimestamp) before it is
 * reported stuck and no longer waited for: its kubelet is gone or hung, and waiting helps nobody.
 */
export const stuckAfterMs = 15_000;
/** A grace that ends this much after stopAt is cut by evicting the terminating pod again. */
const recutToleranceMs = 1_000;

/** What one pod's drain shares with the others of its node. */
export interface PodDrainContext extends DrainContext {
  now: () => number;
  progress: (p: DrainProgress) => void;
  clock: DeadlineClock;
  tracker: PodTracker;
  budgets: BudgetWaiter;
  /** The drain's evictions in flight: fewer when the API server queues them. */
  window: EvictionWindow;
  /** When the drain started (goneAfterMs counts from it). */
  started: number;
  nodeName: string;
  /** An Event on each pod evicted, naming the notice and the deadline. */
  podEvents: PodEventRecorder;
}

/** One pod being drained: what its report starts from, and what its drain shares with the others. */
interface PodAtHand {
  pod: k8s.V1Pod;
  key: string;
  base: Pick<PodReport, 'namespace' | 'name' | 'tier'>;
  /** The grace it would get with no deadline. */
  ownGrace: number;
  context: PodDrainContext;
}

type GoneOutcome = 'evicted' | 'already-terminating' | 'gone';

/**
 * Evicts one pod (or waits for one already terminating) and reports how it went. Each eviction
 * attempt asks for the grace then left before the deadline; a pod whose grace would outlast a
 * deadline that moved is evicted again with the shorter grace.
 */
export async function drainOnePod(planned: PlannedPod, context: PodDrainContext): Promise<PodReport> {
  const { pod, key, decision } = planned;
  const one: PodAtHand = {
    pod,
    key,
    base: { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', tier: decision.tier },
    ownGrace: ownGraceSeconds(pod, context.options),
    context,
  };
  if (decision.action === 'wait') return waitGone(one, 'already-terminating', {});
  const warning = decision.action === 'evict' ? decision.warning : undefined;
  context.progress({ type: 'pod', pod: key, status: 'evicting', detail: warning });
  const eviction = await evictOnce(one);
  if (eviction.status === 'evicted') {
    const { nodeName, notice, clock } = context;
    const message = podEventMessage(
      { how: 'evicted' },
      { nodeName, notice, deadline: clock.deadline },
      eviction.graceSeconds,
    );
    context.podEvents.record(pod, PodEventReason.DrainEviction, message);
  }
  const extra = { evictionAttempts: eviction.attempts, ...(warning ? { reason: warning } : {}) };
  if (eviction.status !== 'evicted' && context.tracker.goneTime(key) !== undefined) {
    // The eviction did not (or not yet) succeed, but the pod is gone: report the node as it is.
    return goneReport(one, 'gone', {
      ...extra,
      reason: `gone without our eviction${warning ? `; ${warning}` : ''}`,
    });
  }
  const { base } = one;
  switch (eviction.status) {
    case 'evicted':
      return waitGone(one, 'evicted', extra);
    case 'gone':
      context.progress({ type: 'pod', pod: key, status: 'gone' });
      return { ...base, ...extra, outcome: 'evicted', goneAfterMs: context.now() - context.started };
    case 'namespace-terminating':
      return waitGone(one, 'gone', { ...extra, reason: 'its namespace is being deleted' });
    case 'blocked':
      return { ...base, ...extra, outcome: 'blocked', pdb: eviction.pdb, reason: eviction.message };
    case 'failed':
      context.progress({ type: 'pod', pod: key, status: 'failed', detail: eviction.message });
      return { ...base, ...extra, outcome: 'failed', reason: eviction.message };
  }
}

/**
 * The eviction, paced by the window and the pod's budget, given up once the pod is gone by other
 * hands; with the grace period the last attempt asked for.
 */
async function evictOnce({ pod, key, base, ownGrace, context }: PodAtHand) {
  const { now, clock, progress } = context;
  let told = false;
  let graceSeconds = ownGrace;
  // Stop trying as soon as the pod is gone by other hands (its namespace deleted, say).
  const goneSignal = context.tracker.goneSignal(key);
  const signal = context.signal ? AbortSignal.any([context.signal, goneSignal]) : goneSignal;
  const outcome = await evictPod(context.apis.core, pod, {
    gracePeriodSeconds: () => {
      graceSeconds = graceWithin(ownGrace, clock.stopAt, now());
      return graceSeconds;
    },
    stopAt: () => clock.stopAt,
    signal,
    now,
    onBlocked: (pdb) => {
      if (told) return;
      told = true;
      progress({
        type: 'pod',
        pod: key,
        status: 'blocked',
        detail: pdb ? `PodDisruptionBudget ${pdb}` : undefined,
      });
    },
    waitForBudget: (pdb, until, waitSignal) =>
      context.budgets.waitForAllowance(base.namespace, pdb, until, waitSignal),
    reserveBudget: (until, waitSignal, onWait) => context.budgets.reserve(pod, until, waitSignal, onWait),
    admit: (waitSignal, until) => context.window.admit(waitSignal, until),
  });
  return { ...outcome, graceSeconds };
}

function goneReport(one: PodAtHand, outcome: GoneOutcome, extra: Partial<PodReport>): PodReport {
  const { context, key } = one;
  context.progress({ type: 'pod', pod: key, status: 'gone' });
  const goneAt = context.tracker.goneTime(key) ?? context.now();
  return { ...one.base, ...extra, outcome, goneAfterMs: goneAt - context.started };
}

/** Waits for the pod to go, cutting its grace if it would outlast the deadline; reports stuck pods. */
async function waitGone(
  one: PodAtHand,
  outcomeIfGone: GoneOutcome,
  extra: Partial<PodReport>,
): Promise<PodReport> {
  const { key, context } = one;
  const { now, clock, tracker } = context;
  context.progress({ type: 'pod', pod: key, status: 'terminating' });
  for (let recuts = 0; ; ) {
    // The API server's clock, read on ours (the same in production; a test may move ours).
    const stamped = deletionEnd(tracker.latestOf(key) ?? one.pod);
    const ends = stamped === undefined ? undefined : stamped + (now() - Date.now());
    if (ends !== undefined && ends > clock.stopAt + recutToleranceMs && clock.left() > 1_000 && recuts < 3) {
      recuts++;
      await recutGrace(one);
    }
    const stuckAt = ends === undefined ? Number.POSITIVE_INFINITY : ends + stuckAfterMs;
    // The eviction's answer often comes before the watch shows the deletionTimestamp it set:
    // look again shortly, or a pod whose kubelet is gone would be waited for until the deadline.
    const recheckAt = ends === undefined ? now() + 1_000 : Number.POSITIVE_INFINITY;
    const left = await tracker.waitForGone(
      [key],
      () => Math.min(clock.stopAt, stuckAt, recheckAt),
      context.signal,
      (wake) => clock.onChange(wake),
    );
    if (left.length === 0) return goneReport(one, outcomeIfGone, extra);
    const at = now();
    if (at >= stuckAt) {
      context.progress({ type: 'pod', pod: key, status: 'stuck' });
      const late = Math.round((at - (ends ?? at)) / 1000);
      const reason = `still terminating ${late} s after its grace period ended (kubelet gone or hung?)`;
      return { ...one.base, ...extra, outcome: 'stuck', reason };
    }
    if (at >= clock.stopAt || context.signal?.aborted) {
      context.progress({ type: 'pod', pod: key, status: 'still-there' });
      return {
        ...one.base,
        ...extra,
        outcome: 'still-terminating',
        reason: 'still terminating at the deadline',
      };
    }
    // Woken by a deadline that moved earlier: look at the grace again.
  }
}

/** Evicts a terminating pod again so that its grace ends by the (earlier) stop time. */
async function recutGrace({ pod, ownGrace, context }: PodAtHand): Promise<void> {
  const { now, clock } = context;
  await evictPod(context.apis.core, pod, {
    gracePeriodSeconds: () => graceWithin(ownGrace, clock.stopAt, now()),
    stopAt: () => Math.min(clock.stopAt, now() + 5_000),
    now,
    ...(context.signal ? { signal: context.signal } : {}),
  });
}

/** When the pod's grace period ends (its deletionTimestamp), if it is terminating. */
export function deletionEnd(pod: k8s.V1Pod): number | undefined {
  const stamp = pod.metadata?.deletionTimestamp as Date | string | undefined;
  if (!stamp) return undefined;
  const ms = new Date(stamp).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** The grace the pod would get with no deadline: the configured one, else its own, else 30 s. */
export function ownGraceSeconds(pod: k8s.V1Pod, options: DrainOptions): number {
  return options.podGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
}

/** The pod's own grace period (or the configured one), cut so that it ends before the deadline. */
export function gracePeriodFor(pod: k8s.V1Pod, options: DrainOptions, stopAt: number, now: number): number {
  return graceWithin(ownGraceSeconds(pod, options), stopAt, now);
}

export function maxGrace(pods: PlannedPod[], options: DrainOptions): number {
  return Math.max(0, ...pods.map((p) => ownGraceSeconds(p.pod, options)));
}

/**
 * FORCE_AT_DEADLINE: deletes the pods a budget still protected when time ran out, and only those:
 * with a UID precondition (never a replacement of the same name) and a grace of at least 1 s.
 */
export async function forceDeleteBlocked(
  core: k8s.CoreV1Api,
  reports: PodReport[],
  uids: Map<string, string | undefined>,
  graceSeconds: (report: PodReport) => number,
  progress: (p: DrainProgress) => void,
): Promise<void> {
  await Promise.all(
    reports
      .filter((r) => r.outcome === 'blocked')
      .map(async (r) => {
        const uid = uids.get(`${r.namespace}/${r.name}`);
        try {
          // With a body, the API server reads the grace from it, not from the query.
          const gracePeriodSeconds = Math.max(1, graceSeconds(r));
          await core.deleteNamespacedPod({
            name: r.name,
            namespace: r.namespace,
            gracePeriodSeconds,
            body: { gracePeriodSeconds, ...(uid ? { preconditions: { uid } } : {}) },
          });
        } catch (error) {
          const status = httpStatusOf(error);
          // 404: gone; 409: a namesake replaced it. Either way nothing of ours is left to delete.
          if (status === 404 || status === 409) {
            r.outcome = 'gone';
            return;
          }
          r.reason = `${r.reason ?? ''}; force delete failed: HTTP ${status ?? '?'}`;
          return;
        }
        r.outcome = 'force-deleted';
        progress({ type: 'pod', pod: `${r.namespace}/${r.name}`, status: 'force-deleted', detail: r.pdb });
      }),
  );
}
