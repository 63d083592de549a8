import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsRetryAfterMs, callAws, isRetryableAwsError } from '../../../src/aws/aws-retry.js';
import { TransientError } from '../../../src/errors.js';
import { awsError } from './aws-error.js';

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('isRetryableAwsError', () => {
  it.each([
    ['EC2 throttling', awsError('RequestLimitExceeded', 503), true],
    ['Auto Scaling throttling (HTTP 400)', awsError('Throttling', 400), true],
    ['EKS throttling', awsError('ThrottlingException', 429), true],
    ['an internal error', awsError('InternalError', 500), true],
    ['an unparseable 502 from a proxy', awsError('Unknown', 502), true],
    ['Auto Scaling contention', awsError('ResourceContentionFault', 500), true],
    ['a connection reset', networkError('ECONNRESET'), true],
    ['a socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    ['access denied', awsError('UnauthorizedOperation', 403), false],
    ['a validation error', awsError('ValidationError', 400), false],
    ['an unknown instance', awsError('InvalidInstanceID.NotFound', 400), false],
    ['our own abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
    ['a string', 'boom', false],
  ])('%s -> %s', (_label, error, expected) => {
    // Act
    const retryable = isRetryableAwsError(error);

    // Assess
    expect(retryable).toBe(expected);
  });

  it('retries an error the SDK corrected its clock for', () => {
    // Prepare
    const error = awsError('SignatureDoesNotMatch', 403);
    // Set by @aws-sdk/core's signer when it adjusts its clock offset; not in the public type.
    Object.assign(error.$metadata, { clockSkewCorrected: true });

    // Act & Assess
    expect(isRetryableAwsError(error)).toBe(true);
  });
});

describe('awsRetryAfterMs', () => {
  it('reads Retry-After seconds from the response', () => {
    expect(awsRetryAfterMs(awsError('Throttling', 429, { headers: { 'retry-after': '2' } }))).toBe(2_000);
  });

  it('ignores a missing or non-numeric header', () => {
    expect(awsRetryAfterMs(awsError('Throttling', 429))).toBeUndefined();
    expect(
      awsRetryAfterMs(awsError('Throttling', 429, { headers: { 'retry-after': 'soon' } })),
    ).toBeUndefined();
  });
});

describe('callAws', () => {
  it('retries throttling until the call succeeds', async () => {
    // Prepare
    const call = vi
      .fn<(signal: AbortSignal) => Promise<string>>()
      .mockRejectedValueOnce(awsError('RequestLimitExceeded', 503))
      .mockRejectedValueOnce(awsError('RequestLimitExceeded', 503))
      .mockResolvedValue('ok');

    // Act
    const result = await callAws('test call', call, { deadline: Date.now() + 10_000 });

    // Assess
    expect(result).toBe('ok');
    expect(call).toHaveBeenCalledTimes(3);
  });

  it('throws a non-retryable error unchanged after one attempt', async () => {
    // Prepare
    const denied = awsError('UnauthorizedOperation', 403);
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockRejectedValue(denied);

    // Act
    const outcome = callAws('test call', call, { deadline: Date.now() + 10_000 });

    // Assess
    await expect(outcome).rejects.toBe(denied);
    expect(call).toHaveBeenCalledTimes(1);
  });
});

describe('callAws at the deadline', () => {
  const start = Date.parse('2025-06-05T07:00:00Z');
  beforeEach(() => {
    vi.useFakeTimers({ now: start });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** A call that only ends when its signal fires, as the SDK's send does. */
  const hanging = (signal: AbortSignal) =>
    new Promise<never>((_resolve, reject) =>
      signal.addEventListener('abort', () =>
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
      ),
    );

  it('gives up with a TransientError whose cause is the last failure, no attempt after the deadline', async () => {
    // Prepare
    const throttled = awsError('Throttling', 400);
    const attemptsAt: number[] = [];
    const call = vi.fn(async (_signal: AbortSignal): Promise<string> => {
      attemptsAt.push(Date.now() - start);
      throw throttled;
    });

    // Act
    const settled = callAws('CompleteLifecycleAction i-1', call, { deadline: start + 300 }).catch(
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(300);

    // Assess
    const error = await settled;
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/CompleteLifecycleAction i-1 .*Throttling \(HTTP 400\)/);
    expect((error as Error).cause).toBe(throttled);
    expect(attemptsAt.length).toBeGreaterThan(1);
    expect(attemptsAt.every((at) => at < 300)).toBe(true);
  });

  it('aborts an attempt that is still running at the deadline, and not before', async () => {
    // Prepare
    let signal: AbortSignal | undefined;
    const call = (s: AbortSignal) => {
      signal = s;
      return hanging(s);
    };

    // Act
    const settled = callAws('DescribeInstances i-1', call, { deadline: start + 200 }).catch(
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(199);
    const abortedEarly = signal?.aborted;
    await vi.advanceTimersByTimeAsync(1);

    // Assess: with nothing but the abort to report, the abort is the cause
    expect(abortedEarly).toBe(false);
    expect(signal?.aborted).toBe(true);
    const error = await settled;
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).cause).toMatchObject({ name: 'AbortError' });
  });

  it('keeps the throttle as the cause when the deadline aborts the attempt after it', async () => {
    // Prepare: throttled once, then the next attempt is still waiting for its answer at the deadline.
    const throttled = awsError('RequestLimitExceeded', 503);
    const call = vi
      .fn<(signal: AbortSignal) => Promise<string>>()
      .mockRejectedValueOnce(throttled)
      .mockImplementation(hanging);

    // Act
    const settled = callAws('DescribeInstances i-1', call, { deadline: start + 1_000 }).catch(
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    const error = await settled;
    expect(call).toHaveBeenCalledTimes(2);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).cause).toBe(throttled);
    expect((error as Error).message).toMatch(/RequestLimitExceeded \(HTTP 503\)/);
  });

  it("keeps the throttle as the cause when the caller's signal aborts the attempt after it", async () => {
    // Prepare
    const throttled = awsError('RequestLimitExceeded', 503);
    const call = vi
      .fn<(signal: AbortSignal) => Promise<string>>()
      .mockRejectedValueOnce(throttled)
      .mockImplementation(hanging);
    const invocation = new AbortController();

    // Act
    const settled = callAws('DescribeInstances i-1', call, {
      deadline: start + 10_000,
      signal: invocation.signal,
    }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(500);
    invocation.abort();
    await vi.advanceTimersByTimeAsync(0);

    // Assess
    const error = await settled;
    expect(call).toHaveBeenCalledTimes(2);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).cause).toBe(throttled);
  });

  it('makes no attempt when the deadline has already passed', async () => {
    // Prepare
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockResolvedValue('ok');

    // Act
    const outcome = callAws('late call', call, { deadline: Date.now() - 1 });

    // Assess
    await expect(outcome).rejects.toThrow(TransientError);
    expect(call).not.toHaveBeenCalled();
  });
});
