/**
 * The transition, one input at a time: what the record becomes and what must happen to the node.
 * The six wrong outcomes of the review first (each also played on the real control plane in
 * test/integration/interruption/wrong-outcomes.test.ts), then the rest of its table.
 */
import { describe, expect, it } from 'vitest';
import type { Effect, Input, NoticeInput, Rules, Step } from '../../../src/interruption/inputs.js';
import type { InterruptionRecord, Reason } from '../../../src/interruption/record.js';
import { next } from '../../../src/interruption/transition.js';
import type { InstanceFacts, NodeFacts, World } from '../../../src/interruption/world.js';

const t = Date.parse('2026-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const minute = 60_000;
const instanceId = 'i-0123456789abcdef0';

const rules: Rules = {
  taintNode: true,
  excludeFromLoadBalancers: true,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 0,
  scheduledDrainLeadMs: 30 * minute,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 10 * minute,
  staleAfterMs: 30_000,
};

function node(change: Partial<NodeFacts> = {}): NodeFacts {
  return {
    ready: true,
    readySince: t - 86_400_000,
    bootId: 'boot-1',
    unschedulable: false,
    lbLabel: false,
    taints: [],
    instanceId,
    ...change,
  };
}

function ec2(state: string, change: Partial<InstanceFacts> = {}): InstanceFacts {
  return { state, launchTime: t - 86_400_000, autoScalingGroup: 'workers', ...change };
}

function step(world: Partial<World> = {}, now = t): Step {
  return { now, rules, world: { node: node(), instance: ec2('running'), fresh: true, ...world } };
}

function reason(change: Partial<Reason> = {}): Reason {
  return {
    kind: 'spot-interruption',
    action: 'drain',
    eventId: 'spot-1',
    detail: 'terminate',
    at: iso(t - 10 * minute),
    bootId: 'boot-1',
    deadline: iso(t - 8 * minute),
    ...change,
  };
}

function record(change: Partial<InterruptionRecord> = {}): InterruptionRecord {
  return {
    v: 3,
    state: 'drained',
    reasons: [reason()],
    deadline: iso(t - 8 * minute),
    holder: 'request-1',
    since: iso(t - 10 * minute),
    updatedAt: iso(t - 8 * minute),
    marks: {
      cordoned: true,
      taints: ['eks-spot-drainer/spot-interruption'],
      lbLabel: false,
      bootId: 'boot-1',
    },
    hooks: [],
    ...change,
  };
}

function notice(change: Partial<NoticeInput> = {}): Input {
  return {
    type: 'notice',
    holder: 'request-2',
    notice: {
      kind: 'spot-interruption',
      action: 'drain',
      eventId: 'spot-2',
      detail: 'terminate',
      eventTime: t,
      deadline: t + 2 * minute,
      message: 'a notice',
      ...change,
    },
  };
}

const look: Input = { type: 'look', holder: 'reconcile-1' };
const types = (effects: Effect[]) => effects.map((e) => e.type);
const ourTaint = { key: 'eks-spot-drainer/spot-interruption', value: 'cordoned', effect: 'NoSchedule' };
const ourOutOfService = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'eks-spot-drainer',
  effect: 'NoExecute',
};

