import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import type { NoticeReport } from '../../../src/app/app-types.js';
import { noticeResult } from '../../../src/app/notice-result.js';
import {
  type Actor,
  heldByOf,
  movedNodeEvent,
  noticeOutcomeEvents,
  outcomeDetailTypes,
  putOutcomeEvents,
  reconcileOutcomeEvents,
  rejectedEvent,
} from '../../../src/app/outcome-events.js';
import { countOutcomes, noTimings, type PodReport, type PodsOutcome } from '../../../src/drain/result.js';
import type { NodeReport } from '../../../src/interruption/carry-out.js';
import type { NodeOutcome } from '../../../src/interruption/inputs.js';
import type { NodeReconcileReport } from '../../../src/interruption/reconcile.js';
import { recordAnnotation } from '../../../src/interruption/record.js';
import { outcomeDetailFields } from '../../../src/notify/outcome-events.js';
import type { OutcomePublisher } from '../../../src/notify/outcome-publisher.js';
import { noMetrics } from '../../../src/observability/metrics.js';
import { type InterruptionNotice, NoticeKind } from '../../../src/types.js';
import { sampleOutcome } from '../notify/sample.js';

const now = Date.parse('2025-03-01T12:01:00Z');
const actor: Actor = { invocationId: 'request-1', now: () => now };
const deadline = Date.parse('2025-03-01T12:02:00Z');

const notice: InterruptionNotice = {
  kind: NoticeKind.SpotInterruption,
  instanceId: 'i-0123456789abcdef0',
  region: 'us-east-1',
  account: '123456789012',
  eventId: 'event-1',
  eventTime: new Date(deadline - 120_000),
  deadline: new Date(deadline),
};
const target = {
  clusterName: 'prod',
  nodeName: 'ip-10-0-0-1.ec2.internal',
  instanceId: notice.instanceId,
  providerId: `aws:///us-east-1a/${notice.instanceId}`,
};

const pod = (name: string, outcome: PodReport['outcome'], pdb?: string): PodReport => ({
  namespace: 'shop',
  name,
  tier: 'ordinary',
  outcome,
  ...(pdb ? { pdb } : {}),
});

/** What moving a node on reported: `node` happened to it, after a drain of `pods` when one ran. */
function nodeReport(node: NodeOutcome, drain?: { outcome: PodsOutcome; pods: PodReport[] }): NodeReport {
  return {
    nodeName: target.nodeName,
    node,
    why: `the node is ${node}`,
    ...(drain ? { drain: { ...drain, counts: countOutcomes(drain.pods), timings: noTimings() } } : {}),
    ...(drain ? { deadline } : {}),
    state: 'drained',
    hooksCompleted: [],
    hooksFailed: [],
    hooksPending: [],
  };
}

/** A notice done, as handleNotice reports it. */
function done(report: NodeReport, action: 'drain' | 'cordon' = 'drain'): NoticeReport {
  const base = { kind: notice.kind, instanceId: notice.instanceId, action };
  const result = noticeResult(
    { nodeName: target.nodeName, kind: notice.kind, eventId: notice.eventId, action },
    report,
    deadline,
    now,
  );
  return { ...base, status: 'done', target, result };
}

describe('outcomeDetailTypes', () => {
  it.each([
    ['drained', 'Node Drained'],
    ['deadline-reached', 'Drain Deadline Reached'],
    ['incomplete', 'Drain Incomplete'],
    ['halted', 'Drain Incomplete'],
    ['cordoned', 'Node Cordoned'],
    ['out-of-service', 'Node Out Of Service'],
    ['released', 'Node Released'],
  ] as const)('puts %s as %s', (outcome, detailType) => {
    expect(outcomeDetailTypes[outcome]).toBe(detailType);
  });

  it('puts nothing for what changed nothing, or what another invocation reports', () => {
    // Act
    const none = Object.entries(outcomeDetailTypes)
      .filter(([, detailType]) => detailType === undefined)
      .map(([outcome]) => outcome);

    // Assess
    expect(none.sort()).toEqual(
      [
        'already-done',
        'closed',
        'draining',
        'dry-run',
        'ended',
        'handed-off',
        'hooks-completed',
        'in-progress-elsewhere',
        'lost',
        'node-gone',
        'obsolete',
        'renewed',
        'scheduled',
        'taken-over',
        'waiting',
      ].sort(),
    );
  });
});

