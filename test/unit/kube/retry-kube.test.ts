import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineExceededError } from '../../../src/errors.js';
import { retryKube } from '../../../src/kube/retry-kube.js';
import { apiError, fetchError } from '../../support/fake-kube.js';

const start = Date.parse('2025-06-05T07:00:00Z');

/** An operation answering from a script (the last answer repeats), noting when it was called. */
function scripted(...answers: (Error | string)[]) {
  const calls: number[] = [];
  const operation = async () => {
    const answer = answers[Math.min(calls.length, answers.length - 1)]!;
    calls.push(Date.now() - start);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { operation, calls };
}

beforeEach(() => {
  vi.useFakeTimers({ now: start });
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('retryKube', () => {
  it('waits as long as a 429 asks (Retry-After), then succeeds', async () => {
    // Prepare
    const { operation, calls } = scripted(
      apiError(429, { reason: 'TooManyRequests' }, { 'retry-after': '2' }),
      'ok',
    );

    // Act
    const result = retryKube(operation, { deadline: start + 10_000 });
    await vi.advanceTimersByTimeAsync(2_000);

    // Assess
    await expect(result).resolves.toBe('ok');
    expect(calls).toEqual([0, 2_000]);
  });

  it.each([
    ['a 500', apiError(500, { reason: 'InternalError' })],
    ['a 503', apiError(503, { reason: 'ServiceUnavailable' })],
    ['a reset connection', fetchError('ECONNRESET')],
    ['a refused connection', fetchError('ECONNREFUSED')],
  ])('tries again after %s', async (_, error) => {
    // Prepare
    const { operation, calls } = scripted(error, error, 'ok');

    // Act
    const result = retryKube(operation, { deadline: start + 10_000 });
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await expect(result).resolves.toBe('ok');
    expect(calls).toHaveLength(3);
  });

  it.each([403, 404, 409, 422])('does not try again after HTTP %i', async (code) => {
    // Prepare
    const { operation, calls } = scripted(apiError(code), 'ok');

    // Act
    const result = retryKube(operation, { deadline: start + 10_000 });

    // Assess
    await expect(result).rejects.toMatchObject({ code });
    expect(calls).toHaveLength(1);
  });

  it('gives up with a DeadlineExceededError carrying the last failure when the deadline leaves no room', async () => {
    // Prepare
    const failure = apiError(503, { reason: 'ServiceUnavailable' });
    const { operation, calls } = scripted(failure);

    // Act
    const result = retryKube(operation, { deadline: start + 1_500 });
    const settled = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1_500);

    // Assess
    const error = await settled;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).cause).toBe(failure);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.at(-1)).toBeLessThan(1_500);
  });

  it('always makes the first attempt, even past the deadline', async () => {
    // Prepare
    const { operation, calls } = scripted('ok');

    // Act
    const result = await retryKube(operation, { deadline: start - 1 });

    // Assess
    expect(result).toBe('ok');
    expect(calls).toEqual([0]);
  });

  it('stops when the signal aborts', async () => {
    // Prepare
    const controller = new AbortController();
    const { operation, calls } = scripted(apiError(503));

    // Act
    const result = retryKube(operation, { deadline: start + 60_000, signal: controller.signal });
    const settled = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(150);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);

    // Assess: it settles at the abort with the last failure, not at the deadline a minute later.
    expect(await settled).toMatchObject({ code: 503 });
    expect(calls.every((at) => at <= 150)).toBe(true);
  });
});
