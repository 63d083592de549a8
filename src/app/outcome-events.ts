/**
 * Which outcome event (src/notify/outcome-events.ts) each thing the function did is: a notice's
 * result, a notice it rejected, a node the reconcile moved on. One table maps every outcome; those
 * that changed nothing on the node, or that another invocation reports, have no event.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { countOutcomes } from '../drain/result.js';
import type { NodeReport } from '../interruption/carry-out.js';
import type { NodeReconcileReport } from '../interruption/reconcile.js';
import { holdingReason, type Reason, recordOn } from '../interruption/record.js';
import {
  maxPodsNamed,
  type OutcomeDetail,
  OutcomeDetailType,
  type OutcomeEvent,
  outcomeSchemaVersion,
} from '../notify/outcome-events.js';
import type { OutcomePublisher } from '../notify/outcome-publisher.js';
import type { MetricsSink } from '../observability/metrics.js';
import { Action, type InterruptionNotice } from '../types.js';
import type { NoticeReport } from './app-types.js';
import { countsOf, type NoticeResult, type Outcome, outcomeOf, podsLeftBehind } from './notice-result.js';
import { isRejection } from './verify-notice.js';

/**
 * The detail-type of every outcome. Undefined: no event, for these reasons:
 * - nothing changed on the node: `already-done` (a duplicate, or done before), `waiting`, `closed`
 *   (another reason keeps the node), `obsolete`, `hooks-completed`, `renewed`, `dry-run`;
 * - recorded for later: `scheduled` (the drain, when due, is the event);
 * - another invocation reports it: `in-progress-elsewhere`, `taken-over`, `lost`, `handed-off` (the
 *   holder that drains sends the event when it ends);
 * - not an end: `draining`, `ended` (the drain's own outcome is the event); `node-gone`.
 * A drain that fails throws instead: Lambda retries the event, and the retry's outcome is the event.
 */
export const outcomeDetailTypes: Record<Outcome, OutcomeDetailType | undefined> = {
  drained: OutcomeDetailType.Drained,
  'deadline-reached': OutcomeDetailType.DeadlineReached,
  incomplete: OutcomeDetailType.Incomplete,
  // The kubelet stopped mid-drain: what it was evicting is left on the node.
  halted: OutcomeDetailType.Incomplete,
  cordoned: OutcomeDetailType.Cordoned,
  'out-of-service': OutcomeDetailType.OutOfService,
  released: OutcomeDetailType.Released,
  'already-done': undefined,
  waiting: undefined,
  closed: undefined,
  obsolete: undefined,
  'hooks-completed': undefined,
  renewed: undefined,
  'dry-run': undefined,
  scheduled: undefined,
  'in-progress-elsewhere': undefined,
  'taken-over': undefined,
  lost: undefined,
  'handed-off': undefined,
  draining: undefined,
  ended: undefined,
  'node-gone': undefined,
};

/** Who acted, for every event of one invocation. */
export interface Actor {
  /** The Lambda request id. */
  invocationId: string;
  now: () => number;
}

/** What an event says about the pods: counts, and those left on the node. */
function podFacts(result: Pick<NoticeResult, 'counts' | 'pods'>) {
  const left = podsLeftBehind(result.pods);
  return {
    counts: { ...countsOf(result.counts), forceDeleted: result.counts['force-deleted'] },
    podsLeft: left.length,
    leftBehind: left.slice(0, maxPodsNamed).map((p) => ({
      pod: `${p.namespace}/${p.name}`,
      outcome: p.outcome,
      ...(p.pdb ? { pdb: p.pdb } : {}),
    })),
  };
}

function event(
  detailType: OutcomeDetailType,
  detail: Omit<OutcomeDetail, 'schemaVersion'>,
  actor: Actor,
): OutcomeEvent {
  return {
    detailType,
    detail: { schemaVersion: outcomeSchemaVersion, ...detail },
    time: new Date(actor.now()),
  };
}

/** A notice handled here, and what came of it. */
export interface HandledNotice {
  notice: InterruptionNotice;
  report: NoticeReport;
}

/** The events of the notices of an event handled here: each done, and each AWS contradicted (trust.md). */
export function noticeOutcomeEvents(handled: HandledNotice[], actor: Actor): OutcomeEvent[] {
  return handled.flatMap(({ notice, report }): OutcomeEvent[] => {
    if (report.status === 'skipped' && isRejection(report.reason)) {
      return [rejectedEvent(notice, report.reason, report.detail, actor)];
    }
    if (report.status !== 'done') return [];
    const { result, target } = report;
    const detailType = outcomeDetailTypes[result.outcome];
    if (!detailType) return [];
    const detail = {
      outcome: result.outcome,
      cluster: target.clusterName,
      node: target.nodeName,
      instanceId: notice.instanceId,
      kind: notice.kind,
      eventId: notice.eventId,
      action: result.action === Action.None ? null : result.action,
      by: 'notice' as const,
      ...podFacts(result),
      deadline: result.deadline,
      timeLeftMs: result.timeLeftMs,
      state: result.state ?? null,
      why: result.why,
      reason: null,
      invocationId: actor.invocationId,
    };
    return [event(detailType, detail, actor)];
  });
}

