import { maxGrace } from './drain-pod.js';
import type { DrainOptions } from './options.js';
import type { PlannedPod } from './plan.js';
import { type PodTier, podTiers } from './result.js';

/** One tier's turn in a drain: its pods, and how late it may start. */
export interface EvictionPhase {
  tier: PodTier;
  pods: PlannedPod[];
  /**
   * The phase starts once every earlier phase is over, and at the latest this long before the drain's
   * stop time: the time its own pods and those of every later phase need for their grace.
   */
  startByMs: number;
}

/** The most a tier keeps back for its grace, however long the grace its pods ask for. */
const maxTierReserveMs = 30_000;

/**
 * The phases of a drain, in tier order: ordinary and critical always (as before DaemonSet pods could
 * be evicted), a DaemonSet tier only when it has pods. A tier with pods keeps back 2 s plus a second
 * per second of the longest grace among them, at most 30 s; an empty one nothing.
 *
 * @example
 * // Critical pods with a 10 s grace and DaemonSet pods with 5 s: the DaemonSet pods start 7 s before
 * // stopAt at the latest, the critical ones 7 + 12 = 19 s before.
 */
export function evictionPhases(active: PlannedPod[], options: DrainOptions): EvictionPhase[] {
  const phases = podTiers
    .map((tier) => ({ tier, pods: active.filter((p) => p.decision.tier === tier) }))
    .filter(({ tier, pods }) => tier === 'ordinary' || tier === 'critical' || pods.length > 0);
  let reserve = 0;
  const timed: EvictionPhase[] = [];
  for (const { tier, pods } of phases.reverse()) {
    if (pods.length > 0) reserve += Math.min(maxTierReserveMs, 2_000 + 1_000 * maxGrace(pods, options));
    timed.unshift({ tier, pods, startByMs: tier === 'ordinary' ? Number.POSITIVE_INFINITY : reserve });
  }
  return timed;
}
