import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  type DrainLease,
  decideLease,
  type LeaseRequest,
  labelValue,
  leaseAnnotation,
  type NodeFacts,
  readLease,
} from '../../../src/drain/lease.js';
import { Action, NoticeKind } from '../../../src/types.js';

const now = Date.parse('2025-06-05T07:00:30Z');
const eventId = '1e5527d7-bb36-4607-3370-4164db56a40e';
const arn = 'arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/abc';
const hook = {
  autoScalingGroupName: 'workers',
  lifecycleHookName: 'drain',
  instanceId: 'i-0123456789abcdef0',
};

/** A lease another invocation holds, draining, renewed 5 s ago; `change` edits a copy. */
function lease(change: Partial<DrainLease> = {}): DrainLease {
  return {
    v: 2,
    eventId,
    kind: NoticeKind.SpotInterruption,
    action: Action.Drain,
    state: 'draining',
    holder: 'request-a',
    renewedAt: '2025-06-05T07:00:25.000Z',
    deadline: '2025-06-05T07:02:00.000Z',
    since: '2025-06-05T07:00:05.000Z',
    updatedAt: '2025-06-05T07:00:05.000Z',
    marks: { cordoned: true, taints: ['eks-spot-drainer/spot-interruption'], lbLabel: true },
    hooks: [],
    ...change,
  };
}

function request(change: Partial<LeaseRequest> = {}): LeaseRequest {
  return {
    eventId,
    kind: NoticeKind.SpotInterruption,
    action: Action.Drain,
    holder: 'request-b',
    deadline: Date.parse('2025-06-05T07:02:00Z'),
    ...change,
  };
}

const schedulable: NodeFacts = { unschedulable: false, lbLabel: false, bootId: 'boot-1' };
const scheduled = { eventArn: arn, start: '2025-06-19T07:00:00.000Z', drainAt: '2025-06-19T06:30:00.000Z' };

