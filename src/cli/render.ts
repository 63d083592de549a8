/**
 * What the CLI and the demo print about a drain: one line per progress event as it happens, then a
 * summary of the report. Pure functions from data to lines; the callers decide where lines go.
 */

import type { NoticeReport } from '../app/app-types.js';
import type { EventReport } from '../app/handle-event.js';
import type { RunningReport } from '../app/handle-running.js';
import type { NoticeResult } from '../app/notice-result.js';
import type { ClusterReconcileReport } from '../app/reconcile-all.js';
import type { DrainProgress } from '../drain/drain-types.js';
import type { DrainTimings, PodOutcome, PodReport } from '../drain/result.js';
import type { InterruptionNotice } from '../types.js';
import { duration, table } from './text.js';

/** One progress line: seconds since the start, then the phase or the pod's new status. */
export function formatProgress(progress: DrainProgress, elapsedMs: number, instanceId?: string): string {
  const clock = `[${(elapsedMs / 1_000).toFixed(1).padStart(5)}s]${instanceId ? ` ${instanceId}` : ''}`;
  if (progress.type === 'phase') return `${clock} ${progress.phase.padEnd(15)} ${progress.detail}`;
  if (progress.type === 'record') return `${clock} ${'record'.padEnd(15)} ${progress.detail}`;
  const detail = progress.detail ? `  ${progress.detail}` : '';
  return `${clock}   ${progress.status.padEnd(13)} ${progress.pod}${detail}`;
}

export interface ProgressPrinterOptions {
  /** Prefix each line with the instance id (events that name several instances). */
  showInstance?: boolean;
  now?: () => number;
}

/** An AppDeps.onProgress that prints each drain step as a line, timed from its own creation. */
export function progressPrinter(
  writeLine: (line: string) => void,
  options: ProgressPrinterOptions = {},
): (notice: Pick<InterruptionNotice, 'instanceId'>, progress: DrainProgress) => void {
  const now = options.now ?? Date.now;
  const started = now();
  return (notice, progress) =>
    writeLine(
      formatProgress(progress, now() - started, options.showInstance ? notice.instanceId : undefined),
    );
}

/** The report of one event: what became of each notice, and for each drain its pods and times. */
export function renderReport(report: EventReport): string[] {
  const id = report.eventId ?? '(no id)';
  if (report.status === 'reconciled')
    return [`event ${id}: reconciled`, ...renderReconcile(report.reconcile ?? [])];
  if (report.status !== 'handled') return [`event ${id}: ${report.status}: ${report.reason ?? ''}`];
  const lines = [`event ${id}: handled`];
  if (report.running) lines.push('', renderRunning(report.running));
  if (report.launch) {
    const { instanceId, node, status, why } = report.launch;
    lines.push('', `instance ${instanceId} launch hook:${node ? ` node ${node}` : ''} ${status}: ${why}`);
  }
  for (const notice of report.notices) lines.push('', ...renderNotice(notice));
  if (report.leftAlone?.length) {
    lines.push(
      '',
      `${report.leftAlone.length} more instances left alone (MAX_INSTANCES_PER_EVENT): ${report.leftAlone.join(', ')}`,
    );
  }
  return lines;
}

/** An instance running again: where its node is, and what became of it. */
function renderRunning(running: RunningReport): string {
  const where = running.node ? ` node ${running.node}${running.cluster ? ` (${running.cluster})` : ''}` : '';
  const outcome = running.outcome ? ` -> ${running.outcome}` : '';
  return `instance ${running.instanceId} running again:${where} ${running.status}${outcome}: ${running.why}`;
}

function renderNotice(notice: NoticeReport): string[] {
  const head = `instance ${notice.instanceId} (${notice.kind}, action ${notice.action})`;
  const lifecycle = notice.lifecycleAction ? [`  lifecycle action: ${notice.lifecycleAction}`] : [];
  switch (notice.status) {
    case 'no-action':
      return [`${head}: nothing to do, the policy switches this kind off`, ...lifecycle];
    case 'delegated':
      return [`${head}: handed to an invocation of its own`];
    case 'skipped':
      return [`${head}: nothing to drain: ${notice.reason} (${notice.detail})`, ...lifecycle];
    case 'done':
      return [
        `${head}: node ${notice.target.nodeName} of cluster ${notice.target.clusterName}`,
        ...renderResult(notice.result),
        ...lifecycle,
      ];
  }
}

