/**
 * A look at the world: what the reconcile asks of every marked node, and what a notice asks first.
 * Level-triggered: it reads the node and its instance as they are now, so a missed or repeated
 * event, or a reconcile run twice, costs a delay and never a wrong state.
 */
import { withinBudget } from './budget.js';
import type { Step, Transition } from './inputs.js';
import { outOfServiceTaint } from './marks.js';
import { dueDrains, openReasons } from './reasons.js';
import { type InterruptionRecord, isStale, RecordState } from './record.js';
import {
  cordon,
  keep,
  liftOutOfService,
  ownHooks,
  recheck,
  release,
  shutDownForGood,
  startDrain,
  takeOutOfService,
  withHibernation,
  withoutForeignHooks,
} from './steps.js';
import { isRunning, isShutDown, outOfServiceKey, type TaintFacts } from './world.js';

/** States in which nothing drains, from which a due drain starts. */
const idleStates: ReadonlySet<RecordState> = new Set([
  RecordState.Scheduled,
  RecordState.Waiting,
  RecordState.Cordoned,
  RecordState.Failed,
]);

/** This project's out-of-service taint (an operator's own is theirs). */
function isOurOutOfService(t: TaintFacts): boolean {
  return t.key === outOfServiceKey && t.value === outOfServiceTaint.value;
}

export function onLook(record: InterruptionRecord | undefined, holder: string, step: Step): Transition {
  if (!record) return keep(record, undefined, 'waiting', 'the node carries no record', step);
  const { now, world, rules } = step;
  const r = tidy(record, world);
  const settled = shutDownStep(record, r, step) ?? backStep(record, r, step);
  if (settled) return actAgain(settled);

  const open = openReasons(r, world, now, rules);
  const own = ownHooks(r, world);
  const completing = own.length > 0 ? [{ type: 'complete-hooks' as const, hooks: own }] : [];
  // EC2 says the instance is leaving (stopping, shutting down): nothing more can be drained.
  const leaving = world.instance !== 'unknown' && !isRunning(world);
  const due = dueDrains(open, now);
  if (r.state === RecordState.Draining) {
    if (!isStale(r, now, rules.staleAfterMs))
      return keep(record, r, 'waiting', `${r.holder} is draining`, step);
    if (due.length > 0 && !leaving)
      return startDrain(r, holder, due, 'draining', `taken over from ${r.holder}`, step);
    // An abandoned drain nothing asks for any more (or of an instance leaving) ends here.
    const { renewedAt: _, ...ended } = r;
    const why = `its holder ${r.holder} is gone and ${leaving ? 'the instance is leaving' : 'nothing asks for a drain'}`;
    return keep(record, { ...ended, state: RecordState.Incomplete }, 'waiting', why, step, completing);
  }
  const idle = idleStates.has(r.state);
  if (due.length > 0 && idle && !leaving) {
    const why = r.state === RecordState.Failed ? 'a failed drain retried' : `${due[0]!.kind} is due`;
    return withinBudget(record, r, due, step, () => startDrain(r, holder, due, 'draining', why, step));
  }
  // A cordon that waited for the budget (a rebalance recommendation) takes its place when one is free.
  const cordons = open.filter((o) => o.action === 'cordon');
  if (r.state === RecordState.Waiting && cordons.length > 0 && !leaving) {
    return withinBudget(record, r, cordons, step, () => cordon(r, `${cordons[0]!.kind} cordons`, step));
  }
  // No drain runs or starts: hooks that waited for one wait no longer.
  if (own.length > 0)
    return keep(
      record,
      r,
      'waiting',
      'no drain under way: its lifecycle hooks are completed',
      step,
      completing,
    );
  return keep(record, r, 'waiting', `${r.state}: nothing has changed`, step);
}

