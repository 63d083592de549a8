import type { LaunchHookConfig } from '../config.js';
import { TransientError } from '../errors.js';
import { parseEvent } from '../events/parse-event.js';
import { describeError } from '../observability/redact.js';
import type { InterruptionNotice, ParseOutcome } from '../types.js';
import type { AppDeps, Invocation, NoticeReport } from './app-types.js';
import { fanOut, type HandOn } from './fan-out.js';
import { notifyDrainsEnded } from './hand-off.js';
import { handleLaunch, type LaunchEvent, type LaunchReport } from './handle-launch.js';
import { handleNotice } from './handle-notice.js';
import { handleRunning, type RunningReport } from './handle-running.js';
import { type Actor, noticeOutcomeEvents, putOutcomeEvents, rejectedEvent } from './outcome-events.js';
import type { ClusterReconcileReport } from './reconcile-all.js';
import { managedClustersOf } from './resolve-target.js';
import { capNotices, isRejection, Rejection, verifyEvent } from './verify-notice.js';

export interface EventReport {
  eventId: string | undefined;
  /** `rejected`: well-formed, but forged or stale (see verify-notice.ts); nothing was touched. */
  status: 'invalid' | 'ignored' | 'rejected' | 'handled' | 'reconciled';
  reason?: string;
  notices: NoticeReport[];
  /** Instances the event named beyond MAX_INSTANCES_PER_EVENT: reported, not acted on. */
  leftAlone?: string[];
  /** The schedule's reconcile pass, per managed cluster. */
  reconcile?: ClusterReconcileReport[];
  /** An instance running again: what became of its node. */
  running?: RunningReport;
  /** An Auto Scaling launch hook: what became of it. */
  launch?: LaunchReport;
}

/** What one event may do, besides the app's dependencies. */
export interface EventChecks {
  /** Notices of one event acted on (MAX_INSTANCES_PER_EVENT); the rest are logged and left alone. */
  maxInstancesPerEvent: number;
}

/** The defaults of the environment variables behind {@link EventChecks}. */
export const defaultEventChecks: EventChecks = { maxInstancesPerEvent: 50 };

export interface EventDeps extends AppDeps {
  checks?: EventChecks;
  /** Launch lifecycle hooks (ENABLE_ASG_LAUNCH_HOOKS and the rest); unset: the defaults. */
  launchHooks?: LaunchHookConfig;
  /**
   * Hands a one-instance copy of an event to another invocation of the function (in Lambda: an
   * asynchronous self-invoke), so that each instance of a Health event gets its own invocation,
   * timeout and deadline. Undefined: every notice is handled here.
   */
  fanOut?: HandOn;
}

/** Ids per log line when an event names more instances than it may act on: lines stay far below CloudWatch's 256 KB. */
const idsPerLogLine = 500;

/**
 * The whole job for one EventBridge event: parse it, check it (account, region, age, number of
 * instances), act on each notice it carries (a Health event can name many instances, drained in
 * parallel), and report. Bad, forged or irrelevant input is logged and returned, never thrown: no
 * retry can fix it. If any notice failed in a way a retry may fix, this throws a TransientError
 * after every notice was tried, so Lambda retries the event and, last, the dead-letter queue keeps
 * it; notices that succeeded are no-ops on the retry, thanks to the node's record.
 */
