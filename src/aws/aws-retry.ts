import { DeadlineExceededError, TransientError } from '../errors.js';
import { retryWithBackoff } from '../retry.js';

/** How long one AWS call may take, and who may cut it short. Shared by every module of src/aws. */
export interface AwsCallOptions {
  /** Epoch milliseconds: no attempt starts after it, and a running attempt is aborted at it. */
  deadline: number;
  /** Aborts the call early (e.g. the Lambda invocation is about to time out). */
  signal?: AbortSignal;
  now?: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

// Error codes AWS services use for "slow down"; EC2 says RequestLimitExceeded, Auto Scaling Throttling.
const throttlingCodes = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

// Failures below the HTTP layer, or timeouts, that a new connection may not see.
const transientCodes = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ResourceContention', // Auto Scaling: another request holds the group
  'ResourceContentionFault',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

const transientStatuses = new Set([429, 500, 502, 503, 504]);

interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; clockSkewCorrected?: boolean };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Whether an AWS SDK failure may succeed on another attempt: throttling, 5xx, timeouts, resets. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as AwsErrorShape;
  if (shape.$retryable) return true;
  // The SDK corrected its clock offset from this response: the next signature will be accepted.
  if (shape.$metadata?.clockSkewCorrected) return true;
  const status = shape.$metadata?.httpStatusCode;
  if (status !== undefined && transientStatuses.has(status)) return true;
  for (const id of [shape.name, shape.code]) {
    if (typeof id === 'string' && (throttlingCodes.has(id) || transientCodes.has(id))) return true;
  }
  return false;
}

/** The delay a throttling response asked for (Retry-After in seconds), if any. */
export function awsRetryAfterMs(error: unknown): number | undefined {
  const header = (error as AwsErrorShape | undefined)?.$response?.headers?.['retry-after'];
  const seconds = header === undefined ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * Runs one AWS call with our retry contract: transient failures are retried with backoff until the
 * deadline, then surface as a {@link TransientError} whose `cause` is the last failure AWS gave (a
 * throttle, a 5xx, a timeout), not the abort the deadline made of the attempt after it; other
 * failures are thrown unchanged. Each attempt is aborted at the deadline, so no request outlives it.
 *
 * @example
 * await callAws('DescribeInstances i-0abc', (abortSignal) => ec2.send(command, { abortSignal }), { deadline });
 */
export async function callAws<T>(
  description: string,
  call: (abortSignal: AbortSignal) => Promise<T>,
  options: AwsCallOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  // What went wrong last on AWS's side. An attempt we cut short ourselves says nothing about AWS,
  // and must not hide the throttle before it.
  let lastFailure: unknown;
  try {
    return await retryWithBackoff(
      async () => {
        const remaining = options.deadline - now();
        if (remaining <= 0) throw new DeadlineExceededError(`${description}: the deadline has passed`);
        const attempt = abortAtDeadline(remaining, options.signal);
        try {
          return await call(attempt.signal);
        } catch (error) {
          if (!attempt.signal.aborted || lastFailure === undefined) lastFailure = error;
          throw error;
        } finally {
          attempt.clear();
        }
      },
      {
        deadline: options.deadline,
        isRetryable: isRetryableAwsError,
        retryAfterMs: awsRetryAfterMs,
        now,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      },
    );
  } catch (error) {
    if (error instanceof DeadlineExceededError || isRetryableAwsError(error) || isAbort(error)) {
      const cause = lastFailure ?? error;
      const message = `${description} did not succeed before the deadline: ${describeError(cause)}`;
      throw new TransientError(message, { cause });
    }
    throw error;
  }
}

// setTimeout fires at once past this; no AWS deadline is 24 days away.
const longestTimerMs = 2 ** 31 - 1;

/**
 * A signal that aborts after `ms` (as AbortSignal.timeout does, with a TimeoutError) or with the
 * caller's. A plain timer, cleared when the attempt ends, so fake timers can drive it in tests.
 */
function abortAtDeadline(ms: number, callerSignal: AbortSignal | undefined) {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    Math.min(ms, longestTimerMs),
  );
  const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
  return { signal, clear: () => clearTimeout(timer) };
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as AwsErrorShape).$metadata?.httpStatusCode;
  return `${error.name}${status ? ` (HTTP ${status})` : ''}: ${error.message}`;
}
