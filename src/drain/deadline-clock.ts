/**
 * A drain's deadline, which can only move earlier: a Spot warning arriving during a drain with a
 * 600 s budget tightens it (Karpenter keeps the earlier of two deadlines). Everything that waits or
 * cuts a grace period asks the clock at that moment, and waits wake up when it moves.
 */
export class DeadlineClock {
  #deadline: number;
  readonly #listeners = new Set<() => void>();

  constructor(
    deadline: number,
    /** Grace periods end this long before the deadline. */
    readonly safetyMarginMs: number,
    readonly now: () => number = Date.now,
  ) {
    this.#deadline = deadline;
  }

  /** When the instance is expected to be gone (epoch ms). */
  get deadline(): number {
    return this.#deadline;
  }

  /** When pods must be gone and the drain must stop trying: the deadline less the safety margin. */
  get stopAt(): number {
    return this.#deadline - this.safetyMarginMs;
  }

  /** Milliseconds left before stopAt (negative once past). */
  left(): number {
    return this.stopAt - this.now();
  }

  /** Moves the deadline earlier; a later one is ignored. Returns whether it moved. */
  tighten(deadline: number): boolean {
    if (!(deadline < this.#deadline)) return false;
    this.#deadline = deadline;
    for (const listener of [...this.#listeners]) listener();
    return true;
  }

  /** Calls `listener` whenever the deadline moves; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves at `until()` (re-read whenever the deadline moves), or when the signal aborts, or when
   * `wake` is called by whoever else it was handed to.
   */
  sleepUntil(until: () => number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        const ms = until() - this.now();
        if (ms <= 0) return done();
        timer = setTimeout(done, ms);
      };
      const unsubscribe = this.onChange(arm);
      signal?.addEventListener('abort', done, { once: true });
      arm();
      function done() {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}

/** The grace period a pod gets now: its own (or the configured one), cut to end by stopAt. */
export function graceWithin(ownSeconds: number, stopAt: number, now: number): number {
  return Math.max(1, Math.min(ownSeconds, Math.floor((stopAt - now) / 1_000)));
}
