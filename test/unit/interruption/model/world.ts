/**
 * What can happen to a node, played on the sim: notices of every kind (new, late, delivered again,
 * retried by Lambda), EC2 and the kubelet, the clock, the reconcile, drains' holders, an operator,
 * Auto Scaling going down, and a forger on the node. Each happening is a name, a guard (whether it
 * can happen now) and what it does; `happen` runs one and holds the sim against the invariants.
 * commands.ts draws them at random; counterexamples.test.ts replays the ones that once failed.
 */
import { noticeInput } from '../../../../src/app/notice-input.js';
import { checkAge } from '../../../../src/app/verify-notice.js';
import { recordAnnotation, stateLabel } from '../../../../src/interruption/record.js';
import { decideAction, defaultPolicyConfig } from '../../../../src/policy.js';
import { Action, type InterruptionNotice, NoticeKind } from '../../../../src/types.js';
import { checkReconciled, checkStep, type Violation } from './invariants.js';
import { type Ec2State, group, instanceId, lbLabelKey, type Sim } from './sim.js';

export const minute = 60_000;
export const hour = 60 * minute;

export interface Happening {
  name: string;
  /** Whether it can happen in the world as it is (EC2 starts only a stopped instance, and so on). */
  when(sim: Sim): boolean;
  run(sim: Sim): Violation[] | undefined;
}

const happening = (
  name: string,
  run: (sim: Sim) => Violation[] | undefined,
  when: (sim: Sim) => boolean = () => true,
): Happening => ({ name, run, when });

/** Runs a happening, then holds the sim against the invariants; a violation throws with the story. */
export function happen(sim: Sim, h: Happening): void {
  sim.log.push(h.name);
  // Things happen one after another: a second passes, live holders renew as they do every 5 s, and
  // Lambda retries what failed.
  sim.now += 1_000;
  renewDue(sim);
  sim.retryDue();
  const extra = h.run(sim) ?? [];
  const violations = [...sim.violations.splice(0), ...extra, ...checkStep(sim)];
  if (violations.length > 0) {
    const lines = violations.map((v) => `rule ${v.rule}: ${v.detail}${v.what ? ` (${v.what})` : ''}`);
    throw new Error(
      `${lines.join('\n')}\nafter: ${sim.log.join(' → ')}\nrecord: ${sim.node.metadata?.annotations?.[recordAnnotation]}`,
    );
  }
}

export interface NoticeSpec {
  kind: NoticeKind;
  detail?: string;
  /** How late it arrives (ms after its event time). */
  lateMs: number;
  /** Health: which change, where it stands, and how far its start lies. */
  health?: { arn: string; status: 'upcoming' | 'open' | 'closed'; startInMs: number };
}

function notify(sim: Sim, spec: NoticeSpec): void {
  sim.invocations++;
  const eventTime = new Date(sim.now - spec.lateMs);
  const deadline =
    spec.kind === NoticeKind.SpotInterruption || spec.kind === NoticeKind.CapacityReservationInterruption
      ? new Date(eventTime.getTime() + 120_000)
      : spec.health && spec.health.status !== 'closed'
        ? new Date(sim.now + spec.health.startInMs)
        : undefined;
  const notice: InterruptionNotice = {
    kind: spec.kind,
    instanceId,
    region: 'us-east-1',
    account: '123456789012',
    eventId: `${spec.kind}-${sim.invocations}`,
    eventTime,
    deadline,
    ...(spec.detail ? { detail: spec.detail } : {}),
    ...(spec.kind === NoticeKind.AsgTerminate
      ? {
          lifecycleAction: {
            autoScalingGroupName: group,
            lifecycleHookName: 'drain',
            lifecycleActionToken: '87654321-4321-4321-4321-210987654321',
            lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          },
        }
      : {}),
    ...(spec.health ? { health: { eventArn: spec.health.arn, status: spec.health.status } } : {}),
  };
  // The function drops what it would drop: too old, dated ahead, or switched off by policy.
  if (!checkAge(notice, sim.now).ok) return;
  const action = decideAction(notice, defaultPolicyConfig);
  if (action === Action.None) return;
  const delivered = {
    notice,
    input: noticeInput(notice, action, sim.now, sim.rules.noDeadlineBudgetMs),
    holder: `invocation-${sim.invocations}`,
  };
  sim.delivered.push(delivered);
  sim.deliver(delivered);
}

