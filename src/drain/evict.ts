import type * as k8s from '@kubernetes/client-node';
import {
  httpStatusOf,
  isMultiplePdbError,
  isTransientKubeError,
  kubeStatusOf,
  retryAfterMsOf,
} from '../kube/api-errors.js';
import { sleep } from '../retry.js';
import type { BudgetTicket } from './budget-waiter.js';
import type { WindowAnswer } from './eviction-window.js';

export type EvictionOutcome =
  | { status: 'evicted'; attempts: number }
  /** The pod (this pod, by UID) no longer exists: nothing to do. */
  | { status: 'gone'; attempts: number }
  /** Its namespace is being deleted: the pod goes anyway (kubectl waits for it too). */
  | { status: 'namespace-terminating'; attempts: number }
  /** A PodDisruptionBudget still refused it when time ran out. */
  | { status: 'blocked'; attempts: number; pdb: string | undefined; message: string }
  | { status: 'failed'; attempts: number; message: string };

/**
 * How long a 403 is taken for an API server that has just (re)started and denies everything until
 * its RBAC caches have synced, rather than for a permission that is missing: then the pod fails.
 */
export const forbiddenGraceMs = 5_000;

export interface EvictOptions {
  /** The grace period to ask for, computed at each attempt (the time left shrinks, the deadline may move). */
  gracePeriodSeconds: () => number;
  /** No attempt starts after this time (re-read at each attempt). */
  stopAt: () => number;
  signal?: AbortSignal;
  now?: () => number;
  /** Told each time a budget refuses, so a live view can show "blocked by PDB". */
  onBlocked?: (pdb: string | undefined, attempt: number) => void;
  /**
   * Waits after a budget's refusal until the budget may allow the eviction (see BudgetWaiter);
   * without it, a backoff of at most 2 s.
   */
  waitForBudget?: (pdb: string | undefined, until: () => number, signal?: AbortSignal) => Promise<void>;
  /**
   * Before each attempt: waits for room in the pod's budget and takes it (see BudgetWaiter.reserve),
   * so that a budget's pods are not all sent to be refused.
   */
  /** Waits for a place among the drain's evictions in flight (see EvictionWindow). */
  admit?: (signal: AbortSignal | undefined, until: () => number) => Promise<(answer: WindowAnswer) => void>;
  reserveBudget?: (
    until: () => number,
    signal: AbortSignal | undefined,
    onWait: (pdb: string) => void,
  ) => Promise<BudgetTicket | undefined>;
}

/**
 * Evicts one pod through the policy/v1 Eviction subresource, retrying while a PodDisruptionBudget
 * refuses (429) or the API server is throttled or failing, until `stopAt`. The UID precondition
 * makes sure a retry never evicts a StatefulSet's replacement pod that took the same name elsewhere.
 * An eviction of a pod already terminating deletes it at once with the grace asked for, which is
 * how a grace period that would outlast the deadline is cut (kubectl re-evicts such pods too).
 */
