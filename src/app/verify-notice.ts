/**
 * What an event must be before anything is touched: from this function's own account and region,
 * no older than its own meaning, naming no more instances than one event may act on, and, where AWS
 * can say, agreeing with AWS (EC2, Auto Scaling: see confirm-notice.ts). EventBridge refuses `PutEvents` with an `aws.` source, but the function
 * also runs for a direct `lambda:InvokeFunction`, a rule target with a constant input and events
 * forwarded from other accounts or regions: none of them may make it drain a node.
 *
 * Pure functions, table-tested; the handler logs and counts what they reject.
 */
import { type InstanceInfo, type InterruptionNotice, NoticeKind } from '../types.js';

/** Why an event (or one of its notices) is dropped untouched. */
export const Rejection = {
  WrongAccount: 'wrong-account',
  WrongRegion: 'wrong-region',
  Stale: 'stale',
  FromTheFuture: 'from-the-future',
  TooManyInstances: 'too-many-instances',
  /** EC2 describes the instance as not Spot: a Spot warning or rebalance recommendation is forged. */
  Ec2Disagrees: 'ec2-disagrees',
  /** EC2 says the instance runs in no Capacity Reservation: a capacity-reservation warning is forged. */
  NotInCapacityReservation: 'not-in-capacity-reservation',
  /** EC2 says the instance has left the announced state for good (started again since). */
  StateLeft: 'state-left',
  /** Auto Scaling lists the instance in another group, or not terminating: the hook is forged. */
  AutoScalingDisagrees: 'auto-scaling-disagrees',
  /** EC2 lists no scheduled event that matches the Health change (or no Dedicated Host for a host's). */
  NoScheduledEvent: 'no-scheduled-event',
} as const;
export type Rejection = (typeof Rejection)[keyof typeof Rejection];

/** Where the function runs; an undefined field is not checked (a local run that does not know it). */
export interface Origin {
  account: string | undefined;
  region: string | undefined;
}

export type Verdict = { ok: true } | { ok: false; reason: Rejection; detail: string };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * How late a warning with a hard deadline may still be handled: past its two minutes EC2 takes the
 * instance back; within these seconds it may still be shutting down, and the cordon (the first
 * thing a drain does) still keeps new pods off it. Later, a drain could only be a 10 s gesture
 * (or, with FORCE_AT_DEADLINE, a forced deletion of what budgets protect) for a node that is gone;
 * the state-change event that follows deals with a node whose instance is gone.
 */
export const lateDeliveryAllowanceMs = 10_000;

/** Clock skew tolerated for an event dated ahead of the function's clock; EC2 and Lambda keep NTP time. */
export const clockSkewAllowanceMs = MINUTE;

/**
 * The longest a genuine delivery takes: EventBridge retries a target for up to an hour
 * (serverless.yml: ruleRetryPolicy.maximumEventAge 3600 s), then Lambda keeps an asynchronous event
 * for up to another hour (maximumEventAge 3600 s) across its retries. Older is a replay.
 */
export const deliveryWindowMs = 2 * HOUR;

/**
 * How long an event of each kind without a hard deadline means something, counted from its time:
 * - rebalance recommendation, state change: as long as a delivery can take (the instance's state
 *   is read from EC2 when the event is handled, so a late one acts on the world as it is);
 * - Auto Scaling terminate hook: it lives until its heartbeat timeout, at most 7,200 s, unless
 *   heartbeats extend it; its event is sent once, so no genuine delivery is older than that;
 * - AWS Health scheduled change: Health publishes the event again, with a new time, each time its
 *   status moves (upcoming, open, closed), so an old envelope time is a replay, however far ahead
 *   the maintenance lies.
 */
export const maxEventAgeMs: Record<NoticeKind, number> = {
  [NoticeKind.SpotInterruption]: deliveryWindowMs,
  [NoticeKind.CapacityReservationInterruption]: deliveryWindowMs,
  [NoticeKind.RebalanceRecommendation]: deliveryWindowMs,
  [NoticeKind.StateChange]: deliveryWindowMs,
  [NoticeKind.AsgTerminate]: 2 * HOUR,
  [NoticeKind.ScheduledChange]: deliveryWindowMs,
};

/** Kinds whose deadline is EC2 taking the instance back: past it (and the allowance) they are stale. */
const hardDeadlineKinds: ReadonlySet<NoticeKind> = new Set([
  NoticeKind.SpotInterruption,
  NoticeKind.CapacityReservationInterruption,
]);

/** Whether a notice's skip reason is a refusal (counted in the `rejected` metric). */
export function isRejection(reason: string): reason is Rejection {
  return (Object.values(Rejection) as string[]).includes(reason);
}

/** Kinds EC2 only sends about Spot instances. */
const spotOnlyKinds: ReadonlySet<NoticeKind> = new Set([
  NoticeKind.SpotInterruption,
  NoticeKind.RebalanceRecommendation,
]);

/** The last instant at which a hard deadline still means something; Infinity for kinds without one. */
function deadlineLimit(notice: Pick<InterruptionNotice, 'kind' | 'deadline'>): number {
  if (!hardDeadlineKinds.has(notice.kind) || !notice.deadline) return Number.POSITIVE_INFINITY;
  return notice.deadline.getTime() + lateDeliveryAllowanceMs;
}

