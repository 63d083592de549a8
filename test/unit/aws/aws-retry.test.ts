import { describe, expect, it, vi } from 'vitest';
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

  it('gives up with a TransientError naming the last failure when the deadline comes', async () => {
    // Prepare
    const call = vi
      .fn<(signal: AbortSignal) => Promise<string>>()
      .mockRejectedValue(awsError('Throttling', 400));
    const started = Date.now();

    // Act
    const outcome = callAws('CompleteLifecycleAction i-1', call, { deadline: started + 300 });

    // Assess
    await expect(outcome).rejects.toThrow(TransientError);
    await expect(outcome).rejects.toThrow(/CompleteLifecycleAction i-1 .*Throttling \(HTTP 400\)/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(call.mock.calls.length).toBeGreaterThanOrEqual(1);
  });

  it('aborts an attempt that is still running at the deadline', async () => {
    // Prepare: a call that only ends when its signal fires, as the SDK's send does.
    const hanging = (signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) =>
        signal.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        ),
      );
    const started = Date.now();

    // Act
    const outcome = callAws('DescribeInstances i-1', hanging, { deadline: started + 200 });

    // Assess
    await expect(outcome).rejects.toThrow(TransientError);
    expect(Date.now() - started).toBeLessThan(1_000);
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