export async function handleEvent(
  raw: unknown,
  deps: EventDeps,
  invocation: Invocation,
): Promise<EventReport> {
  const parsed = parseEvent(raw);
  if (parsed.status === 'reconcile') return reconcileOnSchedule(parsed, deps, invocation);
  if (parsed.status === 'running') return instanceRunning(parsed, deps, invocation);
  if (parsed.status === 'launch') return instanceLaunching(parsed, deps, invocation);
  if (parsed.status === 'hand-off') return drainHandedOff(parsed, deps, invocation);
  if (parsed.status !== 'notices') return dropped(parsed, deps);

  const eventId = parsed.notices[0]?.eventId;
  const now = deps.now ?? Date.now;
  const actor: Actor = { invocationId: invocation.id, now };
  const limit = (deps.checks ?? defaultEventChecks).maxInstancesPerEvent;
  const { acted, leftAlone } = capNotices(parsed.notices, limit);
  const verdict = verifyEvent(
    parsed.notices,
    { account: invocation.account, region: invocation.region },
    now(),
  );
  if (!verdict.ok) {
    deps.metrics.rejected(verdict.reason, parsed.notices.length);
    deps.logger.warn(`event dropped: ${verdict.reason}`, {
      eventId,
      reason: verdict.reason,
      detail: verdict.detail,
      instanceIds: parsed.notices.slice(0, idsPerLogLine).map((n) => n.instanceId),
    });
    // One event per notice, as many as one event may act on: a forged event must not flood the bus.
    const rejected = acted.map((notice) => rejectedEvent(notice, verdict.reason, verdict.detail, actor));
    await putOutcomeEvents(deps, rejected);
    return { eventId, status: 'rejected', reason: `${verdict.reason}: ${verdict.detail}`, notices: [] };
  }
  if (leftAlone.length > 0) reportLeftAlone(deps, eventId, limit, leftAlone);

  const { delegated, local } = await fanOut(raw, acted, deps, invocation);
  const settled = await Promise.allSettled(local.map((notice) => handleNotice(notice, deps, invocation)));
  // Before a failure is thrown: the notices done are no-ops on the retry, which reports nothing of them.
  const handled = settled.flatMap((outcome, i) =>
    outcome.status === 'fulfilled' ? [{ notice: local[i]!, report: outcome.value }] : [],
  );
  await putOutcomeEvents(deps, noticeOutcomeEvents(handled, actor));
  const reports = reportsOrThrow(eventId, local, settled, deps);
  const left = leftAlone.length > 0 ? { leftAlone: leftAlone.map((n) => n.instanceId) } : {};
  return { eventId, status: 'handled', notices: [...delegated, ...reports], ...left };
}

/** The stack's schedule: a reconcile of every managed cluster, run only for this account and region. */
async function reconcileOnSchedule(
  parsed: Extract<ParseOutcome, { status: 'reconcile' }>,
  deps: EventDeps,
  invocation: Invocation,
): Promise<EventReport> {
  // Only the function's own schedule: a reconcile from elsewhere would be harmless (it only moves
  // nodes on from the world as it is), but it is not ours to run.
  if (isForeign(parsed, invocation)) return foreign(parsed.eventId, 'a schedule', deps);
  // A chunk of its own, loaded by the schedule's invocations only: a notice's cold start never parses it.
  const { reconcileAll } = await import('./reconcile-all.js');
  const reconcile = await reconcileAll(deps, invocation);
  return { eventId: parsed.eventId, status: 'reconciled', notices: [], reconcile };
}

/**
 * A drain handed on by an invocation about to end: this one looks at that node, as the reconcile
 * would, and so takes the drain over. Only this account's and region's, and only a managed cluster.
 */
async function drainHandedOff(
  parsed: Extract<ParseOutcome, { status: 'hand-off' }>,
  deps: EventDeps,
  invocation: Invocation,
): Promise<EventReport> {
  if (isForeign(parsed, invocation)) return foreign(parsed.eventId, 'a drain handed off', deps);
  if (!managedClustersOf(deps.source).includes(parsed.cluster)) {
    deps.metrics.ignoredEvent();
    const reason = `a drain handed off on cluster ${parsed.cluster}, which this deployment does not manage`;
    deps.logger.warn(`event dropped: ${reason}`, { eventId: parsed.eventId });
    return { eventId: parsed.eventId, status: 'ignored', reason, notices: [] };
  }
  deps.logger.info('taking over a drain handed off', {
    eventId: parsed.eventId,
    cluster: parsed.cluster,
    node: parsed.node,
    from: parsed.from,
  });
  const { reconcileAll } = await import('./reconcile-all.js');
  const reconcile = await reconcileAll(deps, invocation, { cluster: parsed.cluster, node: parsed.node });
  await notifyDrainsEnded(reconcile, deps, (deps.now ?? Date.now)());
  return { eventId: parsed.eventId, status: 'reconciled', notices: [], reconcile };
}

/**
 * An instance runs again: its node, if marked, is moved on at once. Only this account's and region's
 * (as for the schedule, the event is trusted for nothing else: EC2 and the node are read anew).
 */
async function instanceRunning(
  parsed: Extract<ParseOutcome, { status: 'running' }>,
  deps: EventDeps,
  invocation: Invocation,
): Promise<EventReport> {
  if (isForeign(parsed, invocation)) return foreign(parsed.eventId, 'an instance state change', deps);
  const running = await handleRunning(parsed, deps, invocation);
  if (running.status === 'off' || running.status === 'no-ec2') {
    deps.metrics.ignoredEvent();
    return { eventId: parsed.eventId, status: 'ignored', reason: running.why, notices: [] };
  }
  return { eventId: parsed.eventId, status: 'handled', notices: [], running };
}

/**
 * A new instance behind a launch hook: completed once its node is Ready. Only this account's and
 * region's; a failure (the node not Ready before this invocation must return, an API down) is thrown,
 * so Lambda's retry waits on.
 */
