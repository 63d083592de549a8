import type * as k8s from '@kubernetes/client-node';
import type { KubeApis } from '../kube/connection.js';
import type { PodDrainContext } from './drain-pod.js';
import { controllerOf, decidePod } from './filters.js';
import type { DrainOptions } from './options.js';
import { type PlannedPod, podFacts } from './plan.js';
import { type PodTracker, podKey } from './pod-tracker.js';
import type { PodReport } from './result.js';

/** Rounds of "evict what arrived": each waits for the previous round's pods to go. */
const maxRounds = 4;

/**
 * Pods bound to the node after the list: a pod that tolerates the cordon (and the drainer's taint)
 * lands right back, and a list from the watch cache may miss a pod bound a moment before. The watch
 * sees them arrive; they are evicted too, round after round, and a last consistent list before the
 * end makes sure nothing it would evict is left while the drain reports `drained`. A controller
 * whose pods keep coming back is reported once, by pod name, and not evicted again: no loop.
 */
export async function sweepArrivals(
  apis: KubeApis,
  tracker: PodTracker,
  options: DrainOptions,
  context: PodDrainContext,
  drainPod: (planned: PlannedPod) => Promise<PodReport>,
): Promise<PodReport[]> {
  const reports: PodReport[] = [];
  // A replacement that landed before the cordon was seen is normal, and evicted; only an owner whose
  // pod comes back after this sweep evicted one is reported.
  const evictedInSweep = new Set<string>();
  for (let round = 0; round < maxRounds && context.clock.left() > 0 && !context.signal?.aborted; round++) {
    let arrivals = tracker.arrivals();
    if (arrivals.length === 0) {
      // The last look before finishing: a consistent list, not the watch cache.
      arrivals = await tracker.relist().catch(() => []);
      if (arrivals.length === 0) break;
    }
    const facts = await podFacts(apis, context.nodeName, arrivals, options, context.notice?.kind);
    const planned: PlannedPod[] = [];
    for (const pod of arrivals) {
      const decision = decidePod(pod, options, facts);
      const owner = ownerKey(pod);
      const base = {
        namespace: pod.metadata?.namespace ?? '',
        name: pod.metadata?.name ?? '',
        tier: decision.tier,
      };
      if (decision.action === 'skip') {
        tracker.accountFor([pod]);
        reports.push({ ...base, outcome: 'skipped', reason: decision.reason });
        continue;
      }
      if (evictedInSweep.has(owner) && tolerates(pod)) {
        // Evicted once already in this sweep and back again: it tolerates the cordon, so it would
        // come back after every eviction. Say so once, by name, and leave it.
        tracker.accountFor([pod]);
        context.progress({ type: 'pod', pod: podKey(pod), status: 'returned' });
        reports.push({
          ...base,
          outcome: 'returned',
          reason: 'came back to the node after eviction: it tolerates the cordon and the drainer’s taint',
        });
        continue;
      }
      evictedInSweep.add(owner);
      tracker.track([pod]);
      planned.push({ key: podKey(pod), pod, decision, budgets: [] });
    }
    reports.push(...(await Promise.all(planned.map(drainPod))));
  }
  return reports;
}

/** The controller of a pod (kind/name), or the pod itself when it has none: what would recreate it. */
export function ownerKey(pod: k8s.V1Pod): string {
  const owner = controllerOf(pod);
  return owner ? `${pod.metadata?.namespace}/${owner.kind}/${owner.name}` : `${podKey(pod)}`;
}

/** Whether the pod tolerates the cordon (node.kubernetes.io/unschedulable:NoSchedule). */
export function tolerates(pod: k8s.V1Pod): boolean {
  return (pod.spec?.tolerations ?? []).some(
    (t) =>
      (t.operator === 'Exists' && (!t.key || t.key === 'node.kubernetes.io/unschedulable')) ||
      (t.key === 'node.kubernetes.io/unschedulable' && (!t.effect || t.effect === 'NoSchedule')),
  );
}
