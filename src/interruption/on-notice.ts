/**
 * A notice (a Spot warning, a rebalance recommendation, a state change, a Health change, an Auto
 * Scaling hook, a capacity reservation warning): what it adds to the node's reasons, and what the
 * node needs now. The world goes first: a machine back since the record was written starts anew, one
 * shut down for good is taken out of service, whatever the notice says.
 */
import { NodeEventReason } from '../kube/node-events.js';
import { NoticeKind } from '../types.js';
import { askToCount, earliest, hasRoom, needsPlace, withinBudget } from './budget.js';
import type { Effect, NoticeInput, Step, Transition } from './inputs.js';
import { withMarks } from './marks.js';
import { backStep, shutDownStep, tidy } from './on-look.js';
import { addReason, dueDrains, isOpen, openReasons, reasonOf } from './reasons.js';
import {
  hookKey,
  type InterruptionRecord,
  isFinished,
  isStale,
  mergeHooks,
  type Reason,
  RecordState,
} from './record.js';
import { cordon, keep, ownHooks, recheck, stamp, startDrain } from './steps.js';

const kindEvents: Record<NoticeKind, NodeEventReason> = {
  'spot-interruption': NodeEventReason.SpotInterruption,
  'rebalance-recommendation': NodeEventReason.RebalanceRecommendation,
  'state-change': NodeEventReason.InstanceStateChange,
  'scheduled-change': NodeEventReason.ScheduledChange,
  'asg-terminate': NodeEventReason.AutoScalingTermination,
  'capacity-reservation-interruption': NodeEventReason.CapacityReservationInterruption,
};

export function onNotice(
  record: InterruptionRecord | undefined,
  notice: NoticeInput,
  holder: string,
  step: Step,
): Transition {
  const { world } = step;
  const obsolete = obsoleteBy(notice, step);
  if (obsolete) return keep(record, record, 'obsolete', obsolete, step);
  if (notice.health?.status === 'closed') return onHealthClosed(record, notice, step);
  if (notice.health && record?.closedChanges?.includes(notice.health.eventArn)) {
    return keep(record, record, 'already-done', `Health closed ${notice.health.eventArn} already`, step);
  }
  if (record) {
    const back = backStep(record, tidy(record, world), step);
    // Released, the node is free for what the notice asks, unless the notice is one it had already.
    const known = record.reasons.some((o) => o.eventId === notice.eventId);
    if (back) return back.recheck || known ? back : { ...back, again: true };
  }
  const { r, added } = withNotice(record ? tidy(record, world) : blank(step), notice, step);
  if (added && !isOpen(added, r, world, step.now, step.rules)) {
    // Over before it arrived: nothing to do on the node, but Auto Scaling still waits for its hook.
    const own = notice.hook && notice.hook.instanceId === world.node.instanceId;
    const done = record?.hooksDone?.some((h) => notice.hook && hookKey(h) === hookKey(notice.hook));
    const hook = own && !done && notice.hook ? [notice.hook] : [];
    const effects = hook.length > 0 ? [{ type: 'complete-hooks' as const, hooks: hook }] : [];
    return keep(
      record,
      record,
      'already-done',
      `${notice.kind} ${notice.eventId} is over already`,
      step,
      effects,
    );
  }
  if (!world.node.ready && !world.fresh && step.rules.outOfServiceTaint) {
    return recheck(record, 'the node is NotReady: asking EC2 whether its machine is shut down');
  }
  const noticed: Effect[] = added
    ? [{ type: 'event', reason: kindEvents[notice.kind], message: notice.message, warning: true }]
    : [];
  const down = shutDownStep(record, r, step);
  const t = down ?? act(record, r, added, holder, step);
  return { ...t, effects: [...noticed, ...t.effects] };
}

