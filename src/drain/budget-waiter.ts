import type * as k8s from '@kubernetes/client-node';
import { Watch } from '../kube/client-node.js';
import { matchesSelector } from '../kube/label-selector.js';
import { sleep } from '../retry.js';

/** Without a working watch, a refused pod tries again this often (the disruption controller is quick). */
const blindRetryMs = 2_000;
/** With a working watch, a refused pod still tries again after this long, should an update be missed. */
const watchedRetryMs = 10_000;
/** A watch the API server has not answered in this long counts as not working. */
const watchStartTimeoutMs = 5_000;
/**
 * An accepted eviction holds its place in the budget until the budget's status counts it (names
 * the pod in `disruptedPods`), or this long: an unhealthy pod's eviction is never counted there.
 */
const acceptedHoldMs = 2_000;
/** A watch that ended while pods wait is started again after this long (not in a tight loop). */
const restartAfterMs = 1_000;

interface BudgetState {
  selector: k8s.V1LabelSelector | undefined;
  allowed: number;
  /** The disruption controller has not processed the latest spec yet: its numbers are not final. */
  pending: boolean;
  /** Pods the status already counts as disrupted (`disruptedPods`). */
  counted: Set<string>;
}

interface Waiter {
  wake: () => void;
}

/** An eviction's place in its budget, taken before the request and settled with its answer. */
export interface BudgetTicket {
  /** The budget's name. */
  budget: string;
  /** Whether the eviction had to wait for room (the budget blocked it for a while). */
  waited: boolean;
  settle(answer: 'accepted' | 'refused' | 'other'): void;
}

/**
 * Evictions under a PodDisruptionBudget go at the pace the budget's status allows, instead of each
 * pod trying and being refused: the drain starts from a list of the budgets (seed), sends at most
 * `disruptionsAllowed` evictions per budget (less those it has in flight or the status does not
 * count yet), and the pods of one budget wait together on one watch of the budgets, which wakes as
 * many as a rise of `disruptionsAllowed` allows, oldest first. The API server stays the judge: a
 * budget that refuses anyway (another drain took the disruption) is taken as exhausted until its
 * status says otherwise. That keeps a drain behind a budget near one eviction request per pod.
 */
export class BudgetWaiter {
  readonly #kc: k8s.KubeConfig;
  readonly #now: () => number;
  /** By namespace, then name. */
  readonly #budgets = new Map<string, Map<string, BudgetState>>();
  /** Per budget key: pod name → accepted (waiting to be counted) or in flight. */
  readonly #held = new Map<string, Map<string, { accepted: boolean }>>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #watch: { controller?: AbortController; working: boolean } | undefined;
  /** The version of the seeding list: the watch starts there, so it misses nothing in between. */
  #seededAt: string | undefined;
  #seeded = false;
  #stopped = false;

  constructor(kc: k8s.KubeConfig, now: () => number = Date.now) {
    this.#kc = kc;
    this.#now = now;
  }

  /** Takes the budgets as a list (from the watch cache is fine) showed them; gating starts here. */
  seed(list: k8s.V1PodDisruptionBudgetList): void {
    for (const pdb of list.items) this.#update(pdb, false);
    this.#seededAt = list.metadata?.resourceVersion;
    this.#seeded = true;
  }

  /**
   * Waits until the one budget that covers the pod has room for one more eviction, and takes it.
   * Resolves at once, without a ticket, for a pod under no known budget or under several (the API
   * refuses those outright). The wait is bounded: after `watchedRetryMs` without room, the
   * eviction goes anyway and the API server decides.
   */
  async reserve(
    pod: k8s.V1Pod,
    until: () => number,
    signal?: AbortSignal,
    onWait?: (budget: string) => void,
  ): Promise<BudgetTicket | undefined> {
    const podName = pod.metadata?.name ?? '';
    // A budget counts only Ready pods: evicting one that is not Ready spends none of its room, and the
    // API server may allow it when the budget allows nothing (unhealthyPodEvictionPolicy).
    const key = isReady(pod) ? this.#budgetOf(pod) : undefined;
    if (!key || this.#stopped) return undefined;
    const budget = splitKey(key)[1];
    const giveUpAt = Math.min(until(), this.#now() + watchedRetryMs);
    const waited = this.#room(key) <= 0;
    if (waited) {
      this.#startWatch();
      onWait?.(budget);
    }
    while (this.#room(key) <= 0 && this.#now() < giveUpAt && !signal?.aborted && !this.#stopped) {
      await this.#queue(key, giveUpAt - this.#now(), signal);
    }
    const held = this.#held.get(key) ?? new Map<string, { accepted: boolean }>();
    this.#held.set(key, held);
    const place = { accepted: false };
    held.set(podName, place);
    return {
      budget,
      waited,
      settle: (answer) => {
        if (held.get(podName) !== place) return;
        if (answer === 'accepted' && !this.#counts(key, podName)) {
          place.accepted = true;
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.#free(key, podName, place);
          }, acceptedHoldMs);
          this.#timers.add(timer);
          return;
        }
        // The API server says the budget has no room, whatever our copy of its status says.
        if (answer === 'refused') this.#stateOf(key)!.allowed = 0;
        this.#free(key, podName, place);
      },
    };
  }

