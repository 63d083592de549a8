/**
 * Drains longer than one invocation: a holder about to reach its invocation's end hands the drain on
 * (its record says so, src/interruption/on-holder.ts) and sends this function an event naming the
 * node; the invocation that gets it looks at the node and takes the drain over at once. A lost event
 * loses nothing: the record stays handed off, and the reconcile's next look takes the drain.
 */
import { handOffEvent } from '../events/drain-hand-off.js';
import type { ContinueDrain } from './app-types.js';
import type { HandOn } from './fan-out.js';

/** How long sending the hand-off may take: it is sent in the last seconds of the invocation. */
const sendBudgetMs = 5_000;

/**
 * Hand-offs sent as asynchronous self-invokes, through the alias this invocation came by, so the new
 * invocation has the same warm instances, retries and dead-letter queue.
 */
export function continueBySelfInvoke(
  invoke: HandOn,
  region: string,
  now: () => number = Date.now,
): ContinueDrain {
  return async (target, invocation) => {
    if (!invocation.account) throw new Error('hand-off needs the invocation account (the function ARN)');
    const event = handOffEvent(
      target,
      { invocationId: invocation.id, account: invocation.account, region: invocation.region ?? region },
      new Date(now()),
    );
    await invoke(event, {
      deadline: Math.min(invocation.deadline, now() + sendBudgetMs),
      ...(invocation.signal ? { signal: invocation.signal } : {}),
      ...(invocation.qualifier ? { qualifier: invocation.qualifier } : {}),
    });
  };
}