/** A drain result: the outcome, a table of pods, counts, time per phase and time left. */
export function renderResult(result: NoticeResult): string[] {
  const holder = result.holder && result.state === 'draining' ? ` (drained by ${result.holder})` : '';
  const lines = [`  outcome: ${result.outcome}${holder}`];
  if (result.node !== result.outcome) lines.push(`  node: ${result.node}: ${result.why}`);
  if (result.outcome === 'dry-run') lines.push('  dry run: nothing was changed');
  if (result.pods.length > 0) {
    lines.push('', ...table(['POD', 'TIER', 'OUTCOME', 'GONE AFTER', 'DETAIL'], result.pods.map(podRow)), '');
  }
  lines.push(`  pods: ${countsLine(result.counts)}`);
  lines.push(`  time: ${timingsLine(result.timings)}`);
  const left =
    result.timeLeftMs >= 0
      ? `${duration(result.timeLeftMs)} left`
      : `overran by ${duration(-result.timeLeftMs)}`;
  lines.push(`  deadline: ${result.deadline}, ${left}`);
  return lines;
}

function podRow(pod: PodReport): string[] {
  return [
    `${pod.namespace}/${pod.name}`,
    pod.tier,
    pod.outcome,
    pod.goneAfterMs === undefined ? '' : duration(pod.goneAfterMs),
    podDetail(pod),
  ];
}

/** Why a pod ended as it did: the skip reason, the budget that blocked it, or the warning. */
export function podDetail(pod: PodReport): string {
  const parts: string[] = [];
  if (pod.pdb && !pod.reason?.includes(pod.pdb)) parts.push(`PodDisruptionBudget ${pod.pdb}`);
  if (pod.reason) parts.push(pod.reason);
  if (pod.outcome === 'evicted' && (pod.evictionAttempts ?? 1) > 1) {
    parts.push(`evicted on attempt ${pod.evictionAttempts}`);
  }
  return parts.join('; ');
}

const alwaysCounted: PodOutcome[] = ['evicted', 'skipped', 'blocked', 'failed'];

/** "6 evicted, 1 skipped, 0 blocked, 0 failed", plus any other outcome that occurred. */
export function countsLine(counts: Record<PodOutcome, number>): string {
  const shown = Object.entries(counts).filter(
    ([outcome, count]) => alwaysCounted.includes(outcome as PodOutcome) || count > 0,
  );
  return shown.map(([outcome, count]) => `${count} ${outcome}`).join(', ');
}

/** "mark 45 ms, list 12 ms, evict ordinary 6.1 s, evict critical 1.1 s; total 7.3 s"; phases that took no time are left out. */
export function timingsLine(timings: DrainTimings): string {
  const phases: [string, number][] = [
    ['mark', timings.markMs],
    ['list', timings.listMs],
    ['evict ordinary', timings.evictOrdinaryMs],
    ['evict critical', timings.evictCriticalMs],
    ['evict DaemonSet', timings.evictDaemonSetMs],
  ];
  const spent = phases.filter(([, ms]) => ms > 0).map(([name, ms]) => `${name} ${duration(ms)}`);
  return [...spent, `total ${duration(timings.totalMs)}`].join(', ');
}

/** One reconcile pass: per cluster, each marked node, the step decided and why, and what came of it. */
export function renderReconcile(clusters: ClusterReconcileReport[], dryRun = false): string[] {
  const lines: string[] = [];
  for (const cluster of clusters) {
    lines.push(
      '',
      `cluster ${cluster.cluster}: ${cluster.error ? `failed: ${cluster.error}` : `${cluster.nodes.length} marked nodes`}`,
    );
    if (cluster.nodes.length === 0) continue;
    lines.push(
      ...table(
        ['node', 'instance', 'state', dryRun ? 'would' : 'step', 'why', ...(dryRun ? [] : ['result'])],
        cluster.nodes.map((n) => [
          n.node,
          n.instanceId ?? '-',
          n.state,
          n.step,
          n.why,
          ...(dryRun ? [] : [n.error ? `error: ${n.error}` : (n.result ?? '-')]),
        ]),
      ),
    );
  }
  return lines;
}
