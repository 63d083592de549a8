import { setMaxListeners } from 'node:events';
import { retryKube } from '../kube/retry-kube.js';
import { BudgetWaiter } from './budget-waiter.js';
import { type DeadlineClock, graceWithin } from './deadline-clock.js';
import {
  drainOnePod,
  forceDeleteBlocked,
  maxGrace,
  ownGraceSeconds,
  type PodDrainContext,
} from './drain-pod.js';
import type { DrainContext, DrainProgress } from './drain-types.js';
import { EvictionWindow } from './eviction-window.js';
import { type PlannedPod, planDrain } from './plan.js';
import { PodTracker } from './pod-tracker.js';
import { outcomeOf, reportPlanned } from './report.js';
import { countOutcomes, noTimings, type PodReport, type PodsResult } from './result.js';
import { sweepArrivals } from './sweep.js';

/**
 * Drains the pods of a node (already cordoned) with kubectl drain's semantics, against a clock whose
 * deadline may move earlier: list the pods and their budgets, evict ordinary pods in parallel, then
 * critical ones, wait for them by watch, evict what arrived meanwhile, take a last look, and, with
 * FORCE_AT_DEADLINE, delete what budgets still hold. Knows nothing of the node's record: the caller
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

  const listStarted = now();
  progress({ type: 'phase', phase: 'list', detail: 'listing pods' });
  // From the watch cache: the watch that follows starts at the list's version and sees what it missed.
  // The budgets, listed alongside, pace the evictions under them (without them, pods just try).
  const [plan, budgetList] = await Promise.all([
    retryKube(() => planDrain(apis, nodeName, options, false, true), retrying),
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
    reports.push(...(await evictInTiers(active, drainPod, clock, options, timings, now, progress, signal)));
    if (!signal.aborted) {
      progress({ type: 'phase', phase: 'sweep', detail: 'pods that arrived since the list' });
      reports.push(...(await sweepArrivals(apis, tracker, options, podContext, drainPod)));
    }
  } finally {
    tracker.stop();
    budgets.stop();
  }
  if (options.forceAtDeadline && !halt.aborted) {
    const graceOf = (r: PodReport) => {
      const pod = active.find((p) => p.key === `${r.namespace}/${r.name}`)?.pod;
      return pod ? graceWithin(ownGraceSeconds(pod, options), clock.deadline, now()) : 1;
    };
    await forceDeleteBlocked(apis.core, reports, uids, graceOf, progress);
  }
  timings.totalMs = now() - started;
  const outcome = halt.aborted ? 'halted' : outcomeOf(reports);
  return { outcome, pods: reports, counts: countOutcomes(reports), timings };
}

/** Ordinary pods in parallel, then critical ones, which wait for the others but not past their own grace. */
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
  const ordinary = active.filter((p) => p.decision.tier === 'ordinary');
  const critical = active.filter((p) => p.decision.tier === 'critical');
  progress({ type: 'phase', phase: 'evict-ordinary', detail: `${ordinary.length} pods` });
  const ordinaryStarted = now();
  const ordinaryDone = Promise.all(ordinary.map(drainPod)).then((r) => {
    timings.evictOrdinaryMs = now() - ordinaryStarted;
    return r;
  });
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
  return [...(await ordinaryDone), ...criticalReports];
}