/** What the node needs now that the notice is recorded, by the state it is in. */
function act(
  record: InterruptionRecord | undefined,
  r: InterruptionRecord,
  newest: Reason | undefined,
  holder: string,
  step: Step,
): Transition {
  const { now, world, rules } = step;
  const open = openReasons(r, world, now, rules);
  const due = dueDrains(open, now);
  const drainFor = due.length > 0 ? due : open;
  const own = ownHooks(r, world);
  const completing: Effect[] = own.length > 0 ? [{ type: 'complete-hooks', hooks: own }] : [];
  const cordons = open.filter((o) => o.action === 'cordon');
  if (!record) {
    if (due.length > 0) {
      return withinBudget(record, r, due, step, () =>
        startDrain(r, holder, due, 'draining', 'a new interruption', step),
      );
    }
    if (cordons.length > 0) {
      return withinBudget(record, r, cordons, step, () => cordon(r, 'a new interruption', step));
    }
    return schedule(r, step);
  }
  switch (r.state) {
    case RecordState.Draining:
      if (r.holder === holder)
        return startDrain(r, holder, drainFor, 'draining', 'the same holder again', step);
      if (isStale(r, now, rules.staleAfterMs)) {
        return startDrain(r, holder, drainFor, 'draining', `taken over from ${r.holder}`, step);
      }
      return amend(record, r, newest && due.includes(newest) ? Date.parse(newest.deadline) : undefined, step);
    case RecordState.Failed:
      if (due.length > 0) return startDrain(r, holder, due, 'draining', 'a failed drain retried', step);
      return keep(record, r, 'already-done', 'recorded; nothing is due', step);
    case RecordState.Scheduled:
    case RecordState.Waiting:
    case RecordState.Cordoned:
      if (due.length > 0) {
        return withinBudget(record, r, due, step, () =>
          startDrain(r, holder, due, 'draining', `${due[0]!.kind} is due`, step),
        );
      }
      if (r.state !== RecordState.Cordoned && cordons.length > 0) {
        return withinBudget(record, r, cordons, step, () => cordon(r, `${cordons[0]!.kind} cordons`, step));
      }
      return r.state === RecordState.Cordoned
        ? keep(record, r, 'already-done', 'cordoned already', step)
        : schedule(r, step, record);
    case RecordState.OutOfService:
      return keep(record, r, 'out-of-service', 'the node is out of service', step, completing);
    default:
      // A finished drain. The same event again, or a republished Health change, is the same
      // interruption; another drain notice costs one pod list and catches pods that came back since.
      if (newest && due.includes(newest) && world.node.ready && isFinished(r)) {
        return startDrain(r, holder, due, 'draining', `drained again for ${newest.kind}`, step);
      }
      return keep(record, r, 'already-done', `${r.state} already`, step, completing);
  }
}

/** The record with the notice's reason, hook and hibernation; `added` when the reason is new. */
function withNotice(
  base: InterruptionRecord,
  notice: NoticeInput,
  step: Step,
): { r: InterruptionRecord; added: Reason | undefined } {
  const reason = reasonOf(notice, step.rules.scheduledDrainLeadMs, step.now, step.world.node.bootId);
  const { reasons, added: isNew, changed } = addReason(base.reasons, reason);
  const added = isNew ? reason : undefined;
  const done = notice.hook && base.hooksDone?.some((h) => hookKey(h) === hookKey(notice.hook!));
  const hooks = notice.hook && !done ? mergeHooks(base.hooks, [notice.hook]) : base.hooks;
  const hibernates = notice.kind === NoticeKind.SpotInterruption && notice.detail === 'hibernate';
  if (!changed && hooks.length === base.hooks.length && (!hibernates || base.hibernation)) {
    return { r: base, added };
  }
  return {
    r: {
      ...base,
      reasons,
      hooks: ownHooks({ ...base, hooks }, step.world),
      ...(hibernates ? { hibernation: true } : {}),
    },
    added,
  };
}

/** A record with nothing in it yet, for a node that carries none. */
function blank(step: Step): InterruptionRecord {
  const iso = new Date(step.now).toISOString();
  const bootId = step.world.node.bootId;
  return {
    v: 3,
    state: RecordState.Scheduled,
    reasons: [],
    deadline: iso,
    since: iso,
    updatedAt: iso,
    marks: { cordoned: false, taints: [], lbLabel: false, ...(bootId ? { bootId } : {}) },
    hooks: [],
  };
}

