import { setMaxListeners } from 'node:events';
import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import type { KubeApis } from '../kube/connection.js';
import { retryKube } from '../kube/retry-kube.js';
import { sleep } from '../retry.js';
import { Action, type NoticeKind } from '../types.js';
import { evictPod } from './evict.js';
import { acquireLease, updateLeaseState } from './lease.js';
import { NodeEventReason, NodeEventRecorder } from './node-events.js';
import type { DrainOptions } from './options.js';
import { type PlannedPod, planDrain } from './plan.js';
import { PodTracker } from './pod-tracker.js';
import {
  countOutcomes,
  type DrainOutcome,
  type DrainResult,
  type PodReport,
  type PodTier,
} from './result.js';

/** One node to cordon or drain, and why. */
export interface DrainRequest {
  nodeName: string;
  kind: NoticeKind;
  eventId: string;
  /** Cordon or Drain (None never reaches here). */
  action: Action;
  /** Epoch ms by which the drain must have returned (the instance's end, or the invocation's). */
  deadline: number;
  /** Who is draining: the Lambda request id or the CLI's run id. */
  holder: string;
  /** One sentence about the notice, written as the first Event on the node. */
  noticeMessage: string;
}

export type DrainProgress =
  | { type: 'phase'; phase: 'mark' | 'list' | 'evict-ordinary' | 'evict-critical' | 'done'; detail: string }
  | {
      type: 'pod';
      pod: string;
      status:
        | 'evicting'
        | 'blocked'
        | 'terminating'
        | 'gone'
        | 'still-there'
        | 'failed'
        | 'skipped'
        | 'force-deleted';
      detail?: string;
    };

export interface DrainContext {
  apis: KubeApis;
  options: DrainOptions;
  now?: () => number;
  /** Aborts waits and retries early (the Lambda's own timeout is near). */
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
}

const noticeReasons: Record<NoticeKind, NodeEventReason> = {
  'spot-interruption': NodeEventReason.SpotInterruption,
  'rebalance-recommendation': NodeEventReason.RebalanceRecommendation,
  'state-change': NodeEventReason.InstanceStateChange,
  'scheduled-change': NodeEventReason.ScheduledChange,
  'asg-terminate': NodeEventReason.AutoScalingTermination,
  'capacity-reservation-interruption': NodeEventReason.CapacityReservationInterruption,
};

/**
 * Cordons and drains one node with kubectl drain's semantics, against a deadline: mark (lease +
 * cordon + taint in one patch), list, evict ordinary pods in parallel, then critical ones, wait for
 * them by watch, and report. Idempotent across invocations through the lease on the node.
 */