/** A release that left reasons open (recorded anew, unmarked), or out of service lifted: they act at once. */
function actAgain(settled: Transition): Transition {
  const restarted =
    settled.outcome === 'released' || settled.effects.some((e) => e.type === 'lift-out-of-service');
  return restarted && settled.record && settled.record.reasons.length > 0
    ? { ...settled, again: true }
    : settled;
}

/**
 * A machine shut down for good with its kubelet stopped is taken out of service (its hooks
 * completed); a hibernated one is left for its resume. Undefined: the machine is not shut down.
 * `record` is as read; `r` as the input amended it.
 */
export function shutDownStep(
  record: InterruptionRecord | undefined,
  r: InterruptionRecord,
  step: Step,
): Transition | undefined {
  const { world, rules } = step;
  if (!isShutDown(world) || world.node.ready) return undefined;
  const own = ownHooks(r, world);
  const effects = own.length > 0 ? [{ type: 'complete-hooks' as const, hooks: own }] : [];
  if (!shutDownForGood(r, world)) {
    return keep(record, r, 'waiting', 'the instance hibernates: it resumes with its pods', step, effects);
  }
  const state = world.instance !== 'unknown' ? world.instance.state : 'gone';
  const tainted = world.node.taints.some((t) => t.key === outOfServiceKey);
  if (rules.outOfServiceTaint && !(r.state === RecordState.OutOfService && tainted)) {
    if (!world.fresh) return recheck(record, `EC2 may say ${state}: asking again before out-of-service`);
    return takeOutOfService(r, `EC2 says ${state} and the kubelet has stopped`, step);
  }
  const outcome = r.state === RecordState.OutOfService ? 'already-done' : 'waiting';
  return keep(record, r, outcome, `the instance is ${state}; nothing left to do on the node`, step, effects);
}

/**
 * A machine that runs, Ready, that nothing holds any more is released; reasons that closed leave the
 * node to those still open, unless only changes not yet due remain (those need no marks, so the
 * node is released and they stay recorded). Undefined: something still holds the node as it is.
 */
export function backStep(
  record: InterruptionRecord,
  r: InterruptionRecord,
  step: Step,
): Transition | undefined {
  const { now, world, rules } = step;
  const back = world.node.ready && (world.instance === 'unknown' || isRunning(world));
  if (!back) return undefined;
  const live = r.state === RecordState.Draining && !isStale(r, now, rules.staleAfterMs);
  const open = openReasons(r, world, now, rules);
  const someClosed = open.length < r.reasons.length;
  const onlyPending = open.every((o) => o.scheduled !== undefined && now < Date.parse(o.scheduled.drainAt));
  // Out of service is for a machine shut down: one back (however soon) keeps only what its open reasons ask.
  const outOfService = r.state === RecordState.OutOfService || world.node.taints.some(isOurOutOfService);
  const over = !live && (open.length === 0 || (someClosed && onlyPending));
  if (!over && !outOfService) return undefined;
  // Released already, kept for its hooks only: they go first (the look completes them).
  const { marks } = r;
  const unmarked = !marks.cordoned && marks.taints.length === 0 && !marks.lbLabel;
  if (over && r.reasons.length === 0 && unmarked && ownHooks(r, world).length > 0) return undefined;
  if (!world.fresh) return recheck(record, 'what held the node may be over: asking again before a release');
  if (!over) return liftOutOfService(r, 'the machine is back while reasons still hold it', step);
  const why =
    open.length === 0
      ? 'nothing holds the node any more, and it runs, Ready'
      : `the machine is back; ${open.length} change(s) not yet due stay recorded`;
  return release(r, open, why, step);
}

/**
 * The record with what the world says of it: hibernation noted, hooks of other instances dropped,
 * and a cordon someone lifted since no longer ours (a cordon made again later is theirs).
 */
export function tidy(record: InterruptionRecord, world: Step['world']): InterruptionRecord {
  const r = withoutForeignHooks(withHibernation(record, world), world);
  return r.marks.cordoned && !world.node.unschedulable ? { ...r, marks: { ...r.marks, cordoned: false } } : r;
}