describe('noticeOutcomeEvents', () => {
  it('reports a drain: cluster, node, instance, notice, counts, pods left, deadline and time left', () => {
    // Prepare: three pods gone, one blocked by its budget, one DaemonSet pod skipped.
    const pods = [
      pod('web-1', 'evicted'),
      pod('web-2', 'already-terminating'),
      pod('web-3', 'gone'),
      pod('db-0', 'blocked', 'db-pdb'),
      pod('agent', 'skipped'),
    ];
    const report = done(nodeReport('ended', { outcome: 'deadline-reached', pods }));

    // Act
    const events = noticeOutcomeEvents([{ notice, report }], actor);

    // Assess
    expect(events).toEqual([
      {
        detailType: 'Drain Deadline Reached',
        time: new Date(now),
        detail: {
          schemaVersion: 1,
          outcome: 'deadline-reached',
          cluster: 'prod',
          node: target.nodeName,
          instanceId: notice.instanceId,
          kind: 'spot-interruption',
          eventId: 'event-1',
          action: 'drain',
          by: 'notice',
          counts: { evicted: 3, skipped: 1, blocked: 1, failed: 0, forceDeleted: 0 },
          podsLeft: 1,
          leftBehind: [{ pod: 'shop/db-0', outcome: 'blocked', pdb: 'db-pdb' }],
          deadline: '2025-03-01T12:02:00.000Z',
          timeLeftMs: 60_000,
          state: 'drained',
          why: 'the node is ended',
          reason: null,
          invocationId: 'request-1',
        },
      },
    ]);
    expect(Object.keys(events[0]!.detail)).toEqual(outcomeDetailFields);
  });

  it('names at most 20 pods left, and counts them all', () => {
    // Prepare
    const pods = Array.from({ length: 25 }, (_, i) => pod(`stuck-${i}`, 'stuck'));
    const report = done(nodeReport('ended', { outcome: 'incomplete', pods }));

    // Act
    const [event] = noticeOutcomeEvents([{ notice, report }], actor);

    // Assess
    expect(event?.detailType).toBe('Drain Incomplete');
    expect(event?.detail.podsLeft).toBe(25);
    expect(event?.detail.leftBehind).toHaveLength(20);
    expect(event?.detail.counts.failed).toBe(25);
  });

  it('reports a cordon, with no pods', () => {
    // Act
    const [event] = noticeOutcomeEvents([{ notice, report: done(nodeReport('cordoned'), 'cordon') }], actor);

    // Assess
    expect(event).toMatchObject({
      detailType: 'Node Cordoned',
      detail: { outcome: 'cordoned', action: 'cordon', podsLeft: 0, leftBehind: [] },
    });
  });

  it('reports what became of the node where it says more than the drain', () => {
    // Prepare: drained, and EC2 confirmed the instance gone after.
    const report = done(
      nodeReport('out-of-service', { outcome: 'drained', pods: [pod('web-1', 'evicted')] }),
    );

    // Act
    const [event] = noticeOutcomeEvents([{ notice, report }], actor);

    // Assess
    expect(event).toMatchObject({ detailType: 'Node Out Of Service', detail: { outcome: 'out-of-service' } });
  });

  it.each([
    ['a duplicate', done(nodeReport('already-done'))],
    ['a drain another invocation runs', done(nodeReport('in-progress-elsewhere'))],
    ['a drain taken over', done(nodeReport('taken-over', { outcome: 'halted', pods: [] }))],
    ['a change recorded for later', done(nodeReport('scheduled'))],
    [
      'a notice switched off by policy',
      {
        kind: notice.kind,
        instanceId: notice.instanceId,
        action: 'none',
        status: 'no-action',
      } as NoticeReport,
    ],
    [
      'an instance of another cluster',
      {
        kind: notice.kind,
        instanceId: notice.instanceId,
        action: 'drain',
        status: 'skipped',
        reason: 'not-managed',
        detail: 'x',
      } as NoticeReport,
    ],
    [
      'an instance handed to another invocation',
      {
        kind: notice.kind,
        instanceId: notice.instanceId,
        action: 'drain',
        status: 'delegated',
      } as NoticeReport,
    ],
  ])('puts nothing for %s', (_, report) => {
    expect(noticeOutcomeEvents([{ notice, report }], actor)).toEqual([]);
  });

  it('reports a notice EC2 contradicts as rejected', () => {
    // Prepare
    const report: NoticeReport = {
      kind: notice.kind,
      instanceId: notice.instanceId,
      action: 'drain',
      status: 'skipped',
      reason: 'ec2-disagrees',
      detail: 'EC2 describes it as on-demand, not spot',
    };

    // Act
    const events = noticeOutcomeEvents([{ notice, report }], actor);

    // Assess
    expect(events).toEqual([
      rejectedEvent(notice, 'ec2-disagrees', 'EC2 describes it as on-demand, not spot', actor),
    ]);
    expect(events[0]).toMatchObject({
      detailType: 'Notice Rejected',
      detail: { outcome: 'rejected', reason: 'ec2-disagrees', cluster: null, node: null, eventId: 'event-1' },
    });
  });

  it.each(['auto-scaling-disagrees', 'no-scheduled-event', 'not-in-capacity-reservation', 'state-left'])(
    'reports a notice refused as %s as rejected, like any AWS contradicts',
    (reason) => {
      const report: NoticeReport = {
        kind: notice.kind,
        instanceId: notice.instanceId,
        action: 'drain',
        status: 'skipped',
        reason,
        detail: 'AWS says no',
      };
      expect(noticeOutcomeEvents([{ notice, report }], actor)).toEqual([
        rejectedEvent(notice, reason as never, 'AWS says no', actor),
      ]);
    },
  );
});