/** The event of a notice refused untouched (forged, stale, contradicted by EC2): no cluster or node is known. */
export function rejectedEvent(
  notice: Pick<InterruptionNotice, 'instanceId' | 'kind' | 'eventId'>,
  reason: string,
  why: string,
  actor: Actor,
): OutcomeEvent {
  return event(
    OutcomeDetailType.Rejected,
    {
      outcome: 'rejected',
      cluster: null,
      node: null,
      instanceId: notice.instanceId,
      kind: notice.kind,
      eventId: notice.eventId,
      action: null,
      by: 'notice',
      counts: { evicted: 0, skipped: 0, blocked: 0, failed: 0, forceDeleted: 0 },
      podsLeft: 0,
      leftBehind: [],
      deadline: null,
      timeLeftMs: null,
      state: null,
      why,
      reason,
      invocationId: actor.invocationId,
    },
    actor,
  );
}

/** A node moved on by a look at it (the reconcile's, or a running event's), and what held it before. */
export interface MovedNode {
  cluster: string;
  node: string;
  instanceId: string;
  /** The notice that held the node when it was read (the record's strongest reason), if any. */
  heldBy?: Pick<Reason, 'kind' | 'eventId' | 'action'> | undefined;
  report: Pick<NodeReport, 'node' | 'drain' | 'deadline' | 'state' | 'why'>;
}

/** The notice that holds a node as read (its record's strongest reason), for the event of what comes of it. */
export function heldByOf(node: { metadata?: { annotations?: Record<string, string> } }): MovedNode['heldBy'] {
  const record = recordOn(node);
  const reason = record ? holdingReason(record) : undefined;
  return reason ? { kind: reason.kind, eventId: reason.eventId, action: reason.action } : undefined;
}

/** The event of a node a look moved on, if what it did is an outcome; the kind is the notice that held it. */
export function movedNodeEvent(
  moved: MovedNode,
  by: 'reconcile' | 'running',
  actor: Actor,
): OutcomeEvent | undefined {
  const outcome = outcomeOf(moved.report);
  const detailType = outcomeDetailTypes[outcome];
  if (!detailType) return undefined;
  const { drain, deadline } = moved.report;
  const timed = drain !== undefined && deadline !== undefined;
  return event(
    detailType,
    {
      outcome,
      cluster: moved.cluster,
      node: moved.node,
      instanceId: moved.instanceId,
      kind: moved.heldBy?.kind ?? null,
      eventId: moved.heldBy?.eventId ?? null,
      action: moved.heldBy?.action ?? null,
      by,
      ...podFacts({ counts: drain?.counts ?? countOutcomes([]), pods: drain?.pods ?? [] }),
      deadline: timed ? new Date(deadline).toISOString() : null,
      timeLeftMs: timed ? deadline - actor.now() : null,
      state: moved.report.state ?? null,
      why: moved.report.why,
      reason: null,
      invocationId: actor.invocationId,
    },
    actor,
  );
}

/** The events of the nodes one reconcile pass moved on in `cluster`. */
export function reconcileOutcomeEvents(
  cluster: string,
  nodes: NodeReconcileReport[],
  actor: Actor,
): OutcomeEvent[] {
  return nodes.flatMap(({ node, instanceId, heldBy, report }) => {
    if (!report) return [];
    const moved = { cluster, node, instanceId: instanceId ?? '', heldBy, report };
    return [movedNodeEvent(moved, 'reconcile', actor)].filter((e) => e !== undefined);
  });
}

/**
 * Puts the events on the bus, if any: a failure is logged and counted, never thrown (the drain is
 * done; an event is a courtesy). Counted as sent and failed, for the dashboard and an alarm.
 */
export async function putOutcomeEvents(
  deps: { outcomes: OutcomePublisher; metrics: MetricsSink; logger: Logger },
  events: OutcomeEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const status = await deps.outcomes.publish(events);
  if (status.status === 'disabled') return;
  const failed = status.status === 'failed' ? status.failed : 0;
  deps.metrics.outcomeEvents({ sent: status.sent, failed });
  if (status.status === 'failed') {
    deps.logger.warn('outcome events failed', {
      sent: status.sent,
      failed,
      reason: status.reason,
      detailTypes: events.map((e) => e.detailType),
    });
  }
}
