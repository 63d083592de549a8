import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { NoticeKind } from '../types.js';

/** The numbers one invocation reports (CloudWatch EMF in Lambda, nothing in the CLI). */
export interface MetricsSink {
  noticeReceived(kind: NoticeKind): void;
  invalidEvent(): void;
  ignoredEvent(): void;
  /** Notices dropped untouched (forged, stale, beyond the per-event cap, contradicted by EC2), by reason. */
  rejected(reason: string, notices: number): void;
  drainFinished(summary: {
    outcome: string;
    podsEvicted: number;
    podsBlocked: number;
    podsFailed: number;
    durationMs: number;
    timeLeftMs: number;
  }): void;
  error(): void;
  /** Instances of one event handed to invocations of their own (a Health event naming several). */
  fannedOut(instances: number): void;
  /** Outcome events put on the bus, and those that could not be (the drain goes on either way). */
  outcomeEvents(summary: { sent: number; failed: number }): void;
  /** One reconcile pass: how many marked nodes it found, and what it did with them. */
  reconciled(summary: {
    nodes: number;
    released: number;
    outOfService: number;
    drained: number;
    failed: number;
  }): void;
  /** A `running` event: whether this project had marked the instance's node, and gave it back. */
  instanceRunning(summary: { marked: boolean; released: boolean }): void;
  /** A drained node's lifecycle hook completed at the wait's bound, its volumes not all detached. */
  hookWithVolumesAttached(): void;
  /** A launch hook of a managed cluster's instance: completed, not Ready in time, or left for a retry. */
  launchHook(outcome: 'continued' | 'not-ready' | 'retried'): void;
}

export const noMetrics: MetricsSink = {
  noticeReceived: () => {},
  invalidEvent: () => {},
  ignoredEvent: () => {},
  rejected: () => {},
  drainFinished: () => {},
  error: () => {},
  fannedOut: () => {},
  outcomeEvents: () => {},
  reconciled: () => {},
  instanceRunning: () => {},
  hookWithVolumesAttached: () => {},
  launchHook: () => {},
};

/** MetricsSink over Powertools Metrics; the handler publishes once per invocation. */
export function powertoolsMetrics(metrics: Metrics): MetricsSink {
  return {
    noticeReceived(kind) {
      const single = metrics.singleMetric();
      single.addDimension('kind', kind);
      single.addMetric('NoticesReceived', MetricUnit.Count, 1);
      // Also stored, so the invocation's publish is never empty (a skipped notice adds nothing else).
      metrics.addMetric('Notices', MetricUnit.Count, 1);
    },
    invalidEvent() {
      metrics.addMetric('InvalidEvents', MetricUnit.Count, 1);
    },
    ignoredEvent() {
      // Also keeps Powertools from warning about an invocation with nothing to publish.
      metrics.addMetric('IgnoredEvents', MetricUnit.Count, 1);
    },
    rejected(reason, notices) {
      const single = metrics.singleMetric();
      single.addDimension('reason', reason);
      single.addMetric('RejectedNotices', MetricUnit.Count, notices);
      // Also stored, so the invocation's publish is never empty.
      metrics.addMetric('Rejections', MetricUnit.Count, 1);
    },
    drainFinished(s) {
      if (s.outcome === 'handed-off') {
        // Not an end: what the drain left (blocked pods, its time) is the next invocation's to report.
        metrics.addMetric('DrainsHandedOff', MetricUnit.Count, 1);
        metrics.addMetric('PodsEvicted', MetricUnit.Count, s.podsEvicted);
        return;
      }
      if (s.outcome === 'drained') metrics.addMetric('NodesDrained', MetricUnit.Count, 1);
      if (s.outcome === 'cordoned') metrics.addMetric('NodesCordoned', MetricUnit.Count, 1);
      if (s.outcome === 'deadline-reached') metrics.addMetric('DrainsPastDeadline', MetricUnit.Count, 1);
      metrics.addMetric('PodsEvicted', MetricUnit.Count, s.podsEvicted);
      metrics.addMetric('PodsBlocked', MetricUnit.Count, s.podsBlocked);
      metrics.addMetric('PodsFailed', MetricUnit.Count, s.podsFailed);
      metrics.addMetric('DrainDuration', MetricUnit.Milliseconds, s.durationMs);
      metrics.addMetric('TimeLeftAtFinish', MetricUnit.Milliseconds, Math.max(0, s.timeLeftMs));
    },
    error() {
      metrics.addMetric('Errors', MetricUnit.Count, 1);
    },
    fannedOut(instances) {
      // Also the only metric of an invocation that handed every instance on.
      metrics.addMetric('InstancesFannedOut', MetricUnit.Count, instances);
    },
    outcomeEvents(s) {
      metrics.addMetric('OutcomeEventsSent', MetricUnit.Count, s.sent);
      metrics.addMetric('OutcomeEventsFailed', MetricUnit.Count, s.failed);
    },
    reconciled(s) {
      metrics.addMetric('ReconcileNodes', MetricUnit.Count, s.nodes);
      metrics.addMetric('NodesReleased', MetricUnit.Count, s.released);
      metrics.addMetric('NodesOutOfService', MetricUnit.Count, s.outOfService);
      metrics.addMetric('ReconcileDrains', MetricUnit.Count, s.drained);
      metrics.addMetric('ReconcileFailures', MetricUnit.Count, s.failed);
    },
    instanceRunning({ marked, released }) {
      // Every start of the account's instances comes here: counted, so the cost can be seen.
      metrics.addMetric('InstancesRunning', MetricUnit.Count, 1);
      if (!marked) return;
      metrics.addMetric('MarkedInstancesRunning', MetricUnit.Count, 1);
      // The same metric as the reconcile's releases: the dashboard counts nodes given back either way.
      metrics.addMetric('NodesReleased', MetricUnit.Count, released ? 1 : 0);
    },
    hookWithVolumesAttached() {
      metrics.addMetric('HooksWithVolumesAttached', MetricUnit.Count, 1);
    },
    launchHook(outcome) {
      metrics.addMetric('LaunchHooks', MetricUnit.Count, 1);
      const name = {
        continued: 'LaunchHooksContinued',
        'not-ready': 'LaunchHooksNotReady',
        retried: 'LaunchHooksRetried',
      };
      metrics.addMetric(name[outcome], MetricUnit.Count, 1);
    },
  };
}
