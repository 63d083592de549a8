import { setMaxListeners } from 'node:events';
import { retryKube } from '../kube/retry-kube.js';
import { sleep } from '../retry.js';
import { Action, type NoticeKind } from '../types.js';
import { BudgetWaiter } from './budget-waiter.js';
import { DeadlineClock, graceWithin } from './deadline-clock.js';
import {
  drainOnePod,
  forceDeleteBlocked,
  maxGrace,
  ownGraceSeconds,
  type PodDrainContext,
} from './drain-pod.js';
import type { DrainContext, DrainRequest } from './drain-types.js';
import { EvictionWindow } from './eviction-window.js';
import {
  type DrainLease,
  defaultLeaseTiming,
  isNodeReady,
  isStale,
  type LeaseRequest,
  type LeaseTiming,
  readLease,
  renewIntervalMs,
} from './lease.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type AcquireResult, acquireLease, finishLease } from './lease-store.js';
import { NodeEventReason, NodeEventRecorder } from './node-events.js';
import { type PlannedPod, planDrain } from './plan.js';
import { PodTracker } from './pod-tracker.js';
import { outcomeOf, recordOutcome, reportPlanned } from './report.js';
import { type DrainOutcome, type DrainResult, drainResult, noTimings, type PodReport } from './result.js';
import { sweepArrivals } from './sweep.js';

export type { DrainContext, DrainProgress, DrainRequest, HookHandler } from './drain-types.js';

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
 * them by watch, evict what arrived meanwhile, take a last look, and record the end on the lease
 * (completing every lifecycle hook recorded there). Idempotent across invocations through the lease;
 * the holder renews it while it drains and follows any earlier deadline other notices write there.
 */
