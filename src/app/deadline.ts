import type { InterruptionNotice } from '../types.js';

/** Never plan a drain shorter than this: a late notice still gets its cordon and a quick try. */
export const minimumDrainWindowMs = 10_000;

/**
 * When the drain must be over: the notice's own deadline (a Spot warning's 120 s), or the configured
 * budget when it sets none, and never past the point where the invocation itself must return.
 */
export function drainDeadline(
  notice: InterruptionNotice,
  now: number,
  noDeadlineBudgetMs: number,
  invocationDeadline: number,
): number {
  const own = notice.deadline?.getTime() ?? now + noDeadlineBudgetMs;
  return Math.min(Math.max(own, now + minimumDrainWindowMs), invocationDeadline);
}
