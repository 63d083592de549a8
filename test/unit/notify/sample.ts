import {
  type OutcomeDetail,
  OutcomeDetailType,
  type OutcomeEvent,
  outcomeSchemaVersion,
} from '../../../src/notify/outcome-events.js';
import type { DrainInfo, DrainSummary } from '../../../src/notify/types.js';
import { NoticeKind } from '../../../src/types.js';

/** The drain every notification (and outcome event) test speaks of: a Spot warning for one node of `prod-a`. */
export const sampleInfo: DrainInfo = {
  clusterName: 'prod-a',
  nodeName: 'ip-10-0-1-5.ec2.internal',
  instanceId: 'i-0123456789abcdef0',
  kind: NoticeKind.SpotInterruption,
  eventId: 'a1b2c3d4-0000-4000-8000-000000000001',
  deadline: new Date('2025-03-01T12:02:00Z'),
};

/** A drain that evicted 4 pods in 9 s with 80 s to spare, with what a test changes. */
export function sampleSummary(changes: Partial<DrainSummary> = {}): DrainSummary {
  return {
    outcome: 'drained',
    evicted: 4,
    skipped: 2,
    blocked: 0,
    failed: 0,
    durationMs: 9_000,
    timeLeftMs: 80_000,
    ...changes,
  };
}

/** The outcome event of that drain, as the app builds it, with what a test changes. */
export function sampleOutcome(changes: Partial<OutcomeDetail> = {}): OutcomeEvent {
  return {
    detailType: OutcomeDetailType.Drained,
    time: new Date('2025-03-01T12:00:40Z'),
    detail: {
      schemaVersion: outcomeSchemaVersion,
      outcome: 'drained',
      cluster: sampleInfo.clusterName,
      node: sampleInfo.nodeName,
      instanceId: sampleInfo.instanceId,
      kind: sampleInfo.kind,
      eventId: sampleInfo.eventId,
      action: 'drain',
      by: 'notice',
      counts: { evicted: 4, skipped: 2, blocked: 0, failed: 0, forceDeleted: 0 },
      podsLeft: 0,
      leftBehind: [],
      deadline: '2025-03-01T12:02:00.000Z',
      timeLeftMs: 80_000,
      state: 'drained',
      why: 'every evictable pod is gone',
      reason: null,
      invocationId: 'c0ffee00-0000-4000-8000-000000000001',
      ...changes,
    },
  };
}