describe('reconcileOutcomeEvents', () => {
  const reconciled = (node: Partial<NodeReconcileReport>): NodeReconcileReport => ({
    node: target.nodeName,
    instanceId: notice.instanceId,
    state: 'drained',
    heldBy: { kind: NoticeKind.ScheduledChange, eventId: 'health-1', action: 'drain' },
    step: 'wait',
    why: 'nothing to do',
    ...node,
  });

  it('reports a release, with the kind of the notice that held the node and no deadline', () => {
    // Prepare
    const released = { ...nodeReport('released'), state: undefined };

    // Act
    const events = reconcileOutcomeEvents('prod', [reconciled({ step: 'release', report: released })], actor);

    // Assess
    expect(events).toEqual([
      expect.objectContaining({
        detailType: 'Node Released',
        detail: expect.objectContaining({
          outcome: 'released',
          cluster: 'prod',
          node: target.nodeName,
          kind: 'scheduled-change',
          eventId: 'health-1',
          action: 'drain',
          by: 'reconcile',
          deadline: null,
          timeLeftMs: null,
          state: null,
        }),
      }),
    ]);
  });

  it('reports a drain it ran, with its deadline', () => {
    // Prepare
    const drained = nodeReport('ended', { outcome: 'drained', pods: [pod('web-1', 'evicted')] });

    // Act
    const [event] = reconcileOutcomeEvents('prod', [reconciled({ step: 'drain', report: drained })], actor);

    // Assess
    expect(event).toMatchObject({
      detailType: 'Node Drained',
      detail: {
        by: 'reconcile',
        deadline: '2025-03-01T12:02:00.000Z',
        timeLeftMs: 60_000,
        counts: { evicted: 1 },
      },
    });
  });

  it('reports a node out of service whose record names no notice, with a null kind', () => {
    // Prepare
    const node = reconciled({ step: 'out-of-service', report: nodeReport('out-of-service') });
    delete node.heldBy;

    // Act
    const [event] = reconcileOutcomeEvents('prod', [node], actor);

    // Assess
    expect(event?.detail).toMatchObject({
      outcome: 'out-of-service',
      kind: null,
      eventId: null,
      action: null,
    });
  });

  it('puts nothing for nodes that wait, hooks completed, a failed step or a dry run', () => {
    // Prepare
    const nodes = [
      reconciled({}),
      reconciled({ step: 'complete-hooks', report: nodeReport('waiting') }),
      reconciled({ step: 'release', error: 'HTTP 409' }),
    ];

    // Act & Assess
    expect(reconcileOutcomeEvents('prod', nodes, actor)).toEqual([]);
  });
});

