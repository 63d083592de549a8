import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import type { DrainContext, DrainProgress } from './drain-types.js';
import { evictPod } from './evict.js';
import type { DrainOptions } from './options.js';
import type { PlannedPod } from './plan.js';
import type { PodTracker } from './pod-tracker.js';
import type { PodReport } from './result.js';

/** Evicts one pod (or waits for one already terminating) and reports how it went. */
export async function drainOnePod(
  planned: PlannedPod,
  tracker: PodTracker,
  context: DrainContext & { now: () => number; progress: (p: DrainProgress) => void },
  stopAt: number,
  started: number,
): Promise<PodReport> {
  const { pod, key, decision } = planned;
  const { now, progress } = context;
  const base = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    tier: decision.tier,
  };
  const gone = async (outcomeIfGone: 'evicted' | 'already-terminating', extra: Partial<PodReport>) => {
    progress({ type: 'pod', pod: key, status: 'terminating' });
    const left = await tracker.waitForGone([key], stopAt, context.signal);
    if (left.length > 0) {
      progress({ type: 'pod', pod: key, status: 'still-there' });
      return {
        ...base,
        ...extra,
        outcome: 'still-terminating' as const,
        reason: 'still terminating at the deadline',
      };
    }
    progress({ type: 'pod', pod: key, status: 'gone' });
    return {
      ...base,
      ...extra,
      outcome: outcomeIfGone,
      goneAfterMs: (tracker.goneTime(key) ?? now()) - started,
    };
  };

  if (decision.action === 'wait') return gone('already-terminating', {});
  const warning = decision.action === 'evict' ? decision.warning : undefined;
  progress({ type: 'pod', pod: key, status: 'evicting', detail: warning });
  let told = false;
  const eviction = await evictPod(context.apis.core, pod, {
    gracePeriodSeconds: gracePeriodFor(pod, context.options, stopAt, now()),
    stopAt,
    signal: context.signal,
    now,
    onBlocked: (pdb) => {
      if (told) return;
      told = true;
      progress({
        type: 'pod',
        pod: key,
        status: 'blocked',
        detail: pdb ? `PodDisruptionBudget ${pdb}` : undefined,
      });
    },
  });
  const extra = { evictionAttempts: eviction.attempts, ...(warning ? { reason: warning } : {}) };
  switch (eviction.status) {
    case 'evicted':
      return gone('evicted', extra);
    case 'gone':
      progress({ type: 'pod', pod: key, status: 'gone' });
      return { ...base, ...extra, outcome: 'evicted', goneAfterMs: now() - started };
    case 'blocked':
      return { ...base, ...extra, outcome: 'blocked', pdb: eviction.pdb, reason: eviction.message };
    case 'failed':
      progress({ type: 'pod', pod: key, status: 'failed', detail: eviction.message });
      return { ...base, ...extra, outcome: 'failed', reason: eviction.message };
  }
}

/** The pod's own grace period (or the configured one), cut so that it ends before the deadline. */
export function gracePeriodFor(pod: k8s.V1Pod, options: DrainOptions, stopAt: number, now: number): number {
  const own = options.podGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.min(own, Math.max(1, Math.floor((stopAt - now) / 1_000)));
}

export function maxGrace(pods: PlannedPod[], options: DrainOptions): number {
  return Math.max(
    0,
    ...pods.map((p) => options.podGracePeriodSeconds ?? p.pod.spec?.terminationGracePeriodSeconds ?? 30),
  );
}

/** FORCE_AT_DEADLINE: deletes the pods a budget still protected when time ran out. */
export async function forceDeleteBlocked(
  core: k8s.CoreV1Api,
  reports: PodReport[],
  progress: (p: DrainProgress) => void,
): Promise<void> {
  await Promise.all(
    reports
      .filter((r) => r.outcome === 'blocked' || r.outcome === 'failed')
      .map(async (r) => {
        try {
          await core.deleteNamespacedPod({ name: r.name, namespace: r.namespace, gracePeriodSeconds: 0 });
        } catch (error) {
          if (httpStatusOf(error) !== 404) {
            r.reason = `${r.reason ?? ''}; force delete failed: HTTP ${httpStatusOf(error) ?? '?'}`;
            return;
          }
        }
        r.outcome = 'force-deleted';
        progress({ type: 'pod', pod: `${r.namespace}/${r.name}`, status: 'force-deleted', detail: r.pdb });
      }),
  );
}
