import { setMaxListeners } from 'node:events';
import type * as k8s from '@kubernetes/client-node';
import { eventSource } from '../kube/event-writer.js';
import { PodEventReason, PodEventRecorder } from '../kube/pod-events.js';
import { retryKube } from '../kube/retry-kube.js';
import { BudgetWaiter } from './budget-waiter.js';
import { type DeadlineClock, graceWithin } from './deadline-clock.js';
import { drainOnePod, forceDeleteBlocked, ownGraceSeconds, type PodDrainContext } from './drain-pod.js';
import type { DrainContext, DrainProgress } from './drain-types.js';
import { EvictionWindow } from './eviction-window.js';
import { type PlannedPod, planDrain } from './plan.js';
import { PodTracker } from './pod-tracker.js';
import { outcomeOf, podEventMessage, reportPlanned } from './report.js';
import {
  countOutcomes,
  type DrainTimings,
  noTimings,
  type PodReport,
  type PodsResult,
  type PodTier,
} from './result.js';
import { sweepArrivals } from './sweep.js';
import { evictionPhases } from './tiers.js';
import { windowMemoryOf } from './window-start.js';

/**
 * Drains the pods of a node (already cordoned) with kubectl drain's semantics, against a clock whose
 * deadline may move earlier: list the pods and their budgets, evict ordinary pods in parallel, then
 * critical ones, then (EVICT_DAEMONSET_PODS) DaemonSet pods, wait for them by watch, evict what
 * arrived meanwhile, take a last look, and, with FORCE_AT_DEADLINE, delete what budgets still hold.
 * Each pod it removes gets an Event naming the notice (`context.notice`). Knows nothing of the node's record: the caller
 * renews it, tightens the clock and aborts `signal` when the drain must stop.
 */
export async function drainPods(
  nodeName: string,
  clock: DeadlineClock,
  context: DrainContext,
): Promise<PodsResult> {
  const { apis, options } = context;
  const now = context.now ?? Date.now;
  const progress = context.onProgress ?? (() => {});
  const halt = context.halt ?? new AbortController().signal;
  const signal = context.signal ? AbortSignal.any([context.signal, halt]) : halt;
  // Every pod of a 110-pod node waits on the signal at once; that is not a leak.
  setMaxListeners(10_000, signal);
  const started = now();
  const timings = noTimings();
  const retrying = { deadline: clock.stopAt, now, signal };
  const noticeKind = context.notice?.kind;

  const listStarted = now();
  progress({ type: 'phase', phase: 'list', detail: 'listing pods' });
  // From the watch cache: the watch that follows starts at the list's version and sees what it missed.
  // The budgets, listed alongside, pace the evictions under them (without them, pods just try).
  const [plan, budgetList] = await Promise.all([
    retryKube(
      () => planDrain(apis, nodeName, options, { withBudgets: false, fromCache: true, noticeKind }),
      retrying,
    ),
    apis.policy.listPodDisruptionBudgetForAllNamespaces({ resourceVersion: '0' }).catch(() => undefined),
  ]);
  timings.listMs = now() - listStarted;
  const skipped = plan.pods.filter((p) => p.decision.action === 'skip');
  const reports: PodReport[] = skipped.map(reportPlanned);
  for (const r of reports)
    progress({ type: 'pod', pod: `${r.namespace}/${r.name}`, status: 'skipped', detail: r.reason });

  const active = plan.pods.filter((p) => p.decision.action !== 'skip');
  const tracker = await PodTracker.start(
    apis.kc,
    apis.core,
    nodeName,
    active.map((p) => p.pod),
    plan.resourceVersion,
    now,
  );
  tracker.accountFor(skipped.map((p) => p.pod));
  const budgets = new BudgetWaiter(apis.kc, now);
  if (budgetList) budgets.seed(budgetList);
  // The first window from the list's latency and what earlier drains of this container showed.
  const windowLease = windowMemoryOf(apis).begin(active.length, timings.listMs, now());
  const window = new EvictionWindow({ initial: windowLease.initial }, now);
  const podContext: PodDrainContext = {
    ...context,
    signal,
    now,
    progress,
    clock,
    tracker,
    budgets,
    window,
    started,
    nodeName,
    // The pods' Events wait while evictions are in flight: the answers the pods' ends wait for come first.
    podEvents: new PodEventRecorder(apis.core, context.actor ?? eventSource, () => window.idle),
  };
  window.onIdle(() => podContext.podEvents.poke());
  // Every pod the drain took on, from the list or the sweep: what FORCE_AT_DEADLINE may delete.
  const handled = new Map<string, k8s.V1Pod>();
  const drainPod = (planned: PlannedPod) => {
    handled.set(planned.key, planned.pod);
    return drainOnePod(planned, podContext);
  };
  try {
    reports.push(...(await evictInTiers(active, drainPod, clock, options, timings, now, progress, signal)));
    if (!signal.aborted) {
      progress({ type: 'phase', phase: 'sweep', detail: 'pods that arrived since the list' });
      reports.push(...(await sweepArrivals(apis, tracker, options, podContext, drainPod)));
    }
  } finally {
    tracker.stop();
    budgets.stop();
    windowLease.end(window, now());
  }
  if (options.forceAtDeadline && !halt.aborted) await forceAtDeadline(reports, handled, podContext);
  // Briefly: an Event that cannot be written by now is not worth holding the node's record for.
  await podContext.podEvents.flush(1_000);
  timings.totalMs = now() - started;
  const outcome = halt.aborted ? 'halted' : outcomeOf(reports);
  return { outcome, pods: reports, counts: countOutcomes(reports), timings };
}