/** EventBridge delivers an event again (a new invocation), or Lambda retries one (the same request id). */
function redeliver(sim: Sim, index: number, sameInvocation: boolean): void {
  const delivered = sim.delivered[index % sim.delivered.length]!;
  if (!checkAge(delivered.notice, sim.now).ok) return;
  sim.invocations++;
  const holder = sameInvocation ? delivered.holder : `invocation-${sim.invocations}`;
  // A retried invocation is a new process: the old one's drain is gone with it.
  if (sameInvocation) sim.holders.delete(holder);
  // Each invocation reads the event afresh: its budget counts from now.
  const input = noticeInput(
    delivered.notice,
    decideAction(delivered.notice, defaultPolicyConfig),
    sim.now,
    sim.rules.noDeadlineBudgetMs,
  );
  sim.deliver({ ...delivered, input, holder });
}

function ec2(sim: Sim, state: Ec2State, stateReason?: string): void {
  sim.ec2 = { ...sim.ec2, state, ...(stateReason ? { stateReason } : {}) };
  if (!stateReason) delete sim.ec2.stateReason;
  if (state === 'stopped' || state === 'terminated' || state === 'gone') {
    sim.kubelet.resumable = /hibernat/i.test(stateReason ?? '');
  }
}

function start(sim: Sim): void {
  sim.ec2 = { state: 'running', launchTime: sim.now };
  sim.starts.push(sim.now);
}

function kubeletUp(sim: Sim, newBoot: boolean): void {
  sim.kubelet.up = true;
  if (newBoot) sim.kubelet.bootId = `boot-${++sim.kubelet.boots}`;
  sim.kubelet.resumable = false;
  sim.kubelet.readySince = sim.now;
  sim.setReady(true);
}

function kubeletDown(sim: Sim): void {
  sim.kubelet.up = false;
  sim.setReady(false);
}

/** The reconcile: a look through the door with the pass's batch answer of EC2 (uncached, read at its start). */
function reconcile(sim: Sim): Violation[] {
  sim.invocations++;
  sim.apply({ type: 'look', holder: `reconcile-${sim.invocations}` }, sim.ec2Facts());
  return checkReconciled(sim);
}

/** Live holders renew when 5 s have passed since they last did. */
function renewDue(sim: Sim): void {
  renewAll(sim, 5_000);
}

/** Every live holder renews (a drain stopped by its kubelet ends, halted, and looks again). */
function renewAll(sim: Sim, after = 0): void {
  for (const [id, holder] of [...sim.holders]) {
    if (!holder.alive || sim.now - holder.lastRenewOk < after) continue;
    const [renewed] = sim.apply({ type: 'renew', holder: id }, 'unknown');
    if (renewed?.outcome !== 'renewed') {
      sim.holders.delete(id);
      continue;
    }
    holder.lastRenewOk = sim.now;
    if (holder.stopWhenNotReady && !sim.isReady()) finish(sim, id, 'halted');
  }
}

function finish(
  sim: Sim,
  id: string,
  outcome: 'drained' | 'deadline-reached' | 'incomplete' | 'halted' | 'failed',
): void {
  sim.holders.delete(id);
  sim.apply({ type: 'drain-ended', holder: id, outcome }, 'unknown');
  if (outcome === 'halted') sim.apply({ type: 'look', holder: id }, 'unknown');
}

/** The holder's invocation is about to end before its drain: it hands the drain on. */
function handOff(sim: Sim, id: string): void {
  sim.holders.delete(id);
  sim.apply({ type: 'hand-off', holder: id }, 'unknown');
}

/** A hand-off reaches a fresh invocation, which looks at the node as the reconcile would. */
function continuation(sim: Sim): Violation[] {
  sim.continuations.shift();
  sim.invocations++;
  sim.apply({ type: 'look', holder: `continuation-${sim.invocations}` }, sim.ec2Facts());
  return checkReconciled(sim);
}

/** Time passes: holders end their drains at their deadlines and renew meanwhile; caches fall behind. */
function advance(sim: Sim, ms: number): void {
  const until = sim.now + ms;
  for (const [id, holder] of [...sim.holders].sort((a, b) => a[1].deadline - b[1].deadline)) {
    if (!holder.alive || holder.deadline > until) continue;
    sim.now = Math.max(sim.now, holder.deadline);
    holder.lastRenewOk = sim.now;
    if (holder.handsOff) handOff(sim, id);
    else finish(sim, id, 'deadline-reached');
  }
  sim.now = until;
  renewAll(sim);
}

