/**
 * The disruption budget in the transition: which drains wait for a place, which never do, and how a
 * waiting node moves on. The count and its lock are the door's (test/integration/interruption/
 * disruption-budget.test.ts plays them on a real control plane).
 */
import { describe, expect, it } from 'vitest';
import { type Budget, budgetLimit, parseBudgetSpec } from '../../../src/interruption/budget.js';
import type { NoticeInput, Rules, Step } from '../../../src/interruption/inputs.js';
import type { InterruptionRecord } from '../../../src/interruption/record.js';
import { next } from '../../../src/interruption/transition.js';
import type { World } from '../../../src/interruption/world.js';

const t = Date.parse('2026-06-01T12:00:00Z');
const minute = 60_000;
const instanceId = 'i-0123456789abcdef0';

const rules: Rules = {
  taintNode: true,
  excludeFromLoadBalancers: false,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 0,
  scheduledDrainLeadMs: 30 * minute,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 10 * minute,
  staleAfterMs: 30_000,
  disruptionBudget: { count: 3 },
};

function step(budget?: Budget, now = t): Step {
  const world: World = {
    node: {
      ready: true,
      readySince: t - 86_400_000,
      bootId: 'boot-1',
      unschedulable: false,
      lbLabel: false,
      taints: [],
      instanceId,
    },
    instance: { state: 'running', launchTime: t - 86_400_000 },
    fresh: true,
    ...(budget ? { budget } : {}),
  };
  return { now, rules, world };
}

/** A Health change starting `startIn` from now (due once within the 30 min lead). */
function health(startIn: number, id = 'health-1'): NoticeInput {
  return {
    kind: 'scheduled-change',
    action: 'drain',
    eventId: id,
    eventTime: t - minute,
    deadline: t + startIn,
    health: { eventArn: `arn:aws:health:us-east-1::event/EC2/${id}`, status: 'upcoming', start: t + startIn },
    message: 'a Health change',
  };
}

const rebalance: NoticeInput = {
  kind: 'rebalance-recommendation',
  action: 'cordon',
  eventId: 'rebalance-1',
  eventTime: t - 1_000,
  deadline: t + 10 * minute,
  message: 'a rebalance recommendation',
};

const spot: NoticeInput = {
  kind: 'spot-interruption',
  action: 'drain',
  eventId: 'spot-1',
  detail: 'terminate',
  eventTime: t - 1_000,
  deadline: t + 119_000,
  message: 'a Spot interruption warning',
};

const full: Budget = { inUse: 3, limit: 3, waiting: [] };
const room: Budget = { inUse: 2, limit: 3, waiting: [] };
const notice = (n: NoticeInput) => ({ type: 'notice' as const, holder: 'request-1', notice: n });
const look = { type: 'look' as const, holder: 'reconcile-1' };

/** The record a voluntary notice leaves while the budget is full. */
function waitingFor(n: NoticeInput): InterruptionRecord {
  const waited = next(undefined, notice(n), step(full)).record;
  expect(waited?.state).toBe('waiting');
  return waited!;
}

describe('parseBudgetSpec and budgetLimit', () => {
  it('reads a count, a percentage or none, and refuses anything else', () => {
    expect(parseBudgetSpec('3')).toEqual({ count: 3 });
    expect(parseBudgetSpec('10%')).toEqual({ percent: 10 });
    expect(parseBudgetSpec(' None ')).toBeUndefined();
    for (const bad of ['0', '0%', '101%', '-1', '1.5', '10 %', 'ten'])
      expect(parseBudgetSpec(bad)).toBe('invalid');
  });

  it('rounds a percentage up, as Karpenter does, and allows at least one node', () => {
    expect(budgetLimit({ percent: 10 }, 30)).toBe(3);
    expect(budgetLimit({ percent: 10 }, 31)).toBe(4);
    expect(budgetLimit({ percent: 10 }, 0)).toBe(1);
    expect(budgetLimit({ count: 5 }, 2)).toBe(5);
  });
});