export async function evictPod(
  core: k8s.CoreV1Api,
  pod: k8s.V1Pod,
  options: EvictOptions,
): Promise<EvictionOutcome> {
  const now = options.now ?? Date.now;
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const never = options.signal?.aborted
    ? 'never attempted: the drain was stopped'
    : 'never attempted: no time left';
  let last: EvictionOutcome = { status: 'failed', attempts: 0, message: never };
  let forbiddenSince: number | undefined;
  for (let attempt = 1; now() < options.stopAt() && !options.signal?.aborted; attempt++) {
    const ticket = await options.reserveBudget?.(options.stopAt, options.signal, (pdb) =>
      options.onBlocked?.(pdb, attempt),
    );
    const done = await options.admit?.(options.signal, options.stopAt);
    if (now() >= options.stopAt() || options.signal?.aborted) {
      done?.('neutral');
      ticket?.settle('other');
      if (ticket?.waited) {
        const message = `PodDisruptionBudget ${ticket.budget} allowed no disruption before the deadline`;
        last = { status: 'blocked', attempts: attempt - 1, pdb: ticket.budget, message };
      }
      break;
    }
    // The grace is cut after any wait for the budget or the window: it is what is left then.
    const body: k8s.V1Eviction = {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name, namespace },
      deleteOptions: {
        gracePeriodSeconds: options.gracePeriodSeconds(),
        preconditions: pod.metadata?.uid ? { uid: pod.metadata.uid } : undefined,
      },
    };
    try {
      await core.createNamespacedPodEviction({ name, namespace, body });
      done?.('answered');
      ticket?.settle('accepted');
      return { status: 'evicted', attempts: attempt };
    } catch (error) {
      const verdict = classifyEvictionError(error);
      done?.(windowAnswerOf(error, verdict));
      ticket?.settle(verdict.kind === 'budget' ? 'refused' : 'other');
      if (verdict.kind === 'gone') return { status: 'gone', attempts: attempt };
      if (verdict.kind === 'namespace-terminating')
        return { status: 'namespace-terminating', attempts: attempt };
      const status = httpStatusOf(error);
      const message = describe(status, kubeStatusOf(error).message, error);
      if (verdict.kind === 'budget') {
        last = { status: 'blocked', attempts: attempt, pdb: verdict.pdb, message: verdict.message };
        options.onBlocked?.(verdict.pdb, attempt);
        if (options.waitForBudget) {
          await options.waitForBudget(verdict.pdb, options.stopAt, options.signal);
          continue;
        }
      } else if (verdict.kind === 'final') {
        return { status: 'failed', attempts: attempt, message: verdict.message ?? message };
      } else if (verdict.kind === 'forbidden') {
        forbiddenSince ??= now();
        last = { status: 'failed', attempts: attempt, message };
        if (now() - forbiddenSince >= forbiddenGraceMs) return last;
      } else {
        last = { status: 'failed', attempts: attempt, message };
      }
      // The disruption controller needs a moment to count a replacement as healthy; polling
      // faster than ~250 ms only adds load, and kubectl's 5 s wastes a Spot notice's time.
      const backoff = Math.min(2_000, 250 * 1.5 ** Math.min(attempt - 1, 8)) * (0.75 + Math.random() * 0.5);
      const delay = Math.min(Math.max(backoff, retryAfterMsOf(error) ?? 0), options.stopAt() - now());
      if (delay > 0) await sleep(delay, options.signal);
    }
  }
  return last;
}

export type EvictionErrorKind =
  | { kind: 'gone' }
  | { kind: 'namespace-terminating' }
  | { kind: 'budget'; pdb: string | undefined; message: string }
  /** Worth another attempt: throttling, 5xx, a conflict on the budget's own status, a budget's transient 403. */
  | { kind: 'retry' }
  /** A 403 that is final unless the API server just restarted (its RBAC caches not yet synced). */
  | { kind: 'forbidden' }
  | { kind: 'final'; message?: string };

const uidPreconditionFailed = /UID in (the )?precondition/i;
const budgetForbidden = /poddisruptionbudget|disruption budget|DisruptedPods/i;

/** Pure: what an error of the Eviction API means for the pod (table-tested against real answers). */
export function classifyEvictionError(error: unknown): EvictionErrorKind {
  const status = httpStatusOf(error);
  const kube = kubeStatusOf(error);
  if (status === 404) return { kind: 'gone' };
  if (status === 409) {
    // Only a failed UID precondition says the pod was replaced; any other conflict (the budget's
    // status written by two evictions at once) is worth another attempt.
    return uidPreconditionFailed.test(kube.message ?? '') ? { kind: 'gone' } : { kind: 'retry' };
  }
  if (status === 403 && kube.causes.some((c) => c.reason === 'NamespaceTerminating')) {
    return { kind: 'namespace-terminating' };
  }
  const budgetCause = kube.causes.find((c) => c.reason === 'DisruptionBudget');
  if (status === 429 && budgetCause) {
    const text = budgetCause.message ?? kube.message ?? '';
    // Names may hold dots but never end with one: "The disruption budget web.v2 is still being processed."
    const pdb = /disruption budget (\S+)/i.exec(text)?.[1]?.replace(/\.$/, '');
    return { kind: 'budget', pdb, message: text };
  }
  if (isMultiplePdbError(error)) {
    return { kind: 'final', message: kube.message ?? 'more than one PodDisruptionBudget' };
  }
  if (isTransientKubeError(error)) return { kind: 'retry' };
  // "pdb disruptions allowed is negative", "DisruptedPods map too big": the disruption controller
  // catches up within seconds.
  if (status === 403 && budgetForbidden.test(kube.message ?? '')) return { kind: 'retry' };
  if (status === 403) return { kind: 'forbidden' };
  return { kind: 'final' };
}

/** What an error says of the API server's load: a throttle or a timeout says it is busy. */
function windowAnswerOf(error: unknown, verdict: EvictionErrorKind): WindowAnswer {
  const status = httpStatusOf(error);
  if (verdict.kind === 'retry' && (status === 429 || status === 504)) return 'congested';
  return status === undefined ? 'neutral' : 'answered';
}

function describe(status: number | undefined, message: string | undefined, error: unknown): string {
  if (status !== undefined) return `HTTP ${status}${message ? `: ${message}` : ''}`;
  return (error as Error)?.message ?? String(error);
}
