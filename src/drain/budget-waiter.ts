import * as k8s from '@kubernetes/client-node';
import { sleep } from '../retry.js';

/** Without a working watch, a refused pod tries again this often (the disruption controller is quick). */
const blindRetryMs = 2_000;
/** With a working watch, a refused pod still tries again after this long, should an update be missed. */
const watchedRetryMs = 10_000;
/** A watch the API server has not answered in this long counts as not working. */
const watchStartTimeoutMs = 5_000;

interface BudgetState {
  allowed: number;
  /** The disruption controller has not processed the latest spec yet: its numbers are not final. */
  pending: boolean;
}

interface Waiter {
  wake: () => void;
}

/**
 * Pods refused by a PodDisruptionBudget wait for that budget's status instead of each retrying on
 * its own clock: one watch per namespace with refused pods, and when `disruptionsAllowed` rises, as
 * many waiters as it allows (oldest first) try again. That is what keeps a drain behind a budget near
 * one eviction request per pod.
 */
export class BudgetWaiter {
  readonly #kc: k8s.KubeConfig;
  readonly #now: () => number;
  readonly #budgets = new Map<string, BudgetState>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #watches = new Map<string, { controller?: AbortController; working: boolean }>();
  #stopped = false;

  constructor(kc: k8s.KubeConfig, now: () => number = Date.now) {
    this.#kc = kc;
    this.#now = now;
  }

  /**
   * Resolves when the budget may allow another eviction (its status changed for the better), when
   * the fallback retry time comes, at `until()`, or when the signal aborts.
   */
  async waitForAllowance(
    namespace: string,
    name: string | undefined,
    until: () => number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#stopped || signal?.aborted) return;
    if (!name) {
      await sleep(Math.max(0, Math.min(blindRetryMs, until() - this.#now())), signal);
      return;
    }
    this.#watch(namespace);
    const key = `${namespace}/${name}`;
    const working = this.#watches.get(namespace)?.working ?? false;
    const fallback = Math.max(0, Math.min(working ? watchedRetryMs : blindRetryMs, until() - this.#now()));
    await new Promise<void>((resolve) => {
      const queue = this.#waiters.get(key) ?? [];
      this.#waiters.set(key, queue);
      const waiter: Waiter = { wake: () => done() };
      queue.push(waiter);
      const timer = setTimeout(() => done(), fallback);
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        resolve();
      }
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const watch of this.#watches.values()) watch.controller?.abort();
    for (const queue of this.#waiters.values()) for (const waiter of [...queue]) waiter.wake();
  }

  #update(namespace: string, pdb: k8s.V1PodDisruptionBudget, deleted: boolean): void {
    const key = `${namespace}/${pdb.metadata?.name}`;
    const previous = this.#budgets.get(key);
    if (deleted) {
      // No budget, no refusal: everyone waiting on it may go.
      this.#budgets.delete(key);
      this.#release(key, Number.POSITIVE_INFINITY);
      return;
    }
    const state: BudgetState = {
      allowed: pdb.status?.disruptionsAllowed ?? 0,
      pending: (pdb.status?.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0),
    };
    this.#budgets.set(key, state);
    if (!state.pending && state.allowed > 0 && (previous?.allowed ?? 0) <= state.allowed) {
      this.#release(key, state.allowed);
    }
  }

  /** Wakes up to `count` waiters of a budget, oldest first; each of them will spend one disruption. */
  #release(key: string, count: number): void {
    const queue = this.#waiters.get(key) ?? [];
    for (const waiter of queue.slice(0, count)) waiter.wake();
  }

  #watch(namespace: string): void {
    const existing = this.#watches.get(namespace);
    if (existing || this.#stopped) return;
    const entry: { controller?: AbortController; working: boolean } = { working: false };
    this.#watches.set(namespace, entry);
    const forget = () => {
      // The next refused pod starts a new one; meanwhile waiters retry on their own clock.
      if (this.#watches.get(namespace) === entry) this.#watches.delete(namespace);
    };
    const starting = new k8s.Watch(this.#kc).watch(
      `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`,
      { allowWatchBookmarks: true, timeoutSeconds: 300 },
      (type, pdb: k8s.V1PodDisruptionBudget) => {
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          entry.working = true;
          this.#update(namespace, pdb, type === 'DELETED');
        }
      },
      forget,
    );
    const timeout = sleep(watchStartTimeoutMs).then(() => undefined);
    Promise.race([starting, timeout]).then((controller) => {
      if (!controller) {
        starting.then(
          (late) => late.abort(),
          () => {},
        );
        forget();
        return;
      }
      entry.controller = controller;
      entry.working = true;
      if (this.#stopped) controller.abort();
    }, forget);
  }
}