describe('the six wrong outcomes of the review', () => {
  it.each<[string, InstanceFacts, boolean, string]>([
    ['stopping', ec2('stopping'), true, 'waiting'],
    ['shutting-down', ec2('shutting-down'), true, 'waiting'],
    [
      'stopped by hibernation',
      ec2('stopped', { stateReason: 'Client.UserInitiatedHibernate' }),
      true,
      'waiting',
    ],
    ['stopped, on a cached answer', ec2('stopped'), false, 'waiting'],
    ['stopped', ec2('stopped'), true, 'out-of-service'],
    ['terminated', ec2('terminated'), true, 'out-of-service'],
    ['unknown to it', ec2('gone'), true, 'out-of-service'],
  ])(
    '1. takes a NotReady node out of service only once EC2 confirms its machine shut down: EC2 says %s',
    (_, instance, fresh, outcome) => {
      // Act
      const result = next(record(), look, step({ node: node({ ready: false }), instance, fresh }));

      // Assess
      expect(result.outcome).toBe(outcome);
      expect(types(result.effects).includes('out-of-service')).toBe(outcome === 'out-of-service');
      if (!fresh) expect(result.recheck).toBe(true);
    },
  );

  it('2. keeps the node when Health closes its change under a Spot warning that holds it now', () => {
    // Prepare: a Health change recorded, then a Spot warning whose deadline lies ahead.
    const health = reason({
      kind: 'scheduled-change',
      eventId: 'arn:h',
      deadline: iso(t + 14 * 86_400_000),
      scheduled: {
        eventArn: 'arn:h',
        start: iso(t + 14 * 86_400_000),
        drainAt: iso(t + 14 * 86_400_000 - 30 * minute),
      },
    });
    const spot = reason({ at: iso(t - minute), deadline: iso(t + minute) });
    const closed = notice({
      kind: 'scheduled-change',
      eventId: 'h-closed',
      health: { eventArn: 'arn:h', status: 'closed' },
    });

    // Act
    const result = next(record({ reasons: [spot, health] }), closed, step());

    // Assess
    expect(result.outcome).toBe('closed');
    expect(result.record?.reasons).toEqual([spot]);
    expect(types(result.effects)).not.toContain('release');
  });

  it('3. releases a resumed hibernation: Ready again and launched after the record, with the same boot id', () => {
    // Prepare: a Spot hibernate warning 10 minutes ago; the instance resumed a minute ago.
    const r = record({ hibernation: true, reasons: [reason({ detail: 'hibernate' })] });
    const world = {
      node: node({ readySince: t - 30_000 }),
      instance: ec2('running', { launchTime: t - minute }),
    };

    // Act
    const resumed = next(r, look, step(world));
    const notYet = next(r, look, step({ ...world, node: node({ ready: false }) }));

    // Assess
    expect(resumed.outcome).toBe('released');
    expect(notYet.outcome).not.toBe('released');
  });

  it('4. changes nothing for a `stopping` EC2 has since left: the instance runs, launched after it', () => {
    // Act
    const result = next(
      undefined,
      notice({ kind: 'state-change', eventId: 'sc-1', detail: 'stopping', eventTime: t - 30 * minute }),
      step({ instance: ec2('running', { launchTime: t - 10 * minute }) }),
    );

    // Assess
    expect(result.outcome).toBe('obsolete');
    expect(result.record).toBeUndefined();
    expect(result.effects).toEqual([]);
  });

  it('5. decides a release or out-of-service only on a fresh look at the node and EC2', () => {
    // Act
    const release = next(record({ reasons: [] }), look, step({ fresh: false }));
    const outOfService = next(
      record(),
      look,
      step({ node: node({ ready: false }), instance: ec2('terminated'), fresh: false }),
    );

    // Assess
    expect(release).toMatchObject({ recheck: true, effects: [] });
    expect(outOfService).toMatchObject({ recheck: true, effects: [] });
  });

  it("6. completes only the node's own hooks, and drops those of other instances or groups", () => {
    // Prepare: a drained record whose hooks name another instance and another group.
    const own = { autoScalingGroupName: 'workers', lifecycleHookName: 'drain', instanceId };
    const hooks = [
      own,
      { ...own, instanceId: 'i-0aaaaaaaaaaaaaaaa' },
      { ...own, autoScalingGroupName: 'other' },
    ];

    // Act
    const result = next(record({ hooks, reasons: [reason({ deadline: iso(t + minute) })] }), look, step());

    // Assess
    expect(result.effects).toContainEqual({ type: 'complete-hooks', hooks: [own] });
    expect(result.record?.hooks).toEqual([own]);
  });
});

