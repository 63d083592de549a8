import { describe, expect, it } from 'vitest';
import type { ScheduledEvent } from '../../../src/aws/scheduled-events.js';
import { heldBackDueChange } from '../../../src/interruption/recheck-scheduled.js';
import { type InterruptionRecord, type Reason, recordAnnotation } from '../../../src/interruption/record.js';
import { eksNode } from '../../support/fake-kube.js';

const instanceId = 'i-0123456789abcdef0';
const start = new Date('2026-12-16T10:00:00Z');
const drainAt = new Date(start.getTime() - 30 * 60_000);
const now = drainAt.getTime() + 60_000;
const call = { deadline: now + 60_000 };

const health: Reason = {
  kind: 'scheduled-change',
  action: 'drain',
  eventId: 'e-health',
  detail: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
  at: '2026-12-02T10:00:00Z',
  deadline: start.toISOString(),
  scheduled: {
    eventArn: 'arn:aws:health:us-east-1::event/EC2/x/y',
    start: start.toISOString(),
    drainAt: drainAt.toISOString(),
  },
};
const spot: Reason = {
  kind: 'spot-interruption',
  action: 'drain',
  eventId: 'e-spot',
  at: '2026-12-16T09:30:00Z',
  deadline: start.toISOString(),
};

function nodeWith(reasons: Reason[]) {
  const record: InterruptionRecord = {
    v: 3,
    state: 'scheduled',
    reasons,
    deadline: start.toISOString(),
    since: '2026-12-02T10:00:00Z',
    updatedAt: '2026-12-02T10:00:00Z',
    marks: { cordoned: false, taints: [], lbLabel: false },
    hooks: [],
  };
  return eksNode('ip-10-0-0-1.ec2.internal', instanceId, {
    annotations: { [recordAnnotation]: JSON.stringify(record) },
  });
}

/** EC2 listing `events` for the instance, counting the calls. */
function ec2Listing(events: ScheduledEvent[]) {
  const calls: string[][] = [];
  const source = async (ids: string[]) => {
    calls.push(ids);
    return new Map([[instanceId, events]]);
  };
  return { source, calls };
}

describe('heldBackDueChange', () => {
  it('lets the drain go ahead while EC2 lists the change', async () => {
    const ec2 = ec2Listing([{ code: 'instance-retirement', notBefore: start }]);
    expect(await heldBackDueChange(nodeWith([health]), ec2.source, now, call)).toBeUndefined();
    expect(ec2.calls).toEqual([[instanceId]]);
  });

  it('holds the drain back when EC2 no longer lists it', async () => {
    const ec2 = ec2Listing([
      { code: 'instance-retirement', notBefore: start, description: '[Canceled] gone' },
    ]);
    expect(await heldBackDueChange(nodeWith([health]), ec2.source, now, call)).toMatchObject({
      reason: 'no-scheduled-event',
    });
  });

  it('does not ask when another kind of notice holds the node too', async () => {
    const ec2 = ec2Listing([]);
    expect(await heldBackDueChange(nodeWith([spot, health]), ec2.source, now, call)).toBeUndefined();
    expect(ec2.calls).toEqual([]);
  });

  it('does not ask before the change is due', async () => {
    const ec2 = ec2Listing([]);
    expect(
      await heldBackDueChange(nodeWith([health]), ec2.source, drainAt.getTime() - 1, call),
    ).toBeUndefined();
    expect(ec2.calls).toEqual([]);
  });
});