describe('decideLease', () => {
  const cases: {
    name: string;
    existing: DrainLease | undefined;
    request: LeaseRequest;
    take: boolean;
    why: string;
  }[] = [
    { name: 'takes a node without a lease', existing: undefined, request: request(), take: true, why: 'new' },
    {
      name: 'lets the holder take its own lease again (Lambda retry of the same invocation)',
      existing: lease({ holder: 'request-b' }),
      request: request(),
      take: true,
      why: 'retry',
    },
    {
      name: 'retries after a failed drain held by someone else',
      existing: lease({ state: 'failed' }),
      request: request(),
      take: true,
      why: 'retry',
    },
    {
      name: 'takes over a draining lease its holder stopped renewing',
      existing: lease({ renewedAt: '2025-06-05T06:59:59.999Z' }),
      request: request(),
      take: true,
      why: 'takeover',
    },
    {
      name: 'does not take over a lease renewed exactly the stale time (30 s) ago',
      existing: lease({ renewedAt: '2025-06-05T07:00:00.000Z' }),
      request: request(),
      take: false,
      why: 'in-progress-elsewhere',
    },
    {
      name: 'upgrades a cordon to a drain',
      existing: lease({ action: Action.Cordon, state: 'cordoned', kind: NoticeKind.RebalanceRecommendation }),
      request: request({ eventId: 'spot-after-rebalance' }),
      take: true,
      why: 'upgrade',
    },
    {
      name: 'leaves a live drain in progress elsewhere alone',
      existing: lease(),
      request: request(),
      take: false,
      why: 'in-progress-elsewhere',
    },
    {
      name: 'leaves a live drain alone when a cordon arrives',
      existing: lease(),
      request: request({ action: Action.Cordon, eventId: 'rebalance' }),
      take: false,
      why: 'in-progress-elsewhere',
    },
    {
      name: 'treats the same event after a finished drain as a duplicate delivery',
      existing: lease({ state: 'drained' }),
      request: request(),
      take: false,
      why: 'already-done',
    },
    {
      name: 'does nothing for a cordon after a finished drain',
      existing: lease({ state: 'drained' }),
      request: request({
        action: Action.Cordon,
        eventId: 'rebalance',
        kind: NoticeKind.RebalanceRecommendation,
      }),
      take: false,
      why: 'already-done',
    },
    {
      name: 'does nothing for a second cordon of another event',
      existing: lease({ action: Action.Cordon, state: 'cordoned' }),
      request: request({ action: Action.Cordon, eventId: 'rebalance-2' }),
      take: false,
      why: 'already-done',
    },
    {
      name: 'drains again for a new drain event after a finished drain',
      existing: lease({ state: 'drained' }),
      request: request({ eventId: 'asg-hook', kind: NoticeKind.AsgTerminate }),
      take: true,
      why: 'redrain',
    },
    {
      name: 'never drains a finished Health change again when Health republishes it',
      existing: lease({ state: 'drained', kind: NoticeKind.ScheduledChange, scheduled }),
      request: request({ eventId: 'republished', kind: NoticeKind.ScheduledChange, scheduled }),
      take: false,
      why: 'already-done',
    },
    {
      name: 'records a scheduled change far ahead without draining',
      existing: undefined,
      request: request({ kind: NoticeKind.ScheduledChange, scheduled, recordOnly: { cordon: false } }),
      take: true,
      why: 'new',
    },
    {
      name: 'keeps a recorded change recorded when Health republishes it',
      existing: lease({ state: 'scheduled', kind: NoticeKind.ScheduledChange, scheduled }),
      request: request({
        eventId: 'republished',
        kind: NoticeKind.ScheduledChange,
        scheduled,
        recordOnly: { cordon: false },
      }),
      take: false,
      why: 'scheduled',
    },
    {
      name: 'drains a recorded change when it is due',
      existing: lease({ state: 'scheduled', kind: NoticeKind.ScheduledChange, scheduled }),
      request: request({ eventId: 'republished', kind: NoticeKind.ScheduledChange, scheduled }),
      take: true,
      why: 'due',
    },
    {
      name: 'cordons a node with a recorded change for a rebalance recommendation',
      existing: lease({ state: 'scheduled', kind: NoticeKind.ScheduledChange, scheduled }),
      request: request({
        eventId: 'rebalance',
        kind: NoticeKind.RebalanceRecommendation,
        action: Action.Cordon,
      }),
      take: true,
      why: 'upgrade',
    },
    {
      name: 'leaves an out-of-service node alone',
      existing: lease({ state: 'out-of-service' }),
      request: request({ eventId: 'terminated' }),
      take: false,
      why: 'out-of-service',
    },
  ];

  it.each(cases)('$name', ({ existing, request: input, take, why }) => {
    // Act
    const decision = decideLease(existing, input, schedulable, now);

    // Assess
    expect(decision.take).toBe(take);
    expect(decision.why).toBe(why);
  });

  it("amends a live drain with an earlier deadline and the notice's hook, for its holder to learn", () => {
    // Prepare: an ASG drain with a 600 s budget; a Spot warning arrives.
    const existing = lease({
      kind: NoticeKind.AsgTerminate,
      deadline: '2025-06-05T07:10:00.000Z',
      hooks: [hook],
    });

    // Act
    const decision = decideLease(
      existing,
      request({ eventId: 'spot', deadline: Date.parse('2025-06-05T07:02:00Z') }),
      schedulable,
      now,
    );

    // Assess
    expect(decision).toMatchObject({ take: false, why: 'in-progress-elsewhere', changed: true });
    expect(decision.lease.deadline).toBe('2025-06-05T07:02:00.000Z');
    expect(decision.lease.holder).toBe('request-a');
    expect(decision.lease.hooks).toEqual([hook]);
  });

  it('never moves a deadline later', () => {
    // Act
    const decision = decideLease(
      lease(),
      request({ eventId: 'asg', deadline: now + 600_000 }),
      schedulable,
      now,
    );

    // Assess
    expect(decision).toMatchObject({ take: false, changed: false });
    expect(decision.lease.deadline).toBe('2025-06-05T07:02:00.000Z');
  });

  it('records a hook on a live drain once, however often it is delivered', () => {
    // Prepare
    const once = decideLease(lease(), request({ eventId: 'asg', hook }), schedulable, now).lease;

    // Act
    const twice = decideLease(once, request({ eventId: 'asg', hook }), schedulable, now);

    // Assess
    expect(twice).toMatchObject({ changed: false });
    expect(twice.lease.hooks).toEqual([hook]);
  });

  it('follows a republished change whose start moved', () => {
    // Prepare
    const existing = lease({ state: 'scheduled', kind: NoticeKind.ScheduledChange, scheduled });
    const moved = { ...scheduled, start: '2025-06-26T07:00:00.000Z', drainAt: '2025-06-26T06:30:00.000Z' };

    // Act
    const decision = decideLease(
      existing,
      request({ kind: NoticeKind.ScheduledChange, scheduled: moved, recordOnly: { cordon: false } }),
      schedulable,
      now,
    );

    // Assess
    expect(decision).toMatchObject({ take: false, why: 'scheduled', changed: true });
    expect(decision.lease.scheduled).toEqual(moved);
  });

  it('gives a takeover the holder, a fresh renewal and the earlier of the two deadlines', () => {
    // Act
    const decision = decideLease(
      lease({ renewedAt: '2025-06-05T06:59:00.000Z', deadline: '2025-06-05T07:01:30.000Z' }),
      request(),
      schedulable,
      now,
    );

    // Assess
    expect(decision).toMatchObject({ take: true, why: 'takeover' });
    expect(decision.lease).toMatchObject({
      holder: 'request-b',
      renewedAt: '2025-06-05T07:00:30.000Z',
      deadline: '2025-06-05T07:01:30.000Z',
      state: 'draining',
    });
  });

  it('notes the boot id of a new node, so the reconcile can tell when it booted again', () => {
    // Act
    const decision = decideLease(undefined, request(), schedulable, now);

    // Assess
    expect(decision.lease.marks).toEqual({ cordoned: false, taints: [], lbLabel: false, bootId: 'boot-1' });
  });
});