describe('a notice', () => {
  it('drains a node that carries no record, marking it in the same write', () => {
    // Act
    const result = next(undefined, notice(), step());

    // Assess
    expect(result.outcome).toBe('draining');
    expect(result.record).toMatchObject({
      state: 'draining',
      holder: 'request-2',
      marks: { cordoned: true, lbLabel: true },
    });
    expect(types(result.effects)).toEqual(['event', 'mark', 'event', 'drain']);
  });

  it('amends the record of a live holder with an earlier deadline, for it to follow', () => {
    // Prepare: an Auto Scaling drain with 10 minutes, renewed a second ago.
    const asg = reason({
      kind: 'asg-terminate',
      eventId: 'asg-1',
      at: iso(t - minute),
      deadline: iso(t + 9 * minute),
    });
    const draining = record({
      state: 'draining',
      reasons: [asg],
      deadline: asg.deadline,
      renewedAt: iso(t - 1_000),
    });

    // Act
    const result = next(draining, notice(), step());

    // Assess
    expect(result.outcome).toBe('in-progress-elsewhere');
    expect(result.record).toMatchObject({ holder: 'request-1', deadline: iso(t + 2 * minute) });
    expect(result.record?.reasons[0]?.kind).toBe('spot-interruption');
  });

  it('takes over a drain whose holder stopped renewing', () => {
    // Act
    const stale = record({
      state: 'draining',
      reasons: [reason({ deadline: iso(t + minute) })],
      renewedAt: iso(t - minute),
    });
    const result = next(stale, notice(), step());

    // Assess
    expect(result.outcome).toBe('draining');
    expect(result.record?.holder).toBe('request-2');
  });

  it('adds nothing when the same event comes again', () => {
    // Prepare
    const r = record({ reasons: [reason({ eventId: 'spot-2', deadline: iso(t + minute) })] });

    // Act
    const result = next(r, notice(), step({ node: node({ unschedulable: true, taints: [ourTaint] }) }));

    // Assess
    expect(result.outcome).toBe('already-done');
    expect(result.record).toBe(r);
  });

  it('drains a finished node again for another drain notice only while its kubelet is Ready', () => {
    // Prepare
    const r = record({ reasons: [reason({ deadline: iso(t + minute) })] });

    // Act
    const ready = next(
      r,
      notice({ kind: 'asg-terminate', eventId: 'asg-2', deadline: t + 10 * minute }),
      step(),
    );
    const notReady = next(
      r,
      notice({ kind: 'asg-terminate', eventId: 'asg-2', deadline: t + 10 * minute }),
      step({ node: node({ ready: false }), instance: ec2('running') }),
    );

    // Assess
    expect(ready.outcome).toBe('draining');
    expect(notReady.outcome).toBe('already-done');
  });

  it('records a Health change far ahead, and follows Health when it moves the start', () => {
    // Prepare
    const health = (start: number, eventId: string) =>
      notice({
        kind: 'scheduled-change',
        eventId,
        detail: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
        deadline: start,
        health: { eventArn: 'arn:h', status: 'upcoming', start },
      });

    // Act
    const first = next(undefined, health(t + 14 * 86_400_000, 'h-1'), step());
    const moved = next(first.record, health(t + 7 * 86_400_000, 'h-2'), step());

    // Assess
    expect(first).toMatchObject({
      outcome: 'scheduled',
      record: { state: 'scheduled', marks: { cordoned: false } },
    });
    expect(moved.record?.reasons[0]?.scheduled?.start).toBe(iso(t + 7 * 86_400_000));
    expect(moved.record?.reasons).toHaveLength(1);
  });
});