/** A record written by something on the node: marks it did not get from us, hooks of others. */
function forge(sim: Sim, variant: number): void {
  const iso = (ms: number) => new Date(sim.now + ms).toISOString();
  const record = {
    v: 3,
    state: ['drained', 'cordoned', 'out-of-service', 'failed'][variant % 4],
    reasons: [
      {
        kind: 'spot-interruption',
        action: 'drain',
        eventId: 'forged',
        at: iso(-hour),
        deadline: iso(-hour + 120_000),
      },
    ],
    deadline: iso(-hour),
    since: iso(-2 * hour),
    updatedAt: iso(-hour),
    marks: {
      cordoned: true,
      taints: ['dedicated', 'eks-spot-drainer/spot-interruption'],
      lbLabel: true,
      bootId: 'forged',
    },
    hooks: [
      { autoScalingGroupName: 'other-group', lifecycleHookName: 'drain', instanceId: 'i-0aaaaaaaaaaaaaaaa' },
      { autoScalingGroupName: 'other-group', lifecycleHookName: 'drain', instanceId },
    ],
  };
  const annotations = { ...sim.node.metadata?.annotations, [recordAnnotation]: JSON.stringify(record) };
  sim.node.metadata = {
    ...sim.node.metadata,
    annotations,
    labels: { ...sim.node.metadata?.labels, [stateLabel]: record.state! },
  };
  // What the record held is gone with it (the node can only lose its own protection), and a holder
  // draining learns at its next renewal that the record is no longer its own.
  sim.notices.splice(0);
  sim.holders.clear();
  sim.generation++;
  // Hooks the record held are lost with it (Auto Scaling times them out); a notice delivered again brings them back.
  const attempted = new Set(sim.hooks.attempts.map((a) => a.key));
  for (const key of sim.hooks.genuine.keys()) if (!attempted.has(key)) sim.hooks.lost.add(key);
  sim.notices.push({
    kind: NoticeKind.SpotInterruption,
    eventId: 'forged',
    at: sim.now - hour,
    deadline: sim.now - hour + 120_000,
    budgetEnd: sim.now - hour + 120_000,
    closed: false,
  });
}

function admin(sim: Sim, what: 'cordon' | 'uncordon' | 'label'): void {
  const spec = sim.node.spec!;
  // Rule 2 is about a cordon made before this project's mark; one made over it is shared.
  const marked = sim.annotation() !== undefined;
  if (what === 'cordon') {
    sim.owners.cordon = spec.unschedulable || marked ? 'shared' : 'admin';
    spec.unschedulable = true;
  } else if (what === 'uncordon') {
    sim.owners.cordon = 'none';
    delete spec.unschedulable;
  } else {
    const labels = sim.node.metadata!.labels!;
    sim.owners.lb = labels[lbLabelKey] !== undefined || marked ? 'shared' : 'admin';
    labels[lbLabelKey] = 'true';
  }
}

const running = (sim: Sim) => sim.ec2.state === 'running';

