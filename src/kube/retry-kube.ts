import { retryWithBackoff } from '../retry.js';
import { isTransientKubeError, retryAfterMsOf } from './api-errors.js';

export interface KubeRetryOptions {
  /** No attempt starts after this, and no wait runs past it (the first attempt always runs). */
  deadline: number;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Runs a Kubernetes API call, or an idempotent step made of a few, again while it fails in a way
 * another attempt may not: throttling (429, honouring Retry-After), 5xx, timeouts and broken
 * connections, until the deadline. API Priority and Fairness answers 429 exactly when a region-wide
 * reclaim drains many nodes at once; one such answer must not cost a node its drain.
 */
export function retryKube<T>(operation: () => Promise<T>, options: KubeRetryOptions): Promise<T> {
  return retryWithBackoff(operation, {
    deadline: options.deadline,
    isRetryable: isTransientKubeError,
    retryAfterMs: retryAfterMsOf,
    baseDelayMs: 200,
    maxDelayMs: 2_000,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