/** A Health change far ahead: recorded; cordoned now only with SCHEDULED_CORDON_AT_NOTICE. */
function schedule(r: InterruptionRecord, step: Step, record?: InterruptionRecord): Transition {
  const change = r.reasons.find((o) => o.scheduled)?.scheduled;
  // SCHEDULED_CORDON_AT_NOTICE cordons for a change not yet due: a voluntary mark, within the budget.
  const wantsMark = step.rules.scheduledCordonAtNotice && !r.marks.cordoned && !step.world.node.unschedulable;
  // The mark is the changes' alone: other reasons recorded beside them (a state change the instance
  // has since left) ask for nothing here, so they cannot make it a forced one.
  const changes = r.reasons.filter((o) => o.scheduled);
  const needs = wantsMark && needsPlace(record, changes, step);
  if (needs && !step.world.budget) return askToCount(record);
  const room = step.world.budget !== undefined && hasRoom(step.world.budget, earliest(changes));
  const markNow = wantsMark && (!needs || room);
  const deadline = r.reasons[0]?.deadline ?? r.deadline;
  const marks = markNow ? { marks: withMarks(r, step.world.node, step.rules) } : {};
  const scheduled = stamp({ ...r, state: RecordState.Scheduled, deadline, ...marks }, step);
  if (record && scheduled.reasons === record.reasons && !markNow) {
    return keep(record, r, 'scheduled', 'the change is recorded already', step);
  }
  return {
    record: scheduled,
    effects: [
      ...(markNow ? [{ type: 'mark' } as const] : []),
      {
        type: 'event',
        reason: NodeEventReason.DrainScheduled,
        message: `Scheduled change ${change?.eventArn} starts ${change?.start}; drain at ${change?.drainAt}${markNow ? ' (cordoned now)' : ''}`,
      },
    ],
    outcome: 'scheduled',
    why: 'a change further ahead than the lead is drained when due',
  };
}

/** Another holder drains: it reads what the notice brought (an earlier deadline, a hook) when it renews. */
function amend(
  record: InterruptionRecord,
  r: InterruptionRecord,
  deadline: number | undefined,
  step: Step,
): Transition {
  const recorded = Date.parse(r.deadline);
  const earlier =
    deadline !== undefined && (!(recorded > step.now) || deadline < recorded)
      ? { deadline: new Date(deadline).toISOString() }
      : {};
  return keep(record, { ...r, ...earlier }, 'in-progress-elsewhere', `${r.holder} is draining`, step);
}

/** Health closed a change: it holds the node no more; the node is released if nothing else does. */
function onHealthClosed(record: InterruptionRecord | undefined, notice: NoticeInput, step: Step): Transition {
  const arn = notice.health?.eventArn;
  const index = record?.reasons.findIndex((o) => o.scheduled?.eventArn === arn) ?? -1;
  if (!record) return keep(record, record, 'already-done', `no change ${arn} is recorded`, step);
  if (index < 0) {
    // Closed before (or without) its announcement: remembered, so a late announcement stays closed.
    const closed = record.closedChanges?.includes(arn!)
      ? record
      : { ...record, closedChanges: [...(record.closedChanges ?? []), arn!].slice(-16) };
    return keep(record, closed, 'already-done', `no change ${arn} is recorded`, step);
  }
  const closedChanges = [...(record.closedChanges ?? []), arn!].slice(-16);
  const r = tidy(
    { ...record, reasons: record.reasons.filter((_, i) => i !== index), closedChanges },
    step.world,
  );
  const back = backStep(record, r, step);
  if (back) return back;
  const still = r.reasons[0];
  const why = still
    ? `${still.kind} ${still.eventId} still holds the node`
    : 'released once the node is Ready and no drain runs';
  return keep(record, r, 'closed', why, step);
}

/** Why the notice is one EC2 has since left behind, if it is: a state change for an instance started again since. */
function obsoleteBy(notice: NoticeInput, step: Step): string | undefined {
  const instance = step.world.instance;
  if (notice.kind !== NoticeKind.StateChange || instance === 'unknown' || instance.state !== 'running')
    return undefined;
  if (instance.launchTime === undefined || instance.launchTime <= notice.eventTime) return undefined;
  return `EC2 says running since ${new Date(instance.launchTime).toISOString()}, after this ${notice.detail ?? 'state'} notice`;
}