/** Every happening, by the name a counterexample gives it. */
export const happenings = {
  notice: (spec: NoticeSpec) =>
    happening(
      `notice ${spec.kind}${spec.detail ? `:${spec.detail}` : ''}${spec.health ? `:${spec.health.status}:${spec.health.arn.at(-1)}:${spec.health.startInMs}` : ''}+${spec.lateMs}`,
      (sim) => void notify(sim, spec),
    ),
  redeliver: (i: number, sameInvocation = false) =>
    happening(
      `redeliver #${i}${sameInvocation ? ' (Lambda retry)' : ''}`,
      (sim) => void redeliver(sim, i, sameInvocation),
      (sim) => sim.delivered.length > 0,
    ),
  ec2: (name: 'stopping' | 'stop' | 'hibernate' | 'shutting-down' | 'terminate') => {
    const [state, reason] = ec2States[name];
    return happening(
      `ec2 ${name}`,
      (sim) => void ec2(sim, state, reason),
      (sim) =>
        ['running', 'stopping', 'shutting-down'].includes(sim.ec2.state) ||
        (state === 'terminated' && sim.ec2.state === 'stopped'),
    );
  },
  ec2Forgets: () =>
    happening(
      'ec2 forgets the instance',
      (sim) => void ec2(sim, 'gone'),
      (sim) => sim.ec2.state === 'terminated',
    ),
  ec2Start: () =>
    happening(
      'ec2 start',
      (sim) => void start(sim),
      (sim) => sim.ec2.state === 'stopped',
    ),
  cacheRefreshed: () => happening('ec2 answer cached', (sim) => void refreshCache(sim)),
  kubeletGone: () =>
    happening(
      'kubelet gone',
      (sim) => void kubeletDown(sim),
      (sim) => sim.kubelet.up,
    ),
  kubeletReady: (newBoot: boolean) =>
    happening(
      `kubelet Ready${newBoot ? ', new boot id' : ', same boot id'}`,
      (sim) => void kubeletUp(sim, newBoot),
      // The same boot id only after a hibernation resumed, or a kubelet restarted without a boot.
      (sim) =>
        running(sim) &&
        !sim.kubelet.up &&
        (newBoot ||
          sim.kubelet.resumable ||
          !sim.starts.length ||
          sim.kubelet.readySince > sim.starts.at(-1)!),
    ),
  reboot: () =>
    happening(
      'reboot',
      (sim) => void kubeletUp(sim, true),
      (sim) => running(sim) && sim.kubelet.up,
    ),
  reconcile: () => happening('reconcile', reconcile),
  /** A drain handed on reaches its new invocation, or is lost (the reconcile then takes it). */
  continuation: (lost: boolean) =>
    happening(
      lost ? 'a hand-off is lost' : 'a hand-off arrives',
      (sim) => (lost ? void sim.continuations.shift() : continuation(sim)),
      (sim) => sim.continuations.length > 0,
    ),
  /** A live holder's invocation ends before its drain: handed on. */
  holderHandsOff: (i: number) =>
    happening(
      'a holder hands its drain off',
      (sim) => {
        const alive = [...sim.holders].filter(([, h]) => h.alive);
        if (alive.length > 0) handOff(sim, alive[i % alive.length]![0]);
        return undefined;
      },
      (sim) => [...sim.holders.values()].some((h) => h.alive),
    ),
  /** Other nodes of the cluster are cordoned or released: the disruption budget fills or frees. */
  othersHold: (n: number) =>
    happening(`${n} other nodes held`, (sim) => {
      sim.budgetOthers = n;
      return undefined;
    }),
  advance: (ms: number) => happening(`+${ms / 1000}s`, (sim) => void advance(sim, ms)),
  holdersRenew: () =>
    happening(
      'holders renew',
      (sim) => void renewAll(sim),
      (sim) => sim.holders.size > 0,
    ),
  holderEnds: (i: number, outcome: 'drained' | 'deadline-reached' | 'incomplete' | 'failed') =>
    happening(
      `a holder ends: ${outcome}`,
      (sim) => {
        const alive = [...sim.holders].filter(([, h]) => h.alive);
        if (alive.length > 0) finish(sim, alive[i % alive.length]![0], outcome);
        return undefined;
      },
      (sim) => [...sim.holders.values()].some((h) => h.alive),
    ),
  holderCrashes: (i: number) =>
    happening(
      'a holder crashes',
      (sim) => {
        const holders = [...sim.holders.values()];
        if (holders.length > 0) holders[i % holders.length]!.alive = false;
        return undefined;
      },
      (sim) => sim.holders.size > 0,
    ),
  operator: (what: 'cordon' | 'uncordon' | 'label') =>
    happening(`operator ${what}`, (sim) => void admin(sim, what)),
  autoScaling: (down: boolean) =>
    happening(`auto scaling ${down ? 'down' : 'up'}`, (sim) => {
      sim.hooks.down = down;
      return undefined;
    }),
  // With TAINT_NODE=false nothing on the node vouches for a cordon: the record is trusted (docs/lifecycle.md).
  forge: (variant: number) =>
    happening(
      `forged record ${variant}`,
      (sim) => void forge(sim, variant),
      (sim) => sim.rules.taintNode,
    ),
};

const ec2States: Record<
  'stopping' | 'stop' | 'hibernate' | 'shutting-down' | 'terminate',
  [Ec2State, string?]
> = {
  stopping: ['stopping'],
  stop: ['stopped', 'Client.UserInitiatedShutdown'],
  hibernate: ['stopped', 'Client.UserInitiatedHibernate'],
  'shutting-down': ['shutting-down'],
  terminate: ['terminated', 'Server.SpotInstanceTermination'],
};

function refreshCache(sim: Sim): void {
  sim.cache = sim.ec2Facts();
}

/**
 * The world settles: Auto Scaling answers, time passes, every drain ends and the reconcile runs; then
 * every hook Auto Scaling held was completed (rule 6: at least once, as well as at most once).
 */
export function settle(sim: Sim): void {
  happen(
    sim,
    happening('settle', () => {
      sim.hooks.down = false;
      for (let i = 0; i < 4; i++) {
        advance(sim, 15 * minute);
        sim.retryDue();
        reconcile(sim);
      }
      const completed = new Set(sim.hooks.attempts.map((a) => a.key));
      const hanging = [...sim.hooks.genuine.keys()].filter(
        (key) => !completed.has(key) && !sim.hooks.lost.has(key) && !sim.deadLetters.has(key),
      );
      return hanging.map((key) => ({
        rule: 6,
        detail: `hook ${key.replaceAll('\u0000', '/')} never completed`,
      }));
    }),
  );
}