describe('a look at the world', () => {
  it('releases a node nothing holds any more, removing what the node vouches for', () => {
    // Act
    const result = next(record(), look, step({ node: node({ unschedulable: true, taints: [ourTaint] }) }));

    // Assess
    expect(result).toMatchObject({ outcome: 'released', record: undefined });
    expect(types(result.effects)).toEqual(['release', 'event']);
  });

  it('keeps a rebalance cordon (by choice) until its TTL passes', () => {
    // Prepare
    const r = record({
      state: 'cordoned',
      reasons: [reason({ kind: 'rebalance-recommendation', action: 'cordon' })],
    });

    // Act
    const kept = next(r, look, step());
    const lifted = next(r, look, { ...step(), rules: { ...rules, rebalanceCordonTtlMs: 5 * minute } });

    // Assess
    expect(kept.outcome).toBe('waiting');
    expect(lifted.outcome).toBe('released');
  });

  it('lifts out-of-service from a machine back while a Health change it was drained for is still ahead', () => {
    // Prepare: drained for a Health change that starts in 10 minutes, taken out of service while
    // stopped, and started again since.
    const start = t + 10 * minute;
    const change = reason({
      kind: 'scheduled-change',
      eventId: 'arn:h',
      deadline: iso(start),
      scheduled: { eventArn: 'arn:h', start: iso(start), drainAt: iso(start - 30 * minute) },
    });
    const r = record({ state: 'out-of-service', reasons: [change] });
    const world = {
      node: node({
        unschedulable: true,
        taints: [ourTaint, ourOutOfService],
        readySince: t - 1_000,
        bootId: 'boot-2',
      }),
      instance: ec2('running', { launchTime: t - 5_000 }),
    };

    // Act
    const result = next(r, look, step(world));

    // Assess: the taint goes, the cordon stays, and the change is drained again (it is due)
    expect(types(result.effects)).toContain('lift-out-of-service');
    expect(result).toMatchObject({ again: true, record: { state: 'cordoned', marks: { cordoned: true } } });
  });

  it('releases a node whose instance EC2 started again after its Spot warning, before the deadline', () => {
    // Prepare
    const r = record({ state: 'out-of-service', reasons: [reason({ deadline: iso(t + minute) })] });
    const world = {
      node: node({
        unschedulable: true,
        taints: [ourTaint, ourOutOfService],
        readySince: t - 1_000,
        bootId: 'boot-2',
      }),
      instance: ec2('running', { launchTime: t - 5_000 }),
    };

    // Act
    const result = next(r, look, step(world));

    // Assess
    expect(result).toMatchObject({ outcome: 'released', record: undefined });
  });

  it('keeps a Spot warning open across a reboot EC2 did not see, until its deadline', () => {
    // Prepare
    const r = record({ reasons: [reason({ at: iso(t - minute), deadline: iso(t + minute) })] });
    const rebooted = {
      node: node({ unschedulable: true, taints: [ourTaint], readySince: t - 1_000, bootId: 'boot-2' }),
    };

    // Act
    const result = next(r, look, step(rebooted));

    // Assess
    expect(result.outcome).toBe('waiting');
  });

  it('drains a recorded Health change when it is due, until its start', () => {
    // Prepare
    const start = t + 20 * minute;
    const change = reason({
      kind: 'scheduled-change',
      eventId: 'arn:h',
      deadline: iso(start),
      scheduled: { eventArn: 'arn:h', start: iso(start), drainAt: iso(start - 30 * minute) },
    });

    // Act
    const result = next(record({ state: 'scheduled', reasons: [change] }), look, step());

    // Assess
    expect(result.outcome).toBe('draining');
    expect(result.effects).toContainEqual(expect.objectContaining({ type: 'drain', deadline: start }));
  });

  it('ends an abandoned drain of an instance that is leaving, and completes its hooks', () => {
    // Prepare
    const hook = { autoScalingGroupName: 'workers', lifecycleHookName: 'drain', instanceId };
    const stale = record({
      state: 'draining',
      hooks: [hook],
      reasons: [reason({ kind: 'asg-terminate', deadline: iso(t + 5 * minute) })],
      renewedAt: iso(t - minute),
    });

    // Act
    const result = next(stale, look, step({ instance: ec2('stopping') }));

    // Assess
    expect(result.record?.state).toBe('incomplete');
    expect(result.effects).toContainEqual({ type: 'complete-hooks', hooks: [hook] });
  });
});