/** The last instant at which a notice still means something. */
export function staleAfter(notice: Pick<InterruptionNotice, 'kind' | 'eventTime' | 'deadline'>): number {
  return Math.min(notice.eventTime.getTime() + maxEventAgeMs[notice.kind], deadlineLimit(notice));
}

/** Whether the notice comes from where the function runs (account and region, when known). */
export function checkOrigin(notice: Pick<InterruptionNotice, 'account' | 'region'>, origin: Origin): Verdict {
  if (origin.account !== undefined && notice.account !== origin.account) {
    return {
      ok: false,
      reason: Rejection.WrongAccount,
      detail: `event of account ${notice.account}; this function runs in ${origin.account}`,
    };
  }
  if (origin.region !== undefined && notice.region !== origin.region) {
    return {
      ok: false,
      reason: Rejection.WrongRegion,
      detail: `event of region ${notice.region}; this function runs in ${origin.region}`,
    };
  }
  return { ok: true };
}

/** Whether the notice is neither older than its meaning nor dated ahead of the clock. */
export function checkAge(
  notice: Pick<InterruptionNotice, 'kind' | 'eventTime' | 'deadline'>,
  now: number,
): Verdict {
  const time = notice.eventTime.getTime();
  if (time > now + clockSkewAllowanceMs) {
    return {
      ok: false,
      reason: Rejection.FromTheFuture,
      detail: `event time ${notice.eventTime.toISOString()} is ${seconds(time - now)} ahead of the clock`,
    };
  }
  const stale = (why: string): Verdict => ({
    ok: false,
    reason: Rejection.Stale,
    detail: `event time ${notice.eventTime.toISOString()}: ${why}`,
  });
  if (now > deadlineLimit(notice)) {
    return stale(
      `its deadline ${notice.deadline?.toISOString()} passed ${seconds(now - notice.deadline!.getTime())} ago`,
    );
  }
  const maxAge = maxEventAgeMs[notice.kind];
  if (now > time + maxAge) {
    return stale(`${seconds(now - time)} old; a ${notice.kind} event means nothing after ${seconds(maxAge)}`);
  }
  return { ok: true };
}

/**
 * Every check an event passes before any of its notices is acted on. All notices of one event share
 * its envelope (account, region, time, kind), yet each is checked: nothing is assumed about input.
 */
export function verifyEvent(notices: readonly InterruptionNotice[], origin: Origin, now: number): Verdict {
  for (const notice of notices) {
    const verdict = checkOrigin(notice, origin);
    if (!verdict.ok) return verdict;
    const age = checkAge(notice, now);
    if (!age.ok) return age;
  }
  return { ok: true };
}

/** The notices one event may act on (the first `max`, in the event's order) and the rest, left alone. */
export function capNotices<T>(notices: readonly T[], max: number): { acted: T[]; leftAlone: T[] } {
  return { acted: notices.slice(0, max), leftAlone: notices.slice(max) };
}

/** A refusal: why, in the words of the `rejected` metric, and how, in a sentence. */
export interface Refusal {
  reason: Rejection;
  detail: string;
}

/** EC2 states of an instance that is starting or runs: the state a state change announced is over. */
const startedStates: ReadonlySet<string> = new Set(['pending', 'running']);

/**
 * Where EC2's description of the instance contradicts the notice, how; undefined when it agrees or
 * cannot say. Pure; table-tested.
 * - A Spot interruption warning or a rebalance recommendation is only ever sent for a Spot instance.
 * - A capacity-reservation warning is only sent for an instance in a Capacity Reservation (an
 *   interruptible one; a Capacity Block's instance runs in one too).
 * - A state change (stopping, shutting-down, stopped, terminated) is over for good once EC2 started
 *   the instance again after it: pending or running, launched after the event. The node's record
 *   treats such a notice as changing nothing (src/interruption/on-notice.ts); here it is dropped
 *   before anything is asked of the cluster. Running since before the event is not a contradiction:
 *   EC2's reads may lag a state change by a moment.
 */
export function ec2Contradiction(
  notice: Pick<InterruptionNotice, 'kind' | 'instanceId' | 'eventTime' | 'detail'>,
  instance: Pick<InstanceInfo, 'lifecycle'> &
    Partial<Pick<InstanceInfo, 'capacityReservationId' | 'state' | 'launchTime'>>,
): Refusal | undefined {
  if (spotOnlyKinds.has(notice.kind) && instance.lifecycle !== 'spot') {
    return {
      reason: Rejection.Ec2Disagrees,
      detail: `EC2 describes ${notice.instanceId} as ${instance.lifecycle}, not spot; a ${notice.kind} is only sent for Spot instances`,
    };
  }
  if (
    notice.kind === NoticeKind.CapacityReservationInterruption &&
    !instance.capacityReservationId &&
    instance.lifecycle !== 'capacity-block'
  ) {
    return {
      reason: Rejection.NotInCapacityReservation,
      detail: `EC2 says ${notice.instanceId} runs in no Capacity Reservation`,
    };
  }
  if (
    notice.kind === NoticeKind.StateChange &&
    instance.state !== undefined &&
    startedStates.has(instance.state) &&
    instance.launchTime !== undefined &&
    instance.launchTime.getTime() > notice.eventTime.getTime()
  ) {
    return {
      reason: Rejection.StateLeft,
      detail: `EC2 says ${notice.instanceId} is ${instance.state}, launched ${instance.launchTime.toISOString()}, after this ${notice.detail ?? 'state'} notice`,
    };
  }
  return undefined;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
