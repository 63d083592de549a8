import { describe, expect, it } from 'vitest';
import { defaultLifecycleConfig, type LifecycleConfig } from '../../../src/config.js';
import type { DrainLease } from '../../../src/drain/lease.js';
import {
  cameBack,
  type DecideInput,
  decideStep,
  type InstanceView,
  type NodeView,
} from '../../../src/lifecycle/decide.js';
import { Action, NoticeKind } from '../../../src/types.js';

const now = Date.parse('2025-06-05T12:00:00Z');
const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function lease(change: Partial<DrainLease> = {}): DrainLease {
  return {
    v: 2,
    state: 'drained',
    kind: NoticeKind.SpotInterruption,
    action: Action.Drain,
    eventId: 'e-1',
    detail: 'stop',
    deadline: iso(now - hour + 120_000),
    since: iso(now - hour),
    updatedAt: iso(now - hour),
    marks: {
      cordoned: true,
      taints: ['eks-spot-drainer/spot-interruption'],
      lbLabel: true,
      bootId: 'boot-1',
    },
    hooks: [],
    ...change,
  };
}

const ready: NodeView = {
  ready: true,
  bootId: 'boot-1',
  readySince: now - 2 * hour,
  outOfServiceTainted: false,
};
const rebooted: NodeView = { ...ready, bootId: 'boot-2' };
const notReady: NodeView = { ...ready, ready: false };
const running: InstanceView = { state: 'running' };

function input(change: Partial<DecideInput> = {}, config: Partial<LifecycleConfig> = {}): DecideInput {
  return {
    lease: lease(),
    node: ready,
    instance: running,
    now,
    config: { ...defaultLifecycleConfig, ...config },
    timing: { staleAfterMs: 20_000 },
    noDeadlineBudgetMs: 600_000,
    ...change,
  };
}

const hook = { autoScalingGroupName: 'g', lifecycleHookName: 'h', instanceId: 'i-0123456789abcdef0' };
const schedule = {
  eventArn: 'arn:aws:health:us-east-1::event/EC2/X/1',
  start: iso(now + hour),
  drainAt: iso(now - 60_000),
};

