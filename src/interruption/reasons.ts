/**
 * The reasons that hold a node: how a notice becomes one, which is stronger, when each closes, and
 * what the open ones ask of the node now. Pure functions of the record, the world and the clock.
 */
import { NoticeKind } from '../types.js';
import type { NoticeInput, Rules, Step } from './inputs.js';
import type { InterruptionRecord, Reason } from './record.js';
import { isRunning, type World } from './world.js';

/**
 * How long a reason with a deadline holds a node whose instance still runs and is Ready after it: EC2
 * reports an interrupted instance `shutting-down` within seconds of the deadline, so one still
 * running two minutes later was not interrupted (or came back).
 */
export const overdueGraceMs = 120_000;

/** A drain never gets less than this, however late it starts: the cordon and a quick try. */
export const minimumDrainWindowMs = 10_000;

/** At most this many reasons are kept (a record is input, and a flood of notices must not grow it). */
const maxReasons = 16;

/** Kinds whose deadline is EC2 taking the instance back. */
const hardDeadlineKinds: ReadonlySet<NoticeKind> = new Set([
  NoticeKind.SpotInterruption,
  NoticeKind.CapacityReservationInterruption,
]);

/** The reason a notice gives; `bootId` is the node's now. Health notices carry their change. */
export function reasonOf(
  notice: NoticeInput,
  leadMs: number,
  now: number,
  bootId: string | undefined,
): Reason {
  const start = notice.health?.start;
  return {
    kind: notice.kind,
    action: notice.action,
    eventId: notice.eventId,
    ...(notice.detail ? { detail: notice.detail } : {}),
    // When it was sent, not when it arrived: a late delivery holds no longer than a timely one.
    at: new Date(Math.min(notice.eventTime, now)).toISOString(),
    ...(bootId ? { bootId } : {}),
    deadline: new Date(notice.deadline).toISOString(),
    ...(notice.health && start !== undefined
      ? {
          scheduled: {
            eventArn: notice.health.eventArn,
            start: new Date(start).toISOString(),
            drainAt: new Date(start - leadMs).toISOString(),
          },
        }
      : {}),
  };
}

/** Negative when `a` is the stronger: a drain over a cordon, then a hard deadline, then the earlier one. */
export function compareReasons(a: Reason, b: Reason): number {
  if (a.action !== b.action) return a.action === 'drain' ? -1 : 1;
  const hard = Number(hardDeadlineKinds.has(b.kind)) - Number(hardDeadlineKinds.has(a.kind));
  if (hard !== 0) return hard;
  return Date.parse(a.deadline) - Date.parse(b.deadline);
}

/**
 * The reasons with `reason` added: the same event again adds nothing, and Health's republication of
 * a change (same eventArn, a new EventBridge id) updates the recorded one (its start may move).
 */
export function addReason(
  reasons: readonly Reason[],
  reason: Reason,
): { reasons: Reason[]; added: boolean; changed: boolean } {
  const arn = reason.scheduled?.eventArn;
  const same = reasons.findIndex(
    (r) => r.eventId === reason.eventId || (arn !== undefined && r.scheduled?.eventArn === arn),
  );
  if (same >= 0) {
    const existing = reasons[same]!;
    if (!reason.scheduled || JSON.stringify(existing.scheduled) === JSON.stringify(reason.scheduled)) {
      return { reasons: [...reasons], added: false, changed: false };
    }
    const moved = { ...existing, scheduled: reason.scheduled, deadline: reason.deadline };
    return { reasons: sorted(reasons.map((r, i) => (i === same ? moved : r))), added: false, changed: true };
  }
  return { reasons: sorted([...reasons, reason]).slice(0, maxReasons), added: true, changed: true };
}

function sorted(reasons: Reason[]): Reason[] {
  return [...reasons].sort(compareReasons);
}

/**
 * Whether the machine came back since `at`, and how we know: `launched` when EC2 runs an instance it
 * started after `at` and the kubelet turned Ready after it (a resumed hibernation keeps its boot id:
 * its memory is restored); `booted` short of EC2's word, for a boot id other than `bootId` (not for
 * an instance that hibernates: only EC2's start says it resumed), or where no boot id is known, a
 * launch or a Ready transition after `at`.
 */
