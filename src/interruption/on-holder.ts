/**
 * What a drain's holder tells the record: it is alive (a renewal, which also brings back what other
 * notices amended), its drain ended, or hooks were completed. A holder that is no longer the
 * record's (taken over as dead, or ended by someone else) changes nothing.
 */
import type { DrainEnd, Effect, Step, Transition } from './inputs.js';
import { type HookRecord, hookKey, type InterruptionRecord, mergeHooks, RecordState } from './record.js';
import { keep, ownHooks, stamp } from './steps.js';

function holds(record: InterruptionRecord | undefined, holder: string): record is InterruptionRecord {
  return record?.state === RecordState.Draining && record.holder === holder;
}

export function onRenew(record: InterruptionRecord | undefined, holder: string, step: Step): Transition {
  if (!holds(record, holder))
    return keep(record, record, 'lost', "the record is no longer this holder's", step);
  const renewed = { ...record, renewedAt: new Date(step.now).toISOString() };
  return { record: renewed, effects: [], outcome: 'renewed', why: 'the holder is alive' };
}

const endStates: Record<DrainEnd, RecordState> = {
  drained: RecordState.Drained,
  'deadline-reached': RecordState.DeadlineReached,
  incomplete: RecordState.Incomplete,
  // The kubelet stopped: what was evicted cannot finish; a look at EC2 decides what comes next.
  halted: RecordState.Incomplete,
  failed: RecordState.Failed,
};

/**
 * The drain's end, recorded after its last look at the pods; the hooks recorded by then are completed
 * next (a failed drain gives the node up at once, for a retry or anyone else, with its hooks).
 */
export function onDrainEnded(
  record: InterruptionRecord | undefined,
  holder: string,
  outcome: DrainEnd,
  step: Step,
): Transition {
  if (!holds(record, holder))
    return keep(record, record, 'lost', "the record is no longer this holder's", step);
  const { renewedAt: _, ...rest } = record;
  const ended = stamp({ ...rest, state: endStates[outcome] }, step);
  const own = outcome === 'failed' ? [] : ownHooks(ended, step.world);
  const effects: Effect[] = own.length > 0 ? [{ type: 'complete-hooks', hooks: own }] : [];
  return { record: ended, effects, outcome: 'ended', why: `the drain ended: ${outcome}` };
}

/**
 * The holder's invocation is about to end while its drain still has time: the record stays draining,
 * marked handed off (stale at once, so the next look takes it over with the same deadline), and a
 * fresh invocation is asked to look. The hooks stay recorded: the next holder heartbeats them.
 */
export function onHandOff(record: InterruptionRecord | undefined, holder: string, step: Step): Transition {
  if (!holds(record, holder))
    return keep(record, record, 'lost', "the record is no longer this holder's", step);
  const { renewedAt: _, ...rest } = record;
  const handedOff = stamp({ ...rest, handedOffAt: new Date(step.now).toISOString() }, step);
  return {
    record: handedOff,
    effects: [{ type: 'continue-elsewhere' }],
    outcome: 'handed-off',
    why: `the invocation of ${holder} ends before the drain's deadline ${record.deadline}`,
  };
}

/** Hooks completed (or found ended) come off the record, which remembers them. */
export function onHooksCompleted(
  record: InterruptionRecord | undefined,
  hooks: readonly HookRecord[],
  step: Step,
): Transition {
  if (!record) return keep(record, record, 'hooks-completed', 'the record is gone', step);
  const done = new Set(hooks.map(hookKey));
  const left = record.hooks.filter((h) => !done.has(hookKey(h)));
  const { marks } = record;
  const unmarked = !marks.cordoned && marks.taints.length === 0 && !marks.lbLabel;
  // A record kept only for its hooks (its node released) goes with the last of them.
  if (record.reasons.length === 0 && left.length === 0 && unmarked) {
    return {
      record: undefined,
      effects: [{ type: 'release' }],
      outcome: 'hooks-completed',
      why: 'its last hooks completed',
    };
  }
  const hooksDone = mergeHooks(record.hooksDone ?? [], hooks).slice(-16);
  if (left.length === record.hooks.length && hooksDone.length === (record.hooksDone ?? []).length) {
    return keep(record, record, 'hooks-completed', 'remembered already', step);
  }
  return keep(
    record,
    { ...record, hooks: left, hooksDone },
    'hooks-completed',
    `${hooks.length} completed`,
    step,
  );
}