describe("a holder's inputs", () => {
  it('renews only its own drain, and ends it with the hooks recorded by then', () => {
    // Prepare
    const hook = { autoScalingGroupName: 'workers', lifecycleHookName: 'drain', instanceId };
    const draining = record({
      state: 'draining',
      holder: 'request-1',
      renewedAt: iso(t - 5_000),
      hooks: [hook],
    });

    // Act
    const renewed = next(draining, { type: 'renew', holder: 'request-1' }, step());
    const someoneElse = next(draining, { type: 'renew', holder: 'request-9' }, step());
    const ended = next(draining, { type: 'drain-ended', holder: 'request-1', outcome: 'drained' }, step());

    // Assess
    expect(renewed.record?.renewedAt).toBe(iso(t));
    expect(someoneElse.outcome).toBe('lost');
    expect(ended.record).toMatchObject({ state: 'drained' });
    expect(ended.effects).toEqual([{ type: 'complete-hooks', hooks: [hook] }]);
  });
});

describe('a drain handed off', () => {
  const hook = { autoScalingGroupName: 'workers', lifecycleHookName: 'drain', instanceId };
  const draining = record({
    state: 'draining',
    reasons: [reason({ kind: 'asg-terminate', eventId: 'asg-1', deadline: iso(t + 60 * minute) })],
    deadline: iso(t + 60 * minute),
    renewedAt: iso(t - 1_000),
    hooks: [hook],
  });

  it('stays draining, marked handed off, and asks a fresh invocation to look', () => {
    // Act
    const handed = next(draining, { type: 'hand-off', holder: 'request-1' }, step());
    const someoneElse = next(draining, { type: 'hand-off', holder: 'request-9' }, step());

    // Assess
    expect(handed.outcome).toBe('handed-off');
    expect(handed.record).toMatchObject({ state: 'draining', holder: 'request-1', handedOffAt: iso(t) });
    expect(handed.record?.renewedAt).toBeUndefined();
    expect(handed.record?.hooks).toEqual([hook]);
    expect(handed.effects).toEqual([{ type: 'continue-elsewhere' }]);
    expect(someoneElse.outcome).toBe('lost');
    expect(someoneElse.effects).toEqual([]);
  });

  it('is taken over by the next look at once, with the same deadline, the hand-off forgotten', () => {
    // Prepare
    const handed = next(draining, { type: 'hand-off', holder: 'request-1' }, step()).record;

    // Act: a second later, well within the 30 s a live holder's record is left alone.
    const taken = next(handed, look, step({}, t + 1_000));

    // Assess
    expect(taken.outcome).toBe('draining');
    expect(taken.record).toMatchObject({ holder: 'reconcile-1', deadline: iso(t + 60 * minute) });
    expect(taken.record?.handedOffAt).toBeUndefined();
    expect(taken.effects).toContainEqual(
      expect.objectContaining({ type: 'drain', deadline: t + 60 * minute }),
    );
  });

  it('keeps the deadline of a drain under way when a notice takes it over', () => {
    // Prepare: a maintenance window that began gives a fresh drain a fresh budget, not a taken-over one.
    const started = record({
      state: 'draining',
      reasons: [
        reason({
          kind: 'scheduled-change',
          eventId: 'health-1',
          deadline: iso(t - minute),
          scheduled: {
            eventArn: 'arn:aws:health:us-east-1::event/EC2/A',
            start: iso(t - minute),
            drainAt: iso(t - 2 * minute),
          },
        }),
      ],
      deadline: iso(t + 5 * minute),
      handedOffAt: iso(t - 1_000),
    });

    // Act
    const taken = next(started, look, step());

    // Assess
    expect(taken.outcome).toBe('draining');
    expect(taken.record?.deadline).toBe(iso(t + 5 * minute));
  });

  it('is forgotten by whatever ends the drain', () => {
    // Prepare
    const handed = next(draining, { type: 'hand-off', holder: 'request-1' }, step()).record;

    // Act: the instance is gone for good, its kubelet stopped.
    const gone = next(handed, look, step({ node: node({ ready: false }), instance: ec2('terminated') }));

    // Assess
    expect(gone.record?.state).toBe('out-of-service');
    expect(gone.record?.handedOffAt).toBeUndefined();
  });
});
