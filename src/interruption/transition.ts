/**
 * The one decision about a node's interruption: `next(record, input, step)` says what the record
 * becomes and what must happen to the node, for every input (a notice, a look at the world, a
 * holder's renewal or end, hooks completed). Pure: no clock but `step.now`, no I/O. The door
 * (door.ts) writes what it decides and carries nothing out that it did not decide.
 *
 * Each input has its own file (on-notice.ts, on-look.ts, on-holder.ts); the steps they share are in
 * steps.ts, the reasons that hold a node in reasons.ts, its marks in marks.ts.
 */
import type { Effect, Input, Step, Transition } from './inputs.js';
import { onDrainEnded, onHandOff, onHooksCompleted, onRenew } from './on-holder.js';
import { onLook } from './on-look.js';
import { onNotice } from './on-notice.js';
import { hookKey, type InterruptionRecord, RecordState } from './record.js';

export function next(record: InterruptionRecord | undefined, input: Input, step: Step): Transition {
  const decided = decide(record, input, step);
  // Only a drain is handed on: whatever ends or leaves it forgets the hand-off with it.
  const written = decided.record;
  if (written?.handedOffAt && written.state !== RecordState.Draining) {
    const { handedOffAt: _, ...rest } = written;
    return { ...decided, record: rest };
  }
  return decided;
}

function decide(record: InterruptionRecord | undefined, input: Input, step: Step): Transition {
  switch (input.type) {
    case 'notice':
      return onNotice(record, input.notice, input.holder, step);
    case 'look':
      return onLook(record, input.holder, step);
    case 'renew':
      return onRenew(record, input.holder, step);
    case 'drain-ended':
      return onDrainEnded(record, input.holder, input.outcome, step);
    case 'hand-off':
      return onHandOff(record, input.holder, step);
    case 'hooks-completed':
      return onHooksCompleted(record, input.hooks, step);
  }
}

/**
 * The effects of the transitions one input wrote, in order, to be carried out once: a transition
 * given the same input again (after a release) may ask again for hooks the first one asked for.
 */
export function effectsOf(transitions: readonly Transition[]): Effect[] {
  const asked = new Set<string>();
  const effects: Effect[] = [];
  for (const effect of transitions.flatMap((t) => t.effects)) {
    if (effect.type !== 'complete-hooks') {
      effects.push(effect);
      continue;
    }
    const hooks = effect.hooks.filter((h) => !asked.has(hookKey(h)));
    for (const h of hooks) asked.add(hookKey(h));
    if (hooks.length > 0) effects.push({ ...effect, hooks });
  }
  return effects;
}