async function instanceLaunching(
  parsed: LaunchEvent,
  deps: EventDeps,
  invocation: Invocation,
): Promise<EventReport> {
  if (isForeign(parsed, invocation)) return foreign(parsed.eventId, 'a launch lifecycle action', deps);
  let launch: LaunchReport;
  try {
    launch = await handleLaunch(parsed, deps, invocation);
  } catch (error) {
    deps.metrics.launchHook('retried');
    throw error;
  }
  const continued = launch.status === 'continued' || launch.status === 'already-ended';
  if (!continued && launch.status !== 'abandoned' && launch.status !== 'left') {
    deps.metrics.ignoredEvent();
    return { eventId: parsed.eventId, status: 'ignored', reason: launch.why, notices: [], launch };
  }
  deps.metrics.launchHook(continued ? 'continued' : 'not-ready');
  return { eventId: parsed.eventId, status: 'handled', notices: [], launch };
}

function isForeign(origin: { account: string; region: string }, invocation: Invocation): boolean {
  return (
    (invocation.account !== undefined && origin.account !== invocation.account) ||
    (invocation.region !== undefined && origin.region !== invocation.region)
  );
}

function foreign(eventId: string, what: string, deps: EventDeps): EventReport {
  deps.metrics.rejected(Rejection.WrongAccount, 0);
  deps.logger.warn(`event dropped: ${what} of another account or region`, { eventId });
  return { eventId, status: 'rejected', reason: `${what} of another account or region`, notices: [] };
}

/** An event that is not for us (ignored) or not readable (invalid): logged with its id, counted, dropped. */
function dropped(
  parsed: Extract<ParseOutcome, { status: 'invalid' | 'ignored' }>,
  deps: EventDeps,
): EventReport {
  if (parsed.status === 'invalid') {
    deps.metrics.invalidEvent();
    deps.logger.warn('event dropped: invalid', { eventId: parsed.eventId, reason: parsed.reason });
  } else {
    deps.metrics.ignoredEvent();
    deps.logger.info('event ignored', { eventId: parsed.eventId, reason: parsed.reason });
  }
  return { eventId: parsed.eventId, status: parsed.status, reason: parsed.reason, notices: [] };
}

/**
 * The reports of the notices handled here, once all were tried; a TransientError naming each that
 * failed in a way a retry may fix, so Lambda retries the event (the others are no-ops then).
 */
function reportsOrThrow(
  eventId: string | undefined,
  notices: InterruptionNotice[],
  settled: PromiseSettledResult<NoticeReport>[],
  deps: EventDeps,
): NoticeReport[] {
  const reports: NoticeReport[] = [];
  const failures: string[] = [];
  settled.forEach((outcome, index) => {
    const notice = notices[index]!;
    if (outcome.status === 'fulfilled') {
      reports.push(outcome.value);
      if (outcome.value.status === 'skipped' && isRejection(outcome.value.reason)) {
        deps.metrics.rejected(outcome.value.reason, 1);
        deps.logger.warn(`notice dropped: ${outcome.value.reason}`, {
          eventId: notice.eventId,
          kind: notice.kind,
          instanceId: notice.instanceId,
          reason: outcome.value.reason,
          detail: outcome.value.detail,
        });
      }
      return;
    }
    const error = describeError(outcome.reason);
    deps.metrics.error();
    deps.logger.error('notice failed; the event will be retried', {
      eventId: notice.eventId,
      kind: notice.kind,
      instanceId: notice.instanceId,
      error,
    });
    failures.push(`${notice.instanceId}: ${error.name}: ${error.message}`);
  });
  if (failures.length > 0) {
    throw new TransientError(
      `event ${eventId}: ${failures.length} of ${settled.length} notices failed: ${failures.join('; ')}`,
    );
  }
  return reports;
}

/** Logs, by id, the instances an event named beyond the cap: someone must look at them. */
function reportLeftAlone(
  deps: EventDeps,
  eventId: string | undefined,
  limit: number,
  leftAlone: InterruptionNotice[],
): void {
  deps.metrics.rejected(Rejection.TooManyInstances, leftAlone.length);
  for (let start = 0; start < leftAlone.length; start += idsPerLogLine) {
    deps.logger.warn('instances left alone: the event names more than MAX_INSTANCES_PER_EVENT', {
      eventId,
      kind: leftAlone[0]?.kind,
      limit,
      leftAloneCount: leftAlone.length,
      instanceIds: leftAlone.slice(start, start + idsPerLogLine).map((n) => n.instanceId),
    });
  }
}
