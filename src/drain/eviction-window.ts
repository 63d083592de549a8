/** How a request admitted by the window went, as far as the API server's load goes. */
export type WindowAnswer =
  /** Answered (accepted, or refused on its merits such as a budget or a gone pod). */
  | 'answered'
  /** Turned away or timed out by a busy API server: a priority-and-fairness 429, a 504. */
  | 'congested'
  /** Never sent, or failed for reasons that say nothing about the server's load. */
  | 'neutral';

export interface WindowOptions {
  /**
   * Evictions in flight at first. A drain sets it from what the API server has shown
   * (window-start.ts); this default is for a window with nothing to go on.
   */
  initial: number;
  min: number;
  max: number;
  /** An answer slower than this was queued by the API server: send fewer. */
  slowMs: number;
}

// Never below 4: a drain must still finish before its deadline on a server that stays slow.
export const defaultWindow: WindowOptions = { initial: 8, min: 4, max: 256, slowMs: 2_000 };

/**
 * How many evictions one drain keeps in flight (additive increase, multiplicative decrease, as TCP
 * does). A quick answer lets one more request go, so on an idle API server the window doubles every
 * round trip (8, 16, 32 …). A slow answer or a throttled request halves it, once per round trip. In a
 * wave of interruptions the API server's queues then hold what it serves within its 15 s queue limit,
 * instead of every pod of every node at once, most of which it would turn away with 429 after
 * waiting. Where it starts is the drain's choice (window-start.ts).
 */
export class EvictionWindow {
  readonly #options: WindowOptions;
  readonly #now: () => number;
  #limit: number;
  #inFlight = 0;
  #lastCut = Number.NEGATIVE_INFINITY;
  readonly #queue: (() => void)[] = [];
  readonly #idleListeners = new Set<() => void>();

  constructor(options: Partial<WindowOptions> = {}, now: () => number = Date.now) {
    this.#options = { ...defaultWindow, ...options };
    this.#now = now;
    this.#limit = this.#options.initial;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Whether the API server was ever slow or throttling: the limit now is what held after the cuts. */
  get cut(): boolean {
    return this.#lastCut > Number.NEGATIVE_INFINITY;
  }

  /**
   * Waits for a place in the window, at most until `until()` or the signal; the returned function
   * gives it back with how it went. The caller checks the time: a wait that ran out still returns.
   */
  async admit(
    signal?: AbortSignal,
    until: () => number = () => Number.POSITIVE_INFINITY,
  ): Promise<(answer: WindowAnswer) => void> {
    while (this.#inFlight >= this.#limit && !signal?.aborted && this.#now() < until()) {
      await new Promise<void>((resolve) => {
        const go = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', go);
          const at = this.#queue.indexOf(go);
          if (at >= 0) this.#queue.splice(at, 1);
          resolve();
        };
        const left = until() - this.#now();
        const timer = Number.isFinite(left) ? setTimeout(go, Math.max(0, left)) : undefined;
        this.#queue.push(go);
        signal?.addEventListener('abort', go, { once: true });
      });
    }
    this.#inFlight++;
    const sentAt = this.#now();
    let done = false;
    return (answer) => {
      if (done) return;
      done = true;
      this.#inFlight--;
      this.#learn(answer, sentAt);
      this.#wake();
    };
  }

  #learn(answer: WindowAnswer, sentAt: number): void {
    const { min, max, slowMs } = this.#options;
    const slow = this.#now() - sentAt >= slowMs;
    if (answer === 'congested' || (answer === 'answered' && slow)) {
      // Once per round trip: the answers to requests sent before the last cut say nothing new.
      if (sentAt > this.#lastCut) {
        this.#limit = Math.max(min, Math.floor(this.#limit / 2));
        this.#lastCut = this.#now();
      }
    } else if (answer === 'answered') {
      this.#limit = Math.min(max, this.#limit + 1);
    }
  }

  #wake(): void {
    for (let free = this.#limit - this.#inFlight; free > 0 && this.#queue.length > 0; free--) {
      this.#queue.shift()!();
    }
    // A waiter let go takes its place on its next turn: idle is decided once it has.
    if (this.#idleListeners.size > 0) setImmediate(() => this.#notifyIdle());
  }

  /** No eviction in flight or waiting for a place. */
  get idle(): boolean {
    return this.#inFlight === 0 && this.#queue.length === 0;
  }

  /** Calls `listener` whenever the window may have become idle (it checks `idle` itself). */
  onIdle(listener: () => void): void {
    this.#idleListeners.add(listener);
  }

  #notifyIdle(): void {
    if (this.idle) for (const listener of this.#idleListeners) listener();
  }
}
