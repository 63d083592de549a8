import { minimumDrainWindowMs } from '../interruption/reasons.js';
import type { InterruptionNotice } from '../types.js';

export { minimumDrainWindowMs };

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
  // A maintenance window that has begun sets no end of its own: the drain gets the budget, not the
  // few seconds a past start would leave (Health republishes its events as they move on).
  const start = notice.deadline?.getTime();
  const own =
    start === undefined || (notice.kind === 'scheduled-change' && start <= now)
      ? now + noDeadlineBudgetMs
      : start;
  return Math.min(Math.max(own, now + minimumDrainWindowMs), invocationDeadline);
}