export async function drainNode(request: DrainRequest, context: DrainContext): Promise<DrainResult> {
  const { apis, options } = context;
  const now = context.now ?? Date.now;
  const progress = context.onProgress ?? (() => {});
  const started = now();
  // Every pod of a 110-pod node waits on the invocation's signal at once; that is not a leak.
  if (context.signal) setMaxListeners(10_000, context.signal);
  const stopAt = request.deadline - options.safetyMarginMs;
  // One 429 or 503 on a one-shot call must not cost the drain: retried until the step's deadline.
  const retrying = (deadline: number) => ({
    deadline,
    now,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const timings = { markMs: 0, listMs: 0, evictOrdinaryMs: 0, evictCriticalMs: 0, totalMs: 0 };
  const finish = (
    outcome: DrainOutcome,
    pods: PodReport[],
    extra: Partial<DrainResult> = {},
  ): DrainResult => {
    timings.totalMs = now() - started;
    return {
      nodeName: request.nodeName,
      kind: request.kind,
      eventId: request.eventId,
      action: request.action,
      outcome,
      pods,
      counts: countOutcomes(pods),
      timings,
      deadline: new Date(request.deadline).toISOString(),
      timeLeftMs: request.deadline - now(),
      ...extra,
    };
  };

  if (options.dryRun) {
    const plan = await retryKube(() => planDrain(apis, request.nodeName, options, true), retrying(stopAt));
    timings.listMs = now() - started;
    return finish('dry-run', plan.pods.map(reportPlanned));
  }

  progress({ type: 'phase', phase: 'mark', detail: `cordoning ${request.nodeName}` });
  // Safe to repeat: a patch that landed although its answer was lost reads back as our own lease.
  const acquired = await retryKube(
    () => acquireLease(apis.core, request.nodeName, request, options, now),
    retrying(request.deadline),
  );
  timings.markMs = now() - started;
  if (!acquired.acquired) {
    const outcome = acquired.why === 'node-gone' ? 'node-gone' : acquired.why;
    progress({ type: 'phase', phase: 'done', detail: outcome });
    return finish(outcome, [], 'lease' in acquired ? { leaseHolder: acquired.lease.holder } : {});
  }
  let lease = acquired.lease;
  const events = new NodeEventRecorder(apis.core, acquired.node, request.holder);
  events.record(noticeReasons[request.kind], request.noticeMessage, 'Warning');
  events.record(NodeEventReason.Cordon, `Cordoned for ${request.kind} ${request.eventId} (${acquired.why})`);
  if (request.action !== Action.Drain) {
    await events.flush();
    progress({ type: 'phase', phase: 'done', detail: 'cordoned' });
    return finish('cordoned', []);
  }

  try {
    events.record(NodeEventReason.Drain, `Draining before ${new Date(request.deadline).toISOString()}`);
    const listStarted = now();
    progress({ type: 'phase', phase: 'list', detail: 'listing pods' });
    const plan = await retryKube(() => planDrain(apis, request.nodeName, options, false), retrying(stopAt));
    timings.listMs = now() - listStarted;
    const reports: PodReport[] = plan.pods.filter((p) => p.decision.action === 'skip').map(reportPlanned);
    for (const r of reports)
      progress({ type: 'pod', pod: `${r.namespace}/${r.name}`, status: 'skipped', detail: r.reason });

    const active = plan.pods.filter((p) => p.decision.action !== 'skip');
    const tracker = await PodTracker.start(
      apis.kc,
      apis.core,
      request.nodeName,
      active.map((p) => p.pod),
      plan.resourceVersion,
      now,
    );
    try {
      const drainPod = (planned: PlannedPod) =>
        drainOnePod(planned, tracker, { ...context, now, progress }, stopAt, started);
      const ordinary = active.filter((p) => p.decision.tier === 'ordinary');
      const critical = active.filter((p) => p.decision.tier === 'critical');
      progress({ type: 'phase', phase: 'evict-ordinary', detail: `${ordinary.length} pods` });
      const ordinaryStarted = now();
      const ordinaryDone = Promise.all(ordinary.map(drainPod)).then((r) => {
        timings.evictOrdinaryMs = now() - ordinaryStarted;
        return r;
      });
      // Critical pods wait for the others, but not so long that their own shutdown no longer fits.
      const criticalReserve = Math.min(30_000, 2_000 + 1_000 * maxGrace(critical, options));
      const waitLimit = new AbortController();
      const stopWaiting = () => waitLimit.abort();
      context.signal?.addEventListener('abort', stopWaiting, { once: true });
      await Promise.race([
        ordinaryDone,
        sleep(Math.max(0, stopAt - criticalReserve - now()), waitLimit.signal),
      ]);
      // The timer must not outlive the race: a CLI process would wait for it before exiting.
      waitLimit.abort();
      context.signal?.removeEventListener('abort', stopWaiting);
      progress({ type: 'phase', phase: 'evict-critical', detail: `${critical.length} pods` });
      const criticalStarted = now();
      const criticalReports = await Promise.all(critical.map(drainPod));
      timings.evictCriticalMs = critical.length > 0 ? now() - criticalStarted : 0;
      reports.push(...(await ordinaryDone), ...criticalReports);
    } finally {
      tracker.stop();
    }

    if (options.forceAtDeadline) await forceDeleteBlocked(apis.core, reports, progress);
    const outcome = outcomeOf(reports);
    const final = lease;
    // The closing Event goes out beside the lease update: one round trip after the last pod, not two.
    recordOutcome(events, outcome, reports, now() - started);
    lease = await retryKube(
      () => updateLeaseState(apis.core, request.nodeName, final, outcome, now),
      retrying(request.deadline),
    );
    await events.flush();
    progress({ type: 'phase', phase: 'done', detail: outcome });
    return finish(outcome, reports);
  } catch (error) {
    // Release the lease so Lambda's retry of this event may take over at once.
    await updateLeaseState(apis.core, request.nodeName, lease, 'failed', now).catch(() => {});
    await events.flush(500);
    throw error;
  }
}

async function drainOnePod(
  planned: PlannedPod,
  tracker: PodTracker,
  context: DrainContext & { now: () => number; progress: (p: DrainProgress) => void },
  stopAt: number,
  started: number,
): Promise<PodReport> {
  const { pod, key, decision } = planned;
  const { now, progress } = context;
  const base = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    tier: decision.tier,
  };
  const gone = async (outcomeIfGone: 'evicted' | 'already-terminating', extra: Partial<PodReport>) => {
    progress({ type: 'pod', pod: key, status: 'terminating' });
    const left = await tracker.waitForGone([key], stopAt, context.signal);
    if (left.length > 0) {
      progress({ type: 'pod', pod: key, status: 'still-there' });
      return {
        ...base,
        ...extra,
        outcome: 'still-terminating' as const,
        reason: 'still terminating at the deadline',
      };
    }
    progress({ type: 'pod', pod: key, status: 'gone' });
    return {
      ...base,
      ...extra,
      outcome: outcomeIfGone,
      goneAfterMs: (tracker.goneTime(key) ?? now()) - started,
    };
  };

  if (decision.action === 'wait') return gone('already-terminating', {});
  const warning = decision.action === 'evict' ? decision.warning : undefined;
  progress({ type: 'pod', pod: key, status: 'evicting', detail: warning });
  let told = false;
  const eviction = await evictPod(context.apis.core, pod, {
    gracePeriodSeconds: gracePeriodFor(pod, context.options, stopAt, now()),
    stopAt,
    signal: context.signal,
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
  });
  const extra = { evictionAttempts: eviction.attempts, ...(warning ? { reason: warning } : {}) };
  switch (eviction.status) {
    case 'evicted':
      return gone('evicted', extra);
    case 'gone':
      progress({ type: 'pod', pod: key, status: 'gone' });
      return { ...base, ...extra, outcome: 'evicted', goneAfterMs: now() - started };
    case 'blocked':
      return { ...base, ...extra, outcome: 'blocked', pdb: eviction.pdb, reason: eviction.message };
    case 'failed':
      progress({ type: 'pod', pod: key, status: 'failed', detail: eviction.message });
      return { ...base, ...extra, outcome: 'failed', reason: eviction.message };
  }
}

/** The pod's own grace period (or the configured one), cut so that it ends before the deadline. */
export function gracePeriodFor(pod: k8s.V1Pod, options: DrainOptions, stopAt: number, now: number): number {
  const own = options.podGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.min(own, Math.max(1, Math.floor((stopAt - now) / 1_000)));
}

function maxGrace(pods: PlannedPod[], options: DrainOptions): number {
  return Math.max(
    0,
    ...pods.map((p) => options.podGracePeriodSeconds ?? p.pod.spec?.terminationGracePeriodSeconds ?? 30),
  );
}

function reportPlanned(planned: PlannedPod): PodReport {
  const base = {
    namespace: planned.pod.metadata?.namespace ?? '',
    name: planned.pod.metadata?.name ?? '',
    tier: planned.decision.tier as PodTier,
  };
  const { decision } = planned;
  if (decision.action === 'skip') return { ...base, outcome: 'skipped', reason: decision.reason };
  const blocking = planned.budgets.find((b) => b.disruptionsAllowed < 1);
  if (blocking) {
    return {
      ...base,
      outcome: 'blocked',
      pdb: blocking.name,
      reason: `PodDisruptionBudget ${blocking.name} allows no disruption${
        blocking.blockingSince ? ` since ${blocking.blockingSince}` : ''
      }`,
    };
  }
  if (planned.budgets.length > 1) {
    return { ...base, outcome: 'failed', reason: 'covered by more than one PodDisruptionBudget' };
  }
  return {
    ...base,
    outcome: 'would-evict',
    ...(decision.action === 'evict' && decision.warning ? { reason: decision.warning } : {}),
  };
}

async function forceDeleteBlocked(
  core: k8s.CoreV1Api,
  reports: PodReport[],
  progress: (p: DrainProgress) => void,
): Promise<void> {
  await Promise.all(
    reports
      .filter((r) => r.outcome === 'blocked' || r.outcome === 'failed')
      .map(async (r) => {
        try {
          await core.deleteNamespacedPod({ name: r.name, namespace: r.namespace, gracePeriodSeconds: 0 });
        } catch (error) {
          if (httpStatusOf(error) !== 404) {
            r.reason = `${r.reason ?? ''}; force delete failed: HTTP ${httpStatusOf(error) ?? '?'}`;
            return;
          }
        }
        r.outcome = 'force-deleted';
        progress({ type: 'pod', pod: `${r.namespace}/${r.name}`, status: 'force-deleted', detail: r.pdb });
      }),
  );
}

function outcomeOf(reports: PodReport[]): 'drained' | 'deadline-reached' | 'incomplete' {
  if (reports.some((r) => r.outcome === 'blocked' || r.outcome === 'still-terminating'))
    return 'deadline-reached';
  if (reports.some((r) => r.outcome === 'failed')) return 'incomplete';
  return 'drained';
}

function recordOutcome(
  events: NodeEventRecorder,
  outcome: string,
  reports: PodReport[],
  tookMs: number,
): void {
  const counts = countOutcomes(reports);
  if (outcome === 'drained') {
    events.record(
      NodeEventReason.DrainComplete,
      `Drained in ${(tookMs / 1000).toFixed(1)} s: ${counts.evicted + counts['already-terminating']} pods gone, ${counts.skipped} skipped`,
    );
    return;
  }
  const left = reports
    .filter((r) => !['evicted', 'already-terminating', 'skipped', 'force-deleted'].includes(r.outcome))
    .map((r) => `${r.namespace}/${r.name} (${r.outcome}${r.pdb ? ` by PodDisruptionBudget ${r.pdb}` : ''})`);
  events.record(NodeEventReason.DrainBlocked, `Drain ${outcome}; pods left: ${left.join(', ')}`, 'Warning');
}