  /**
   * After a refusal: resolves when the budget may allow the eviction (its status changed for the
   * better), when the fallback retry time comes, at `until()`, or when the signal aborts.
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
    this.#startWatch();
    const working = this.#watch?.working ?? false;
    const fallback = Math.max(0, Math.min(working ? watchedRetryMs : blindRetryMs, until() - this.#now()));
    await this.#queue(`${namespace}/${name}`, fallback, signal);
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.controller?.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const queue of this.#waiters.values()) for (const waiter of [...queue]) waiter.wake();
  }

  /** The key of the one known budget covering the pod, if exactly one does. */
  #budgetOf(pod: k8s.V1Pod): string | undefined {
    if (!this.#seeded) return undefined;
    const namespace = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    const covering = [...(this.#budgets.get(namespace)?.entries() ?? [])].filter(([, state]) =>
      matchesSelector(state.selector, labels),
    );
    return covering.length === 1 ? `${namespace}/${covering[0]![0]}` : undefined;
  }

  #stateOf(key: string): BudgetState | undefined {
    const [namespace, name] = splitKey(key);
    return this.#budgets.get(namespace)?.get(name);
  }

  /** Evictions the budget allows now, less those we have in flight or it does not count yet. */
  #room(key: string): number {
    const state = this.#stateOf(key);
    // A budget deleted meanwhile refuses nothing.
    if (!state) return Number.POSITIVE_INFINITY;
    if (state.pending) return 0;
    return state.allowed - (this.#held.get(key)?.size ?? 0);
  }

  #counts(key: string, podName: string): boolean {
    return this.#stateOf(key)?.counted.has(podName) ?? false;
  }

  #free(key: string, podName: string, place: { accepted: boolean }): void {
    const held = this.#held.get(key);
    if (held?.get(podName) === place) held.delete(podName);
    this.#wake(key);
  }

  /** Waits for a wake-up of this budget's waiters, at most `ms`. */
  #queue(key: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const queue = this.#waiters.get(key) ?? [];
      this.#waiters.set(key, queue);
      const waiter: Waiter = { wake: () => done() };
      queue.push(waiter);
      const timer = setTimeout(() => done(), Math.max(0, ms));
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

  /** Wakes as many waiters of a budget as it has room for, oldest first. */
  #wake(key: string): void {
    const room = this.#room(key);
    if (room <= 0) return;
    const queue = this.#waiters.get(key) ?? [];
    for (const waiter of queue.slice(0, room)) waiter.wake();
  }

  #update(pdb: k8s.V1PodDisruptionBudget, deleted: boolean): void {
    const namespace = pdb.metadata?.namespace ?? '';
    const name = pdb.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    const inNamespace = this.#budgets.get(namespace) ?? new Map<string, BudgetState>();
    this.#budgets.set(namespace, inNamespace);
    if (deleted) {
      inNamespace.delete(name);
    } else {
      const state: BudgetState = {
        selector: pdb.spec?.selector,
        allowed: pdb.status?.disruptionsAllowed ?? 0,
        pending: (pdb.status?.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0),
        counted: new Set(Object.keys(pdb.status?.disruptedPods ?? {})),
      };
      inNamespace.set(name, state);
      // Accepted evictions the status now counts no longer hold a place of their own.
      const held = this.#held.get(key);
      for (const [podName, place] of held ?? []) {
        if (place.accepted && state.counted.has(podName)) held!.delete(podName);
      }
    }
    this.#wake(key);
  }

  /** One watch of all budgets, from the seeding list's version, started when someone has to wait. */
  #startWatch(): void {
    if (this.#watch || this.#stopped) return;
    const entry: { controller?: AbortController; working: boolean } = { working: false };
    this.#watch = entry;
    const forget = () => {
      if (this.#watch !== entry) return;
      // A new one starts without a version (its ADDED events bring the budgets up to date): at once
      // if pods are waiting, else at the next wait. Meanwhile waiters retry on their own clock.
      this.#watch = undefined;
      this.#seededAt = undefined;
      if (this.#stopped || ![...this.#waiters.values()].some((queue) => queue.length > 0)) return;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#startWatch();
      }, restartAfterMs);
      this.#timers.add(timer);
    };
    const starting = new Watch(this.#kc).watch(
      '/apis/policy/v1/poddisruptionbudgets',
      {
        allowWatchBookmarks: true,
        timeoutSeconds: 300,
        ...(this.#seededAt ? { resourceVersion: this.#seededAt } : {}),
      },
      (type, pdb: k8s.V1PodDisruptionBudget) => {
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          entry.working = true;
          this.#update(pdb, type === 'DELETED');
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

/** Ready as the disruption controller counts a pod healthy: its Ready condition is True. */
function isReady(pod: k8s.V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('/');
  return [key.slice(0, at), key.slice(at + 1)];
}
