/**
 * When a drain is handed on: one that outlasts its invocation keeps its own deadline (grace periods
 * are cut to it, not to the invocation's end) and stops shortly before that end, for a fresh
 * invocation to take over (on-holder.ts onHandOff). Pure.
 */

/** A drain is handed on this long before the invocation's end: the halt, the write and the invoke fit in it. */
export const handOffLeadMs = 10_000;
/** A drain is handed on only if its deadline lies at least this far beyond the invocation's end. */
export const handOffGainMs = 30_000;

export interface DrainTiming {
  /** The deadline the drain's clock keeps (epoch ms). */
  until: number;
  /** When to stop and hand the drain on (epoch ms); undefined: it runs to `until`. */
  handOffAt?: number;
}

/**
 * The drain's clock and hand-off time, from its own deadline and the invocation's end. Without a
 * way to hand on (`canHandOff` false: the CLI), a drain stops at the invocation's end, as it did.
 */
export function drainTiming(
  drainDeadline: number,
  invocationDeadline: number,
  canHandOff: boolean,
): DrainTiming {
  if (canHandOff && drainDeadline - invocationDeadline >= handOffGainMs) {
    return { until: drainDeadline, handOffAt: invocationDeadline - handOffLeadMs };
  }
  return { until: Math.min(drainDeadline, invocationDeadline) };
}
