import { DeadlineExceededError } from './errors.js';

export interface RetryOptions {
  /** No attempt starts after this time, and no sleep runs past it. */
  deadline: number;
  /** Whether a failure may succeed on another attempt. */
  isRetryable: (error: unknown) => boolean;
  /** A delay the server asked for (Retry-After), in milliseconds, if any. */
  retryAfterMs?: (error: unknown) => number | undefined;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  signal?: AbortSignal;
  now?: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `operation` until it succeeds, fails for good, or the deadline leaves no time for another try.
 * Backoff is exponential with full jitter, so concurrent invocations of a region-wide reclaim
 * do not retry in lockstep; a server's Retry-After wins when it is longer.
 */
export async function retryWithBackoff<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!options.isRetryable(error) || attempt >= maxAttempts || options.signal?.aborted) throw error;
      const jittered = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      const delay = Math.max(jittered, options.retryAfterMs?.(error) ?? 0);
      if (now() + delay >= options.deadline) {
        throw new DeadlineExceededError(`gave up after ${attempt} attempts: the deadline is too close`, {
          cause: error,
        });
      }
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Resolves after `ms`, or early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