export async function drainNode(request: DrainRequest, context: DrainContext): Promise<DrainResult> {
  const { apis, options } = context;
  const now = context.now ?? Date.now;
  const progress = context.onProgress ?? (() => {});
  const timing: LeaseTiming & { renewIntervalMs: number } = {
    ...defaultLeaseTiming,
    renewIntervalMs,
    ...context.timing,
  };
  const started = now();
  // Every pod of a 110-pod node waits on the invocation's signal at once; that is not a leak.
  if (context.signal) setMaxListeners(10_000, context.signal);
  // One 429 or 503 on a one-shot call must not cost the drain: retried until the step's deadline.
  const retrying = (deadline: number) => ({
    deadline,
    now,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const timings = noTimings();
  let deadline = request.deadline;
  const finish = (
    outcome: DrainOutcome,
    pods: PodReport[],
    extra: Partial<DrainResult> = {},
  ): DrainResult => {
    timings.totalMs = now() - started;
    return { ...drainResult(request, outcome, pods, timings, deadline, now()), ...extra };
  };

  if (options.dryRun) {
    const plan = await retryKube(
      () => planDrain(apis, request.nodeName, options, true),
      retrying(request.deadline - options.safetyMarginMs),
    );
    timings.listMs = now() - started;
    return finish('dry-run', plan.pods.map(reportPlanned));
  }

  progress({ type: 'phase', phase: 'mark', detail: `cordoning ${request.nodeName}` });
  const leaseRequest: LeaseRequest = {
    eventId: request.eventId,
    kind: request.kind,
    action: request.action,
    holder: request.holder,
    deadline: request.deadline,
    ...(request.detail ? { detail: request.detail } : {}),
    ...(request.hook ? { hook: request.hook } : {}),
    ...(request.scheduled ? { scheduled: request.scheduled } : {}),
    ...(request.recordOnly ? { recordOnly: request.recordOnly } : {}),
  };
  // Safe to repeat: a patch that landed although its answer was lost reads back as our own lease.
  const acquire = (known?: DrainRequest['node']) =>
    retryKube(
      () => acquireLease(apis.core, request.nodeName, leaseRequest, options, now, known, timing),
      retrying(request.deadline),
    );
  let acquired = await acquire(request.node);
  timings.markMs = now() - started;
  if (!acquired.acquired && acquired.why === 'in-progress-elsewhere' && standsBy(request, acquired)) {
    progress({ type: 'lease', detail: `standing by while ${acquired.lease.holder} drains` });
    acquired = await standBy(acquired, () => acquire(), request, context, timing);
  }
  if (!acquired.acquired) {
    const outcome: DrainOutcome = acquired.why === 'scheduled' ? 'scheduled' : acquired.why;
    progress({ type: 'phase', phase: 'done', detail: outcome });
    return finish(
      outcome,
      [],
      'lease' in acquired
        ? { leaseHolder: acquired.lease.holder ?? '', leaseState: acquired.lease.state }
        : {},
    );
  }

  let lease = acquired.lease;
  deadline = Math.min(request.deadline, Date.parse(lease.deadline) || request.deadline);
  const events = new NodeEventRecorder(apis.core, acquired.node, request.holder);
  events.record(noticeReasons[request.kind], request.noticeMessage, 'Warning');
  if (lease.state === 'scheduled') {
    events.record(
      NodeEventReason.DrainScheduled,
      `Scheduled change ${lease.scheduled?.eventArn ?? request.eventId} starts ${lease.scheduled?.start}; drain at ${lease.scheduled?.drainAt}${acquired.lease.marks.cordoned ? ' (cordoned now)' : ''}`,
    );
    await events.flush();
    progress({ type: 'phase', phase: 'done', detail: 'scheduled' });
    return finish('scheduled', [], { leaseState: lease.state });
  }
  const cordoned = `Cordoned for ${request.kind} ${request.eventId} (${acquired.why})`;
  if (lease.state !== 'draining') {
    events.record(NodeEventReason.Cordon, cordoned);
    await events.flush();
    progress({ type: 'phase', phase: 'done', detail: 'cordoned' });
    return finish('cordoned', [], { leaseState: lease.state });
  }

  const clock = new DeadlineClock(deadline, options.safetyMarginMs, now);
  clock.onChange(() => {
    deadline = clock.deadline;
    progress({ type: 'lease', detail: `deadline moved to ${new Date(clock.deadline).toISOString()}` });
  });
  const halt = new AbortController();
  const signal = context.signal ? AbortSignal.any([context.signal, halt.signal]) : halt.signal;
  setMaxListeners(10_000, signal);
  let halted: 'taken-over' | 'node-not-ready' | undefined;
  context.hooks?.onHooks?.(lease.hooks);
  const keeper = new LeaseKeeper(apis.core, request.nodeName, lease, {
    intervalMs: timing.renewIntervalMs,
    now,
    onRenewed: (renewed, node) => {
      clock.tighten(Date.parse(renewed.deadline));
      context.hooks?.onHooks?.(renewed.hooks);
      if (request.stopWhenNotReady && !isNodeReady(node)) {
        halted = 'node-not-ready';
        halt.abort();
      }
    },
    onLost: () => {
      halted = 'taken-over';
      halt.abort();
    },
  }).start();

  try {
    // One Event for both: they happen in the same moment, and a burst writes one fewer per node.
    events.record(
      NodeEventReason.Drain,
      `${cordoned}; draining before ${new Date(clock.deadline).toISOString()}`,
    );
    const listStarted = now();
    progress({ type: 'phase', phase: 'list', detail: 'listing pods' });
    // From the watch cache: the watch that follows starts at the list's version and sees what it missed.
    // The budgets, listed alongside, pace the evictions under them (without them, pods just try).
    const [plan, budgetList] = await Promise.all([
      retryKube(() => planDrain(apis, request.nodeName, options, false, true), retrying(clock.stopAt)),
      apis.policy.listPodDisruptionBudgetForAllNamespaces({ resourceVersion: '0' }).catch(() => undefined),
    ]);
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
    tracker.accountFor(plan.pods.filter((p) => p.decision.action === 'skip').map((p) => p.pod));
    const budgets = new BudgetWaiter(apis.kc, now);
    if (budgetList) budgets.seed(budgetList);
    const podContext: PodDrainContext = {
      ...context,
      signal,
      now,
      progress,
      clock,
      tracker,
      budgets,
      window: new EvictionWindow({}, now),
      started,
    };
    const uids = new Map<string, string | undefined>();
    const drainPod = (planned: PlannedPod) => {
      uids.set(planned.key, planned.pod.metadata?.uid);
      return drainOnePod(planned, podContext);
    };
    try {
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
      await Promise.race([
        ordinaryDone,
        clock.sleepUntil(() => clock.stopAt - criticalReserve, AbortSignal.any([signal, waitLimit.signal])),
      ]);
      // The timer must not outlive the race: a CLI process would wait for it before exiting.
      waitLimit.abort();
      progress({ type: 'phase', phase: 'evict-critical', detail: `${critical.length} pods` });
      const criticalStarted = now();
      const criticalReports = await Promise.all(critical.map(drainPod));
      timings.evictCriticalMs = critical.length > 0 ? now() - criticalStarted : 0;
      reports.push(...(await ordinaryDone), ...criticalReports);
      if (!signal.aborted) {
        progress({ type: 'phase', phase: 'sweep', detail: 'pods that arrived since the list' });
        reports.push(...(await sweepArrivals(apis, tracker, options, podContext, drainPod)));
      }
    } finally {
      tracker.stop();
      budgets.stop();
      await keeper.stop();
    }
    if (halted) {
      // taken-over: the new holder finishes and writes the lease; node-not-ready: the caller decides.
      await events.flush(500);
      progress({ type: 'phase', phase: 'done', detail: halted });
      return finish(halted, reports, { leaseHolder: request.holder });
    }

    if (options.forceAtDeadline) {
      await forceDeleteBlocked(
        apis.core,
        reports,
        uids,
        (r) => {
          const pod = active.find((p) => p.key === `${r.namespace}/${r.name}`)?.pod;
          return pod ? graceWithin(ownGraceSeconds(pod, options), clock.deadline, now()) : 1;
        },
        progress,
      );
    }
    const outcome = outcomeOf(reports);
    // The closing Event goes out beside the lease update: one round trip after the last pod, not two.
    recordOutcome(events, outcome, reports, now() - started);
    const finished = await retryKube(
      () =>
        finishLease(
          apis.core,
          request.nodeName,
          request.holder,
          outcome,
          context.hooks?.complete ?? (async () => []),
          now,
          keeper.lease,
        ),
      retrying(Math.max(clock.deadline, now() + 10_000)),
    );
    await events.flush();
    if (finished.status === 'lost') {
      progress({ type: 'phase', phase: 'done', detail: 'taken-over' });
      return finish('taken-over', reports);
    }
    lease = finished.lease;
    progress({ type: 'phase', phase: 'done', detail: outcome });
    return finish(outcome, reports, {
      leaseState: lease.state,
      ...(finished.completed.length > 0 ? { hooksCompleted: finished.completed } : {}),
      ...(lease.hooks.length > 0 ? { hooksPending: lease.hooks } : {}),
    });
  } catch (error) {
    await keeper.stop();
    // Release the lease so Lambda's retry of this event, or anyone else, may take over at once.
    await retryKube(
      () =>
        finishLease(apis.core, request.nodeName, request.holder, 'failed', async () => [], now).then(
          () => {},
        ),
      retrying(now() + 5_000),
    ).catch(() => {});
    await events.flush(500);
    throw error;
  }
}

/**
 * Whether a notice that finds another invocation draining the node waits in the wings: a drain
 * notice of another event has its own obligations (an earlier deadline, a lifecycle hook) and must
 * see them met if the holder dies. A duplicate delivery of the holder's own event need not: a retry
 * of the holder's invocation, or the reconcile, carries that on.
 */
function standsBy(request: DrainRequest, found: Extract<AcquireResult, { acquired: false }>): boolean {
  return request.action === Action.Drain && 'lease' in found && found.lease.eventId !== request.eventId;
}

/**
 * Waits while another invocation drains the node, until it finishes (then returns its result) or
 * stops renewing its lease (then takes the lease over and returns that), at most until the deadline.
 */
async function standBy(
  found: AcquireResult,
  acquire: () => Promise<AcquireResult>,
  request: DrainRequest,
  context: DrainContext,
  timing: LeaseTiming & { renewIntervalMs: number },
): Promise<AcquireResult> {
  const now = context.now ?? Date.now;
  let current = found;
  while (now() + timing.renewIntervalMs < request.deadline && !context.signal?.aborted) {
    await sleep(timing.renewIntervalMs, context.signal);
    let lease: DrainLease | undefined;
    try {
      lease = readLease(await context.apis.core.readNode({ name: request.nodeName }));
    } catch {
      continue;
    }
    if (lease?.state !== 'draining') {
      return lease
        ? { acquired: false, why: 'in-progress-elsewhere', lease, node: request.node ?? {} }
        : current;
    }
    if (isStale(lease, now(), timing)) {
      current = await acquire();
      if (current.acquired || current.why !== 'in-progress-elsewhere') return current;
    }
  }
  return current;
}
