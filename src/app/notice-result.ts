/**
 * What a notice did, as logs, metrics, notifications and the CLI read it: what happened to the node,
 * what a drain run here did to its pods, and one word for both (`outcome`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  countOutcomes,
  type DrainTimings,
  noTimings,
  type PodOutcome,
  type PodReport,
  type PodsOutcome,
} from '../drain/result.js';
import type { NodeReport } from '../interruption/carry-out.js';
import type { NodeOutcome } from '../interruption/inputs.js';
import type { HookRecord, RecordState } from '../interruption/record.js';
import type { MetricsSink } from '../observability/metrics.js';
import type { Action, NoticeKind } from '../types.js';

/** One word for what a notice did: its drain's outcome where it ran one, else what happened to the node. */
export type Outcome = PodsOutcome | NodeOutcome | 'dry-run';

export interface NoticeResult {
  nodeName: string;
  kind: NoticeKind;
  eventId: string;
  action: Action;
  outcome: Outcome;
  /** What happened to the node. */
  node: NodeOutcome | 'dry-run';
  /** What a drain run here did to its pods (absent: none ran here). */
  podsOutcome?: PodsOutcome;
  why: string;
  pods: PodReport[];
  counts: Record<PodOutcome, number>;
  timings: DrainTimings;
  deadline: string;
  /** Milliseconds left before the deadline when the notice was done with (negative: it overran). */
  timeLeftMs: number;
  /** The node's record afterwards: its state and who drains (or drained) it. */
  state?: RecordState;
  holder?: string;
  hooksCompleted?: HookRecord[];
  /** Hooks this notice tried to complete and could not: the invocation fails, so Lambda retries it. */
  hooksFailed?: HookRecord[];
  hooksPending?: HookRecord[];
}

type Notice = Pick<NoticeResult, 'nodeName' | 'kind' | 'eventId' | 'action'>;

const nodeSpeaksLouder: ReadonlySet<NodeOutcome> = new Set([
  'taken-over',
  'handed-off',
  'out-of-service',
  'node-gone',
  'released',
]);

/** The one word for what moving a node on did: its drain's outcome, unless what became of the node says more. */
export function outcomeOf(report: Pick<NodeReport, 'node' | 'drain'>): Outcome {
  // After a drain, what became of the node speaks louder only when it is more than the drain's end.
  return report.drain !== undefined && !nodeSpeaksLouder.has(report.node)
    ? report.drain.outcome
    : report.node;
}

export function noticeResult(
  notice: Notice,
  report: NodeReport,
  deadline: number,
  now: number,
): NoticeResult {
  const end = report.deadline ?? deadline;
  return {
    ...notice,
    outcome: outcomeOf(report),
    node: report.node,
    ...(report.drain ? { podsOutcome: report.drain.outcome } : {}),
    why: report.why,
    pods: report.drain?.pods ?? [],
    counts: report.drain?.counts ?? countOutcomes([]),
    timings: report.drain?.timings ?? noTimings(),
    deadline: new Date(end).toISOString(),
    timeLeftMs: end - now,
    ...(report.state ? { state: report.state } : {}),
    ...(report.holder ? { holder: report.holder } : {}),
    ...(report.hooksCompleted.length > 0 ? { hooksCompleted: report.hooksCompleted } : {}),
    ...(report.hooksFailed.length > 0 ? { hooksFailed: report.hooksFailed } : {}),
    ...(report.hooksPending.length > 0 ? { hooksPending: report.hooksPending } : {}),
  };
}

/** A dry run: the plan's pods, nothing changed. */
export function dryRunResult(
  notice: Notice,
  pods: PodReport[],
  timings: DrainTimings,
  deadline: number,
  now: number,
): NoticeResult {
  return {
    ...notice,
    outcome: 'dry-run',
    node: 'dry-run',
    why: 'dry run: nothing changed',
    pods,
    counts: countOutcomes(pods),
    timings,
    deadline: new Date(deadline).toISOString(),
    timeLeftMs: deadline - now,
  };
}

const leftBehindOutcomes: ReadonlySet<string> = new Set([
  'blocked',
  'still-terminating',
  'failed',
  'stuck',
  'returned',
]);

/** The pods a drain left on the node: blocked, still terminating, failed, stuck, returned. */
export function podsLeftBehind(pods: readonly PodReport[]): PodReport[] {
  return pods.filter((p) => leftBehindOutcomes.has(p.outcome));
}

export function logResult(log: Logger, result: NoticeResult): void {
  const leftBehind = podsLeftBehind(result.pods).map((p) => ({
    pod: `${p.namespace}/${p.name}`,
    outcome: p.outcome,
    pdb: p.pdb,
    reason: p.reason,
  }));
  const fields = {
    outcome: result.outcome,
    nodeOutcome: result.node,
    why: result.why,
    counts: result.counts,
    timings: result.timings,
    timeLeftMs: result.timeLeftMs,
    ...(result.holder ? { holder: result.holder } : {}),
    ...(result.state ? { state: result.state } : {}),
    ...(leftBehind.length > 0 ? { podsLeft: leftBehind } : {}),
  };
  // Handed on: the pods left are the next invocation's to drain, not a drain's end.
  if (result.node === 'handed-off') log.info('drain handed off before the invocation ends', fields);
  else if (leftBehind.length > 0) log.warn('drain finished with pods left', fields);
  else log.info('drain finished', fields);
}

export function recordMetrics(metrics: MetricsSink, result: NoticeResult): void {
  metrics.drainFinished({
    outcome: result.outcome,
    podsEvicted: result.counts.evicted,
    podsBlocked: result.counts.blocked + result.counts['still-terminating'],
    podsFailed: result.counts.failed + result.counts.stuck + result.counts.returned,
    durationMs: result.timings.totalMs,
    timeLeftMs: result.timeLeftMs,
  });
}

/** Pods by what a drain did to them, in the four words notifications and outcome events use. */
export function countsOf(c: Record<PodOutcome, number>) {
  return {
    evicted: c.evicted + c['already-terminating'] + c.gone,
    skipped: c.skipped,
    blocked: c.blocked + c['still-terminating'],
    failed: c.failed + c.stuck + c.returned,
  };
}

/** The summary a notification carries. */
export function summaryOf(result: NoticeResult) {
  return {
    outcome: result.outcome,
    ...countsOf(result.counts),
    durationMs: result.timings.totalMs,
    timeLeftMs: result.timeLeftMs,
  };
}