describe('decideStep', () => {
  it.each([
    [
      'releases a Spot stop whose instance came back (new boot id, Ready, running)',
      input({ node: rebooted }),
      'release',
    ],
    ['waits while the stopped instance has not booted again', input(), 'wait'],
    [
      'waits while EC2 still says it is stopping',
      input({ node: rebooted, instance: { state: 'stopping' } }),
      'wait',
    ],
    [
      'frees the pods of a stopped instance whose kubelet stopped',
      input({ node: notReady, instance: { state: 'stopped' } }),
      'out-of-service',
    ],
    [
      'frees the pods of an instance EC2 no longer knows',
      input({ node: notReady, instance: { state: 'gone' } }),
      'out-of-service',
    ],
    ["never frees pods without EC2's word", input({ node: notReady, instance: 'unknown' }), 'wait'],
    ['never frees pods while the instance runs (a kubelet crash)', input({ node: notReady }), 'wait'],
    [
      'does not free pods when the taint is switched off',
      input({ node: notReady, instance: { state: 'terminated' } }, { outOfServiceTaint: false }),
      'wait',
    ],
    [
      'does nothing more for a node already out of service',
      input({
        lease: lease({ state: 'out-of-service' }),
        node: { ...notReady, outOfServiceTainted: true },
        instance: { state: 'terminated' },
      }),
      'wait',
    ],
    [
      'lifts the out-of-service taint once the instance runs again and its kubelet is Ready',
      input({ lease: lease({ state: 'out-of-service' }), node: { ...rebooted, outOfServiceTainted: true } }),
      'release',
    ],
    [
      'leaves a live drain to its holder',
      input({ lease: lease({ state: 'draining', holder: 'a', renewedAt: iso(now - 5_000) }) }),
      'wait',
    ],
    [
      'takes over a drain whose holder stopped renewing',
      input({ lease: lease({ state: 'draining', holder: 'a', renewedAt: iso(now - 60_000) }) }),
      'drain',
    ],
    [
      'drains a recorded Health change when it is due',
      input({ lease: lease({ state: 'scheduled', kind: NoticeKind.ScheduledChange, scheduled: schedule }) }),
      'drain',
    ],
    [
      'waits for a recorded change that is not due yet',
      input({
        lease: lease({
          state: 'scheduled',
          kind: NoticeKind.ScheduledChange,
          scheduled: { ...schedule, drainAt: iso(now + 60_000) },
        }),
      }),
      'wait',
    ],
    [
      'drains a change that is due on a node a rebalance cordoned meanwhile',
      input({
        lease: lease({ state: 'cordoned', kind: NoticeKind.RebalanceRecommendation, scheduled: schedule }),
      }),
      'drain',
    ],
    [
      'releases a closed Health change once the node is Ready',
      input({ lease: lease({ kind: NoticeKind.ScheduledChange, scheduled: { ...schedule, closed: true } }) }),
      'release',
    ],
    [
      'releases maintenance that is over and rebooted the instance',
      input({
        lease: lease({
          kind: NoticeKind.ScheduledChange,
          detail: 'AWS_EC2_SYSTEM_REBOOT',
          scheduled: schedule,
          state: 'drained',
        }),
        node: rebooted,
        now: now + 2 * hour,
      }),
      'release',
    ],
    [
      'keeps a rebalance cordon with the default TTL (0)',
      input({
        lease: lease({ kind: NoticeKind.RebalanceRecommendation, action: Action.Cordon, state: 'cordoned' }),
      }),
      'wait',
    ],
    [
      'lifts a rebalance cordon older than its TTL',
      input(
        {
          lease: lease({
            kind: NoticeKind.RebalanceRecommendation,
            action: Action.Cordon,
            state: 'cordoned',
          }),
        },
        { rebalanceCordonTtlMs: 30 * 60_000 },
      ),
      'release',
    ],
    [
      'keeps a rebalance cordon younger than its TTL',
      input(
        {
          lease: lease({
            kind: NoticeKind.RebalanceRecommendation,
            action: Action.Cordon,
            state: 'cordoned',
          }),
        },
        { rebalanceCordonTtlMs: 2 * hour },
      ),
      'wait',
    ],
    [
      'retries a failed drain of a running instance whose deadline is ahead',
      input({ lease: lease({ state: 'failed', deadline: iso(now + 60_000) }) }),
      'drain',
    ],
    [
      'completes hooks a finished drain could not',
      input({ lease: lease({ hooks: [hook] }) }),
      'complete-hooks',
    ],
    [
      'completes the hooks of an instance that is gone when its pods need no freeing',
      input({
        lease: lease({ hooks: [hook], state: 'out-of-service' }),
        node: { ...notReady, outOfServiceTainted: true },
        instance: { state: 'terminated' },
      }),
      'complete-hooks',
    ],
  ])('%s', (_, given, step) => {
    // Act + Assess
    expect(decideStep(given).step).toBe(step);
  });

  it("keeps a taken-over drain's deadline while it is ahead, and gives a new budget once it has passed", () => {
    // Prepare
    const stale = { state: 'draining' as const, holder: 'a', renewedAt: iso(now - 60_000) };

    // Act
    const ahead = decideStep(input({ lease: lease({ ...stale, deadline: iso(now + 90_000) }) }));
    const passed = decideStep(input({ lease: lease({ ...stale, deadline: iso(now - 1) }) }));

    // Assess
    expect(ahead).toEqual({ step: 'drain', why: 'takeover', deadline: now + 90_000 });
    expect(passed).toEqual({ step: 'drain', why: 'takeover', deadline: now + 600_000 });
  });

  it('drains a due change until its start', () => {
    // Act
    const step = decideStep(
      input({ lease: lease({ state: 'scheduled', kind: NoticeKind.ScheduledChange, scheduled: schedule }) }),
    );

    // Assess
    expect(step).toEqual({ step: 'drain', why: 'due', deadline: now + hour });
  });
});

describe('cameBack', () => {
  it.each([
    ['a new boot id', lease(), rebooted, running, true],
    ['the same boot id', lease(), ready, running, false],
    [
      'no recorded boot id, a launch after the marks',
      lease({ marks: { cordoned: true, taints: [], lbLabel: false } }),
      { ...ready, bootId: undefined },
      { state: 'running', launchTime: now - 60_000 },
      true,
    ],
    [
      'no boot id at all, Ready since after the marks',
      lease({ marks: { cordoned: true, taints: [], lbLabel: false } }),
      { ...ready, bootId: undefined, readySince: now - 60_000 },
      running,
      true,
    ],
    [
      'no boot id at all, Ready since before the marks',
      lease({ marks: { cordoned: true, taints: [], lbLabel: false } }),
      { ...ready, bootId: undefined },
      running,
      false,
    ],
  ] as const)('%s: %s', (_, given, node, instance, expected) => {
    // Act + Assess
    expect(cameBack(given, node, instance)).toBe(expected);
  });
});