/**
 * Each tier's pods in parallel, the tiers in order (ordinary, critical, then the DaemonSet tiers): a
 * tier starts once every earlier one is over, or when it needs the time left for its own grace.
 */
async function evictInTiers(
  active: PlannedPod[],
  drainPod: (planned: PlannedPod) => Promise<PodReport>,
  clock: DeadlineClock,
  options: DrainContext['options'],
  timings: PodsResult['timings'],
  now: () => number,
  progress: (p: DrainProgress) => void,
  signal: AbortSignal,
): Promise<PodReport[]> {
  const running: Promise<PodReport[]>[] = [];
  for (const phase of evictionPhases(active, options)) {
    if (running.length > 0) {
      const waitLimit = new AbortController();
      await Promise.race([
        Promise.all(running),
        clock.sleepUntil(() => clock.stopAt - phase.startByMs, AbortSignal.any([signal, waitLimit.signal])),
      ]);
      // The timer must not outlive the race: a CLI process would wait for it before exiting.
      waitLimit.abort();
    }
    progress({ type: 'phase', phase: `evict-${phase.tier}`, detail: `${phase.pods.length} pods` });
    const started = now();
    running.push(
      Promise.all(phase.pods.map(drainPod)).then((reports) => {
        if (phase.pods.length > 0) timings[timingOf[phase.tier]] += now() - started;
        return reports;
      }),
    );
  }
  return (await Promise.all(running)).flat();
}

/** Which timing a tier's phase counts in: both DaemonSet tiers in one. */
const timingOf = {
  ordinary: 'evictOrdinaryMs',
  critical: 'evictCriticalMs',
  daemonset: 'evictDaemonSetMs',
  'critical-daemonset': 'evictDaemonSetMs',
} as const satisfies Record<PodTier, keyof DrainTimings>;

/**
 * FORCE_AT_DEADLINE: deletes the pods a budget still holds, each with the grace then left (at least
 * 1 s), and writes on each the Event that names the budget it overrode.
 */
async function forceAtDeadline(
  reports: PodReport[],
  handled: Map<string, k8s.V1Pod>,
  context: PodDrainContext,
): Promise<void> {
  const { apis, options, clock, now, nodeName, notice } = context;
  const graces = new Map<string, number>();
  const graceOf = (r: PodReport) => {
    const key = `${r.namespace}/${r.name}`;
    const pod = handled.get(key);
    const grace = pod ? graceWithin(ownGraceSeconds(pod, options), clock.deadline, now()) : 1;
    graces.set(key, Math.max(1, grace));
    return grace;
  };
  const uids = new Map([...handled].map(([key, pod]) => [key, pod.metadata?.uid]));
  await forceDeleteBlocked(apis.core, reports, uids, graceOf, context.progress);
  for (const r of reports.filter((report) => report.outcome === 'force-deleted')) {
    const key = `${r.namespace}/${r.name}`;
    const pod = handled.get(key);
    if (!pod) continue;
    const message = podEventMessage(
      { how: 'force-deleted', pdb: r.pdb },
      { nodeName, notice, deadline: clock.deadline },
      graces.get(key) ?? 1,
    );
    context.podEvents.record(pod, PodEventReason.DrainForceDelete, message, 'Warning');
  }
}