describe('the disruption budget in the transition', () => {
  it('asks the door to count before a voluntary drain, and writes nothing until it has', () => {
    const asked = next(undefined, notice(health(20 * minute)), step());

    expect(asked.budget).toBe(true);
    expect(asked.record).toBeUndefined();
  });

  it('drains a due Health change while the budget has a place', () => {
    const admitted = next(undefined, notice(health(20 * minute)), step(room));

    expect(admitted.record?.state).toBe('draining');
    expect(admitted.effects.map((e) => e.type)).toEqual(['event', 'mark', 'event', 'drain']);
  });

  it('records a due Health change unmarked, waiting, while the budget is in use', () => {
    const waited = next(undefined, notice(health(20 * minute)), step(full));

    expect(waited.outcome).toBe('waiting');
    expect(waited.record).toMatchObject({ state: 'waiting', marks: { cordoned: false, taints: [] } });
    expect(waited.effects.filter((e) => e.type !== 'event')).toEqual([]);
    expect(waited.effects.map((e) => e.type === 'event' && e.reason)).toContain('WaitingForBudget');
  });

  it('never delays a Spot warning: it drains a waiting node at once, budget or not', () => {
    const waiting = waitingFor(health(20 * minute));

    const spotted = next(waiting, notice(spot), step(full));

    expect(spotted.budget).toBeUndefined();
    expect(spotted.record?.state).toBe('draining');
  });

  it('moves a waiting node on when a look finds a place, and leaves it when none is free', () => {
    const waiting = waitingFor(health(20 * minute));

    expect(next(waiting, look, step()).budget).toBe(true);
    expect(next(waiting, look, step(full))).toMatchObject({ record: waiting, outcome: 'waiting' });
    expect(next(waiting, look, step(room)).record?.state).toBe('draining');
  });

  it('gives a free place to the node waiting with the earliest deadline first', () => {
    const waiting = waitingFor(health(20 * minute));
    const onePlace = (ahead: number): Budget => ({ inUse: 2, limit: 3, waiting: [t + ahead] });

    // Another node waits for a change starting sooner: it takes the one place; this one waits on.
    expect(next(waiting, look, step(onePlace(15 * minute))).record?.state).toBe('waiting');
    expect(next(waiting, look, step(onePlace(25 * minute))).record?.state).toBe('draining');
  });

  it('waits no longer once the change is one drain from its start: pods must be gone before it', () => {
    const waiting = waitingFor(health(20 * minute));

    // DRAIN_TIMEOUT (10 min) before the start.
    const late = next(waiting, look, step(full, t + 10 * minute));

    expect(late.record?.state).toBe('draining');
  });

  it('puts a rebalance cordon in the budget too, and cordons it when a place frees', () => {
    const waiting = waitingFor(rebalance);

    const cordoned = next(waiting, look, step(room));

    expect(cordoned.record?.state).toBe('cordoned');
    expect(cordoned.effects.map((e) => e.type)).toEqual(['mark', 'event']);
  });

  it('takes no new place for a node that holds one already (cordoned by a rebalance, now a Health change)', () => {
    const cordoned = next(undefined, notice(rebalance), step(room)).record!;

    const drained = next(cordoned, notice(health(20 * minute)), step(full));

    expect(drained.record?.state).toBe('draining');
  });

  it('tells the drain whether it is voluntary: pods that ask not to be disrupted stay only then', () => {
    const drainOf = (n: NoticeInput, now = t) =>
      next(undefined, notice(n), step(room, now)).effects.find((e) => e.type === 'drain');

    expect(drainOf(health(20 * minute))).toMatchObject({ voluntary: true });
    expect(drainOf(health(9 * minute))).toMatchObject({ voluntary: false });
    expect(drainOf(spot)).toMatchObject({ voluntary: false });
  });

  it('counts nothing without a budget', () => {
    const unbounded = { ...step(), rules: { ...rules, disruptionBudget: undefined } };

    expect(next(undefined, notice(health(20 * minute)), unbounded).record?.state).toBe('draining');
  });
});