describe('movedNodeEvent', () => {
  const moved = (report: NodeReport) => ({
    cluster: 'prod',
    node: target.nodeName,
    instanceId: notice.instanceId,
    heldBy: { kind: NoticeKind.SpotInterruption, eventId: 'event-1', action: 'drain' as const },
    report,
  });

  it('reports a node an instance running again released, by `running`', () => {
    // Act
    const event = movedNodeEvent(moved({ ...nodeReport('released'), state: undefined }), 'running', actor);

    // Assess
    expect(event).toMatchObject({
      detailType: 'Node Released',
      detail: {
        outcome: 'released',
        cluster: 'prod',
        node: target.nodeName,
        instanceId: notice.instanceId,
        kind: 'spot-interruption',
        eventId: 'event-1',
        action: 'drain',
        by: 'running',
        podsLeft: 0,
        deadline: null,
        timeLeftMs: null,
        state: null,
        invocationId: 'request-1',
      },
    });
    expect(Object.keys(event?.detail ?? {})).toEqual(outcomeDetailFields);
  });

  it('puts nothing for a node still waiting for its kubelet', () => {
    expect(movedNodeEvent(moved(nodeReport('waiting')), 'running', actor)).toBeUndefined();
  });
});

describe('heldByOf', () => {
  it("names the notice of the node's record, and none for a node without one", () => {
    // Prepare: a record as an older version wrote it, read through its migration.
    const at = new Date(deadline).toISOString();
    const record = {
      v: 2,
      eventId: 'event-1',
      kind: 'spot-interruption',
      action: 'drain',
      state: 'drained',
      holder: 'request-0',
      renewedAt: at,
      deadline: at,
      since: at,
      updatedAt: at,
      marks: { cordoned: true, taints: [], lbLabel: false },
      hooks: [],
    };

    // Act
    const held = heldByOf({ metadata: { annotations: { [recordAnnotation]: JSON.stringify(record) } } });

    // Assess
    expect(held).toEqual({ kind: 'spot-interruption', eventId: 'event-1', action: 'drain' });
    expect(heldByOf({ metadata: {} })).toBeUndefined();
  });
});

describe('putOutcomeEvents', () => {
  const deps = (publish: OutcomePublisher['publish']) => {
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    return {
      outcomes: { publish: vi.fn(publish) },
      metrics: { ...noMetrics, outcomeEvents: vi.fn() },
      logger,
      warned: vi.spyOn(logger, 'warn'),
    };
  };

  it('counts what was put', async () => {
    // Prepare
    const d = deps(async (events) => ({ status: 'sent', sent: events.length }));

    // Act
    await putOutcomeEvents(d, [sampleOutcome(), sampleOutcome()]);

    // Assess
    expect(d.metrics.outcomeEvents).toHaveBeenCalledWith({ sent: 2, failed: 0 });
    expect(d.warned).not.toHaveBeenCalled();
  });

  it('logs and counts a failure, and resolves', async () => {
    // Prepare
    const d = deps(async () => ({
      status: 'failed',
      sent: 1,
      failed: 1,
      reason: 'entries refused: InvalidArgument',
    }));

    // Act
    await putOutcomeEvents(d, [sampleOutcome(), sampleOutcome()]);

    // Assess
    expect(d.metrics.outcomeEvents).toHaveBeenCalledWith({ sent: 1, failed: 1 });
    expect(d.warned).toHaveBeenCalledWith('outcome events failed', {
      sent: 1,
      failed: 1,
      reason: 'entries refused: InvalidArgument',
      detailTypes: ['Node Drained', 'Node Drained'],
    });
  });

  it('counts nothing when events are off, and asks nothing of no events', async () => {
    // Prepare
    const d = deps(async () => ({ status: 'disabled' }));

    // Act
    await putOutcomeEvents(d, [sampleOutcome()]);
    await putOutcomeEvents(d, []);

    // Assess
    expect(d.outcomes.publish).toHaveBeenCalledTimes(1);
    expect(d.metrics.outcomeEvents).not.toHaveBeenCalled();
  });
});
