import { setMaxListeners } from 'node:events';
import { retryKube } from '../kube/retry-kube.js';
import { sleep } from '../retry.js';
import { Action, type NoticeKind } from '../types.js';
import { drainOnePod, forceDeleteBlocked, maxGrace } from './drain-pod.js';
import type { DrainContext, DrainRequest } from './drain-types.js';
import { acquireLease, updateLeaseState } from './lease.js';
import { NodeEventReason, NodeEventRecorder } from './node-events.js';
import { type PlannedPod, planDrain } from './plan.js';
import { PodTracker } from './pod-tracker.js';
import { outcomeOf, recordOutcome, reportPlanned } from './report.js';
import { countOutcomes, type DrainOutcome, type DrainResult, type PodReport } from './result.js';

export type { DrainContext, DrainProgress, DrainRequest } from './drain-types.js';

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
    () => acquireLease(apis.core, request.nodeName, request, options, now, request.node),
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
