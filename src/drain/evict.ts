import type * as k8s from '@kubernetes/client-node';
import {
  httpStatusOf,
  isMultiplePdbError,
  isTransientKubeError,
  kubeStatusOf,
  retryAfterMsOf,
} from '../kube/api-errors.js';
import { sleep } from '../retry.js';

export type EvictionOutcome =
  | { status: 'evicted'; attempts: number }
  /** The pod (this pod, by UID) no longer exists: nothing to do. */
  | { status: 'gone'; attempts: number }
  /** A PodDisruptionBudget still refused it when time ran out. */
  | { status: 'blocked'; attempts: number; pdb: string | undefined; message: string }
  | { status: 'failed'; attempts: number; message: string };

/**
 * How long a 403 is taken for an API server that has just (re)started and denies everything until
 * its RBAC caches have synced, rather than for a permission that is missing: then the pod fails.
 */
export const forbiddenGraceMs = 5_000;

export interface EvictOptions {
  gracePeriodSeconds: number;
  /** No attempt starts after this time. */
  stopAt: number;
  signal?: AbortSignal;
  now?: () => number;
  /** Told each time a budget refuses, so a live view can show "blocked by PDB". */
  onBlocked?: (pdb: string | undefined, attempt: number) => void;
}

/**
 * Evicts one pod through the policy/v1 Eviction subresource, retrying while a PodDisruptionBudget
 * refuses (429) or the API server is throttled or failing, until `stopAt`. The UID precondition
 * makes sure a retry never evicts a StatefulSet's replacement pod that took the same name elsewhere.
 */
export async function evictPod(
  core: k8s.CoreV1Api,
  pod: k8s.V1Pod,
  options: EvictOptions,
): Promise<EvictionOutcome> {
  const now = options.now ?? Date.now;
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const body: k8s.V1Eviction = {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name, namespace },
    deleteOptions: {
      gracePeriodSeconds: options.gracePeriodSeconds,
      preconditions: pod.metadata?.uid ? { uid: pod.metadata.uid } : undefined,
    },
  };
  const never = options.signal?.aborted
    ? 'never attempted: the drain was stopped'
    : 'never attempted: no time left';
  let last: EvictionOutcome = { status: 'failed', attempts: 0, message: never };
  let forbiddenSince: number | undefined;
  for (let attempt = 1; now() < options.stopAt && !options.signal?.aborted; attempt++) {
    try {
      await core.createNamespacedPodEviction({ name, namespace, body });
      return { status: 'evicted', attempts: attempt };
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 403) forbiddenSince ??= now();
      // 404: already gone. 409: the UID precondition failed, so this pod is gone and a namesake replaced it.
      if (status === 404 || status === 409) return { status: 'gone', attempts: attempt };
      const kube = kubeStatusOf(error);
      const budgetCause = kube.causes.find((c) => c.reason === 'DisruptionBudget');
      if (status === 429 && budgetCause) {
        const pdb = /disruption budget (\S+)/i.exec(budgetCause.message ?? '')?.[1];
        last = {
          status: 'blocked',
          attempts: attempt,
          pdb,
          message: budgetCause.message ?? kube.message ?? '',
        };
        options.onBlocked?.(pdb, attempt);
      } else if (isMultiplePdbError(error)) {
        return {
          status: 'failed',
          attempts: attempt,
          message: kube.message ?? 'more than one PodDisruptionBudget',
        };
      } else if (isTransientKubeError(error)) {
        last = { status: 'failed', attempts: attempt, message: describe(status, kube.message, error) };
      } else if (status === 403 && now() - (forbiddenSince ?? now()) < forbiddenGraceMs) {
        last = { status: 'failed', attempts: attempt, message: describe(status, kube.message, error) };
      } else {
        return { status: 'failed', attempts: attempt, message: describe(status, kube.message, error) };
      }
      // The disruption controller needs a moment to count a replacement as healthy; polling
      // faster than ~250 ms only adds load, and kubectl's 5 s wastes a Spot notice's time.
      const backoff = Math.min(2_000, 250 * 1.5 ** Math.min(attempt - 1, 8)) * (0.75 + Math.random() * 0.5);
      const delay = Math.min(Math.max(backoff, retryAfterMsOf(error) ?? 0), options.stopAt - now());
      if (delay > 0) await sleep(delay, options.signal);
    }
  }
  return last;
}

function describe(status: number | undefined, message: string | undefined, error: unknown): string {
  if (status !== undefined) return `HTTP ${status}${message ? `: ${message}` : ''}`;
  return (error as Error)?.message ?? String(error);
}
