import { defaultWindow, type WindowOptions } from './eviction-window.js';

/**
 * Where a drain's eviction window starts. Hard-coded, not configuration: they describe API servers,
 * not clusters.
 */
export const windowStart = {
  /**
   * A pod list (from the watch cache, a few ms of the server's work) answered within this, as the
   * drain saw it, waited in no queue: the API server is idle, and every pod of the node may go in the
   * first round trip. Each doubling of the list's time above it halves that first window.
   */
  quickListMs: 150,
  /**
   * How long a window cut by a slow or throttled API server speaks for it: a wave of Spot
   * interruptions comes within a few minutes; after that the load is another.
   */
  rememberCutMs: 5 * 60_000,
} as const;

/** What the API server has shown before a drain sends its first eviction. */
export interface StartSignals {
  /** Pods the drain is about to evict. */
  pods: number;
  /** How long the node's pod list took, from the drain's side. */
  listMs: number;
  /** The window that last held after a cut on this API server, in this container, if recent. */
  heldAfterCut?: number;
  /** Drains on this API server in this container now, this one included. */
  running: number;
}

/**
 * Pure: the first window of a drain. All its pods after a quick list, fewer as the list slows; never
 * above what held after the last cut (a quick list does not undo what evictions showed); shared
 * evenly with the drains already running on the same server, so that concurrent drains do not
 * all start big; within the window's bounds.
 *
 * @example firstWindow({ pods: 110, listMs: 40, running: 1 }) // 110: one round trip
 * @example firstWindow({ pods: 110, listMs: 600, running: 1 }) // 27
 */
export function firstWindow(
  signals: StartSignals,
  bounds: Pick<WindowOptions, 'min' | 'max'> = defaultWindow,
): number {
  const { pods, listMs, heldAfterCut, running } = signals;
  const fromList = pods * Math.min(1, windowStart.quickListMs / Math.max(1, listMs));
  const start = Math.min(fromList, heldAfterCut ?? Number.POSITIVE_INFINITY) / Math.max(1, running);
  return Math.max(bounds.min, Math.min(bounds.max, Math.floor(start)));
}

/** How a drain's window ended: the limit it reached, and whether the API server ever cut it. */
export interface WindowEnd {
  limit: number;
  cut: boolean;
}

/** One drain's place in the memory: its first window, and where it reports how its window ended. */
export interface WindowLease {
  initial: number;
  end(window: WindowEnd, at: number): void;
}

/**
 * What one container has seen of one API server's answers across drains: the window that held
 * after the last cut, and the drains running now. A drain whose window was never cut shows only
 * that the server took what it sent, not that it would take no more: it raises a remembered cut's
 * limit, never sets one (a 5-pod drain would otherwise hold the next 110-pod drain to 10).
 */
export class WindowMemory {
  #cut: { limit: number; at: number } | undefined;
  #running = 0;

  /** A drain starts evicting: its first window. Call `end` once it stops, whatever happened. */
  begin(pods: number, listMs: number, at: number): WindowLease {
    if (this.#cut && at - this.#cut.at >= windowStart.rememberCutMs) this.#cut = undefined;
    this.#running++;
    const initial = firstWindow({ pods, listMs, heldAfterCut: this.#cut?.limit, running: this.#running });
    let ended = false;
    return {
      initial,
      end: (window, endedAt) => {
        if (ended) return;
        ended = true;
        this.#running--;
        if (window.cut) this.#cut = { limit: window.limit, at: endedAt };
        else if (this.#cut) this.#cut.limit = Math.max(this.#cut.limit, window.limit);
      },
    };
  }
}

/**
 * One memory per API server connection, kept as long as the container keeps its clients (a warm
 * container does, until its token is renewed). Keyed by the clients rather than the server's URL:
 * containers share nothing, and neither do the bench's concurrent apps, which stand for them.
 */
const memories = new WeakMap<object, WindowMemory>();

/** The memory of the API server behind `clients` (a drain's KubeApis). */
export function windowMemoryOf(clients: object): WindowMemory {
  let memory = memories.get(clients);
  if (!memory) {
    memory = new WindowMemory();
    memories.set(clients, memory);
  }
  return memory;
}