describe('readLease', () => {
  const nodeWith = (annotation: string | undefined): k8s.V1Node => ({
    metadata: { name: 'n', annotations: annotation === undefined ? {} : { [leaseAnnotation]: annotation } },
  });

  it('reads a lease written as JSON', () => {
    // Prepare
    const written = lease();

    // Act
    const read = readLease(nodeWith(JSON.stringify(written)));

    // Assess
    expect(read).toEqual(written);
  });

  it.each([
    ['no annotation', undefined],
    ['an empty annotation', ''],
    ['garbage', 'not json {'],
    ['JSON null', 'null'],
    ['a number', '42'],
    ['an object without eventId', JSON.stringify({ state: 'drained' })],
    ['an object without state', JSON.stringify({ eventId })],
    ['an eventId that is not a string', JSON.stringify({ eventId: 7, state: 'drained' })],
  ])('treats %s as no lease', (_, annotation) => {
    // Act
    const read = readLease(nodeWith(annotation));

    // Assess
    expect(read).toBeUndefined();
  });

  it('reads a lease written before the record grew its fields, assuming the node was schedulable', () => {
    // Prepare
    const old = {
      eventId,
      kind: 'spot-interruption',
      action: 'drain',
      state: 'drained',
      holder: 'request-a',
      deadline: '2025-06-05T07:02:00.000Z',
      expiresAt: '2025-06-05T07:02:30.000Z',
      updatedAt: '2025-06-05T07:01:00.000Z',
    };

    // Act
    const read = readLease(nodeWith(JSON.stringify(old)));

    // Assess
    expect(read).toMatchObject({
      v: 2,
      state: 'drained',
      marks: { cordoned: true, taints: ['eks-spot-drainer/spot-interruption'], lbLabel: true },
      hooks: [],
    });
  });

  it('reads a node without metadata as having no lease', () => {
    // Act + Assess
    expect(readLease({})).toBeUndefined();
  });
});

describe('labelValue', () => {
  it.each([
    ['keeps a UUID', eventId, eventId],
    ['keeps dots, dashes and underscores inside', 'a.b_c-d', 'a.b_c-d'],
    ['replaces illegal characters', 'event id/with:colons', 'event-id-with-colons'],
    ['trims leading and trailing non-alphanumerics', '--_.abc.-_', 'abc'],
    ['trims what replacement left at the ends', '/abc/', 'abc'],
    ['falls back to unknown for an empty string', '', 'unknown'],
    ['falls back to unknown when nothing alphanumeric remains', '//..--', 'unknown'],
    ['replaces non-ASCII letters', 'évènement', 'v-nement'],
  ])('%s', (_, input, expected) => {
    // Act
    const value = labelValue(input);

    // Assess
    expect(value).toBe(expected);
  });

  it('caps the value at 63 characters', () => {
    // Prepare
    const long = 'a'.repeat(100);

    // Act
    const value = labelValue(long);

    // Assess
    expect(value).toBe('a'.repeat(63));
  });

  it('trims a trailing dash that the 63-character cut exposed', () => {
    // Prepare: the 63rd character is an illegal one, replaced by a dash.
    const input = `${'b'.repeat(62)}/tail`;

    // Act
    const value = labelValue(input);

    // Assess
    expect(value).toBe('b'.repeat(62));
    expect(value).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
  });
});