export function cameBackSince(
  at: number,
  bootId: string | undefined,
  hibernation: boolean,
  world: World,
): 'launched' | 'booted' | false {
  const { node, instance } = world;
  const launchedAfter =
    instance !== 'unknown' && instance.launchTime !== undefined && instance.launchTime > at;
  const readyAfter = node.ready && node.readySince !== undefined && node.readySince > at;
  if (isRunning(world) && launchedAfter && readySinceLaunch(world)) return 'launched';
  if (hibernation) return false;
  if (bootId && node.bootId) return node.bootId !== bootId ? 'booted' : false;
  return launchedAfter || readyAfter ? 'booted' : false;
}

/**
 * The kubelet has been Ready since the instance's last launch (the API server keeps whole seconds):
 * a kubelet of the machine as started again, not one that was Ready before it stopped.
 */
export function readySinceLaunch({ node, instance }: World): boolean {
  if (instance === 'unknown' || instance.launchTime === undefined) return false;
  return node.ready && node.readySince !== undefined && node.readySince >= instance.launchTime - 1_000;
}

/** Kinds whose deadline is EC2's own (the others' is a budget this project gives the drain). */
export function hasHardDeadline(reason: Pick<Reason, 'kind'>): boolean {
  return hardDeadlineKinds.has(reason.kind);
}

/**
 * Whether a reason still holds the node. A machine back since the reason was recorded closes it, but
 * not before its time: a reboot EC2 did not see, during a Spot warning's two minutes, is not the
 * interruption (an instance EC2 stopped and started since is); only Health, or the maintenance itself
 * once it may have started, closes a Health change.
 */
export function isOpen(
  reason: Reason,
  record: InterruptionRecord,
  world: World,
  now: number,
  rules: Rules,
): boolean {
  const at = Date.parse(reason.at);
  const back = cameBackSince(at, reason.bootId, record.hibernation === true, world);
  if (reason.scheduled) return !(back && now >= Date.parse(reason.scheduled.start));
  if (back === 'launched' || (back && (!hasHardDeadline(reason) || now >= Date.parse(reason.deadline)))) {
    return false;
  }
  if (reason.kind === NoticeKind.RebalanceRecommendation) {
    return rules.rebalanceCordonTtlMs === 0 || now - at < rules.rebalanceCordonTtlMs;
  }
  // Past its deadline, a reason holds until EC2 says the instance still runs: then it was not interrupted.
  return !isRunning(world) || now < Date.parse(reason.deadline) + overdueGraceMs;
}

export function openReasons(record: InterruptionRecord, world: World, now: number, rules: Rules): Reason[] {
  return record.reasons.filter((r) => isOpen(r, record, world, now, rules));
}

/** Reasons that ask for a drain now (a recorded Health change only from its drainAt on). */
export function dueDrains(reasons: readonly Reason[], now: number): Reason[] {
  return reasons.filter(
    (r) => r.action === 'drain' && (!r.scheduled || now >= Date.parse(r.scheduled.drainAt)),
  );
}

/** When a drain for these reasons must end: the earliest deadline, at least a short window from now. */
export function drainUntil(reasons: readonly Reason[], now: number, budgetMs: number): number {
  const deadlines = reasons.map((r) =>
    // A maintenance window that has begun sets no end of its own: the drain gets the budget.
    r.scheduled && Date.parse(r.scheduled.start) <= now ? now + budgetMs : Date.parse(r.deadline),
  );
  const earliest = deadlines.length > 0 ? Math.min(...deadlines) : now + budgetMs;
  return Math.max(earliest, now + minimumDrainWindowMs);
}

/** Kinds whose drains may wait: nothing of EC2's takes the machine at a set time. */
const voluntaryKinds: ReadonlySet<NoticeKind> = new Set([
  NoticeKind.RebalanceRecommendation,
  NoticeKind.ScheduledChange,
]);

/**
 * A Health change waits for the budget until its start is one drain away (DRAIN_TIMEOUT before it):
 * after that, waiting longer would leave pods on a machine whose maintenance has begun.
 */
function mustGoNow(reason: Reason, step: Step): boolean {
  return (
    reason.scheduled !== undefined &&
    step.now >= Date.parse(reason.scheduled.start) - step.rules.noDeadlineBudgetMs
  );
}

/** Whether a drain for `reasons` is voluntary: all of them may wait, none is one drain from its start. */
export function isVoluntary(reasons: readonly Reason[], step: Step): boolean {
  return reasons.length > 0 && reasons.every((o) => voluntaryKinds.has(o.kind) && !mustGoNow(o, step));
}
