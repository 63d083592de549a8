import type * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  classifyEvictionError,
  type EvictOptions,
  evictPod,
  forbiddenGraceMs,
} from '../../../src/drain/evict.js';
import { apiError, fetchError } from '../../support/fake-kube.js';

const start = Date.parse('2025-06-05T07:00:00Z');

const pod: k8s.V1Pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: '6f1c2b1e-0000-4000-8000-000000000001' },
  spec: { containers: [{ name: 'app' }] },
};

/** What the API server answers when a PodDisruptionBudget refuses an eviction. */
const budgetRefusal = (pdb = 'web-pdb') =>
  apiError(429, {
    reason: 'TooManyRequests',
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    details: {
      causes: [
        {
          reason: 'DisruptionBudget',
          message: `The disruption budget ${pdb} needs 2 healthy pods and has 2 currently`,
        },
      ],
    },
  });
const multipleBudgets = () =>
  apiError(500, {
    reason: 'InternalError',
    message:
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
  });

type Answer = Error | 'ok';

/** A CoreV1Api with only createNamespacedPodEviction, answering from a script; the last answer repeats. */
function fakeCore(...answers: Answer[]) {
  const calls: { at: number; args: { name: string; namespace: string; body: k8s.V1Eviction } }[] = [];
  const core = {
    async createNamespacedPodEviction(args: { name: string; namespace: string; body: k8s.V1Eviction }) {
      const answer = answers[Math.min(calls.length, answers.length - 1)]!;
      calls.push({ at: Date.now() - start, args });
      if (answer !== 'ok') throw answer;
      return { apiVersion: 'policy/v1', kind: 'Eviction' };
    },
  };
  return { core: core as unknown as k8s.CoreV1Api, calls };
}

function options(
  change: Partial<Omit<EvictOptions, 'gracePeriodSeconds' | 'stopAt'>> & {
    gracePeriodSeconds?: number;
    stopAt?: number;
  } = {},
): EvictOptions {
  const { gracePeriodSeconds = 30, stopAt = start + 60_000, ...rest } = change;
  return {
    gracePeriodSeconds: () => gracePeriodSeconds,
    stopAt: () => stopAt,
    now: () => Date.now(),
    ...rest,
  };
}

/** The API server's answer when the UID precondition fails: the pod was replaced by a namesake. */
const uidConflict = () =>
  apiError(409, {
    reason: 'Conflict',
    message:
      'Operation cannot be fulfilled on Pod "web-1": the UID in the precondition (6f1c) does not match the UID in record (9a2d). The object might have been deleted and then recreated',
  });
/** A conflict on the budget's own status: two evictions wrote it at once. */
const budgetConflict = () =>
  apiError(409, {
    reason: 'Conflict',
    message:
      'Operation cannot be fulfilled on poddisruptionbudgets.policy "web-pdb": the object has been modified; please apply your changes to the latest version and try again',
  });
const namespaceTerminating = () =>
  apiError(403, {
    reason: 'Forbidden',
    message:
      'pods "web-1" is forbidden: unable to create new content in namespace shop because it is being terminated',
    details: {
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: 'namespace shop is being terminated',
          field: 'metadata.namespace',
        },
      ],
    },
  });
const negativeBudget = () =>
  apiError(403, {
    reason: 'Forbidden',
    message: 'poddisruptionbudget.policy "web-pdb" is forbidden: pdb disruptions allowed is negative',
  });

beforeEach(() => {
  vi.useFakeTimers({ now: start });
  // Jitter at its midpoint: the backoff is exactly 250 ms × 1.5^(attempt-1).
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('evictPod', () => {
  it('evicts through the Eviction subresource with the UID precondition and the grace period', async () => {
    // Prepare
    const { core, calls } = fakeCore('ok');

    // Act
    const outcome = await evictPod(core, pod, options({ gracePeriodSeconds: 17 }));

    // Assess
    expect(outcome).toEqual({ status: 'evicted', attempts: 1 });
    expect(calls.map((c) => c.args)).toEqual([
      {
        name: 'web-1',
        namespace: 'shop',
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: 'web-1', namespace: 'shop' },
          deleteOptions: {
            gracePeriodSeconds: 17,
            preconditions: { uid: '6f1c2b1e-0000-4000-8000-000000000001' },
          },
        },
      },
    ]);
  });

  it('sends no precondition for a pod without a UID', async () => {
    // Prepare
    const { core, calls } = fakeCore('ok');
    const noUid: k8s.V1Pod = { metadata: { name: 'web-2', namespace: 'shop' } };

    // Act
    await evictPod(core, noUid, options());

    // Assess
    expect(calls[0]?.args.body.deleteOptions?.preconditions).toBeUndefined();
  });

  it.each([
    [
      '404: the pod is already gone',
      () => apiError(404, { reason: 'NotFound', message: 'pods "web-1" not found' }),
    ],
    ['409: the UID precondition failed, a namesake replaced the pod', uidConflict],
  ])('reports %s as gone', async (_, answer) => {
    // Prepare
    const { core, calls } = fakeCore(answer());

    // Act
    const outcome = await evictPod(core, pod, options());

    // Assess
    expect(outcome).toEqual({ status: 'gone', attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it("retries a 409 that is not about the UID precondition (the budget's status written twice at once)", async () => {
    // Prepare
    const { core, calls } = fakeCore(budgetConflict(), 'ok');

    // Act
    const evicting = evictPod(core, pod, options());
    await vi.runAllTimersAsync();

    // Assess
    expect(await evicting).toEqual({ status: 'evicted', attempts: 2 });
    expect(calls).toHaveLength(2);
  });

  it('reports a pod whose namespace is being deleted at once: it goes anyway', async () => {
    // Prepare
    const { core, calls } = fakeCore(namespaceTerminating());

    // Act
    const outcome = await evictPod(core, pod, options());

    // Assess
    expect(outcome).toEqual({ status: 'namespace-terminating', attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it("retries the budget's transient 403 beyond the restart grace", async () => {
    // Prepare: more 403s than the restart grace allows, then the disruption controller caught up.
    const { core, calls } = fakeCore(...Array.from({ length: 12 }, negativeBudget), 'ok');

    // Act
    const evicting = evictPod(core, pod, options());
    await vi.runAllTimersAsync();

    // Assess
    expect(await evicting).toEqual({ status: 'evicted', attempts: 13 });
    expect(calls.at(-1)!.at).toBeGreaterThan(forbiddenGraceMs);
  });

  it('asks for the grace then left at each attempt', async () => {
    // Prepare: the budget lets the pod go 60 s in; 30 s are left then.
    const { core, calls } = fakeCore(budgetRefusal(), 'ok');
    const stopAt = start + 90_000;

    // Act
    const evicting = evictPod(core, pod, {
      gracePeriodSeconds: () => Math.min(90, Math.floor((stopAt - Date.now()) / 1000)),
      stopAt: () => stopAt,
      now: () => Date.now(),
      waitForBudget: async () => {
        vi.setSystemTime(start + 60_000);
      },
    });
    await vi.runAllTimersAsync();

    // Assess
    expect(await evicting).toEqual({ status: 'evicted', attempts: 2 });
    expect(calls.map((c) => c.args.body.deleteOptions?.gracePeriodSeconds)).toEqual([90, 30]);
  });

  it('waits on the budget, not on a timer, when told how', async () => {
    // Prepare
    const { core, calls } = fakeCore(budgetRefusal('shop-pdb'), 'ok');
    const waits: (string | undefined)[] = [];

    // Act
    const outcome = await evictPod(
      core,
      pod,
      options({
        waitForBudget: async (pdb) => {
          waits.push(pdb);
        },
      }),
    );

    // Assess
    expect(outcome).toEqual({ status: 'evicted', attempts: 2 });
    expect(waits).toEqual(['shop-pdb']);
    expect(calls[1]!.at).toBe(0);
  });

  it('retries a budget refusal until it is allowed', async () => {
    // Prepare
    const { core, calls } = fakeCore(budgetRefusal(), budgetRefusal(), 'ok');
    const onBlocked = vi.fn();

    // Act
    const evicting = evictPod(core, pod, options({ onBlocked }));
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await expect(evicting).resolves.toEqual({ status: 'evicted', attempts: 3 });
    expect(calls.map((c) => c.at)).toEqual([0, 250, 625]);
    expect(onBlocked.mock.calls).toEqual([
      ['web-pdb', 1],
      ['web-pdb', 2],
    ]);
  });

  it('reports blocked, naming the budget, when the budget still refuses at the stop time', async () => {
    // Prepare
    const { core, calls } = fakeCore(budgetRefusal('payments-pdb'));

    // Act
    const evicting = evictPod(core, pod, options({ stopAt: start + 3_000 }));
    await vi.advanceTimersByTimeAsync(3_000);

    // Assess
    await expect(evicting).resolves.toEqual({
      status: 'blocked',
      attempts: calls.length,
      pdb: 'payments-pdb',
      message: 'The disruption budget payments-pdb needs 2 healthy pods and has 2 currently',
    });
    // Backoff 250 ms × 1.5ⁿ; the last sleep is cut to end at the stop time, where no attempt starts.
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    [250, 375, 562.5, 843.75].forEach((gap, i) => {
      // Timers fire on whole milliseconds.
      expect(gaps[i]).toBeCloseTo(gap, -0.5);
    });
    expect(calls).toHaveLength(5);
    expect(Date.now()).toBe(start + 3_000);
  });

  it("takes a place in the pod's budget before each attempt and settles it with the answer", async () => {
    // Prepare: refused once, then accepted.
    const { core, calls } = fakeCore(budgetRefusal('shop-pdb'), 'ok');
    const settled: string[] = [];
    const reserveBudget = vi.fn(async () => ({
      budget: 'shop-pdb',
      waited: false,
      settle: (answer: string) => settled.push(answer),
    }));

    // Act
    const outcome = await evictPod(core, pod, options({ reserveBudget, waitForBudget: async () => {} }));

    // Assess
    expect(outcome).toEqual({ status: 'evicted', attempts: 2 });
    expect(calls).toHaveLength(2);
    expect(reserveBudget).toHaveBeenCalledTimes(2);
    expect(settled).toEqual(['refused', 'accepted']);
  });

  it('cuts the grace after waiting for room in the budget, not before', async () => {
    // Prepare: the budget has room 50 s in; 40 s are left then.
    const { core, calls } = fakeCore('ok');
    const stopAt = start + 90_000;

    // Act
    const outcome = await evictPod(core, pod, {
      gracePeriodSeconds: () => Math.min(60, Math.floor((stopAt - Date.now()) / 1000)),
      stopAt: () => stopAt,
      now: () => Date.now(),
      reserveBudget: async () => {
        vi.setSystemTime(start + 50_000);
        return { budget: 'shop-pdb', waited: true, settle: () => {} };
      },
    });

    // Assess
    expect(outcome).toEqual({ status: 'evicted', attempts: 1 });
    expect(calls.map((c) => c.args.body.deleteOptions?.gracePeriodSeconds)).toEqual([40]);
  });

  it('reports blocked, naming the budget, when the budget had no room until the stop time: nothing sent', async () => {
    // Prepare
    const { core, calls } = fakeCore('ok');
    const settled: string[] = [];
    const onBlocked = vi.fn();

    // Act
    const outcome = await evictPod(
      core,
      pod,
      options({
        stopAt: start + 5_000,
        onBlocked,
        reserveBudget: async (_until, _signal, onWait) => {
          onWait('ledger');
          vi.setSystemTime(start + 5_000);
          return { budget: 'ledger', waited: true, settle: (answer) => settled.push(answer) };
        },
      }),
    );

    // Assess
    expect(outcome).toEqual({
      status: 'blocked',
      attempts: 0,
      pdb: 'ledger',
      message: 'PodDisruptionBudget ledger allowed no disruption before the deadline',
    });
    expect(calls).toHaveLength(0);
    expect(settled).toEqual(['other']);
    expect(onBlocked).toHaveBeenCalledWith('ledger', 1);
  });

  it('stops retrying when the signal aborts', async () => {
    // Prepare
    const { core, calls } = fakeCore(budgetRefusal());
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);

    // Act
    const evicting = evictPod(core, pod, options({ signal: abort.signal }));
    await vi.advanceTimersByTimeAsync(300);

    // Assess
    await expect(evicting).resolves.toMatchObject({ status: 'blocked', attempts: 2, pdb: 'web-pdb' });
    expect(calls).toHaveLength(2);
  });

  it('honours Retry-After on a throttling 429 that carries no budget cause', async () => {
    // Prepare
    const throttled = apiError(
      429,
      { reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
      { 'retry-after': '2' },
    );
    const { core, calls } = fakeCore(throttled, 'ok');
    const onBlocked = vi.fn();

    // Act
    const evicting = evictPod(core, pod, options({ onBlocked }));
    await vi.advanceTimersByTimeAsync(1_999);
    const callsBeforeRetryAfter = calls.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(callsBeforeRetryAfter).toBe(1);
    await expect(evicting).resolves.toEqual({ status: 'evicted', attempts: 2 });
    expect(calls.map((c) => c.at)).toEqual([0, 2_000]);
    expect(onBlocked).not.toHaveBeenCalled();
  });

  it("honours the Status details' retryAfterSeconds", async () => {
    // Prepare
    const throttled = apiError(429, { reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
    const { core, calls } = fakeCore(throttled, 'ok');

    // Act
    const evicting = evictPod(core, pod, options());
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await expect(evicting).resolves.toEqual({ status: 'evicted', attempts: 2 });
    expect(calls.map((c) => c.at)).toEqual([0, 1_000]);
  });

  it('fails at once for a pod covered by more than one budget', async () => {
    // Prepare
    const { core, calls } = fakeCore(multipleBudgets(), 'ok');

    // Act
    const outcome = await evictPod(core, pod, options());

    // Assess
    expect(outcome).toEqual({
      status: 'failed',
      attempts: 1,
      message:
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    });
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['503', () => apiError(503, { reason: 'ServiceUnavailable', message: 'etcd leader changed' })],
    [
      '500 that is not about budgets',
      () => apiError(500, { reason: 'InternalError', message: 'etcdserver: request timed out' }),
    ],
    [
      '504',
      () => apiError(504, { reason: 'Timeout', message: 'the server was unable to return a response' }),
    ],
    ['408', () => apiError(408, 'request timeout')],
    ['a connection reset', () => fetchError('ECONNRESET')],
    ['a refused connection', () => fetchError('ECONNREFUSED')],
    [
      'a timed-out request',
      () => Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
    ],
  ])('retries %s', async (_, failure) => {
    // Prepare
    const { core, calls } = fakeCore(failure(), 'ok');

    // Act
    const evicting = evictPod(core, pod, options());
    await vi.advanceTimersByTimeAsync(250);

    // Assess
    await expect(evicting).resolves.toEqual({ status: 'evicted', attempts: 2 });
    expect(calls).toHaveLength(2);
  });

  it('reports the last transient failure when it lasts until the stop time', async () => {
    // Prepare
    const { core, calls } = fakeCore(apiError(503, { message: 'etcd leader changed' }));

    // Act
    const evicting = evictPod(core, pod, options({ stopAt: start + 1_000 }));
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await expect(evicting).resolves.toEqual({
      status: 'failed',
      attempts: calls.length,
      message: 'HTTP 503: etcd leader changed',
    });
    expect(calls.length).toBeGreaterThan(1);
  });

  it('describes a network failure by its message', async () => {
    // Prepare
    const { core } = fakeCore(fetchError('ECONNRESET'));

    // Act
    const evicting = evictPod(core, pod, options({ stopAt: start + 100 }));
    await vi.advanceTimersByTimeAsync(100);

    // Assess
    await expect(evicting).resolves.toEqual({
      status: 'failed',
      attempts: 1,
      message: 'request to https://10.0.0.1/api failed, reason: ECONNRESET',
    });
  });

  it.each([
    [422, 'Invalid', 'Eviction.policy "web-1" is invalid'],
    [401, 'Unauthorized', 'Unauthorized'],
  ])('fails at once on HTTP %i', async (code, reason, message) => {
    // Prepare
    const { core, calls } = fakeCore(apiError(code, { reason, message }), 'ok');

    // Act
    const outcome = await evictPod(core, pod, options());

    // Assess
    expect(outcome).toEqual({ status: 'failed', attempts: 1, message: `HTTP ${code}: ${message}` });
    expect(calls).toHaveLength(1);
  });

  it('retries a 403 for a short grace (a restarted API server denies until RBAC syncs), then fails', async () => {
    // Prepare
    const message =
      'pods "web-1" is forbidden: User "eks-spot-drainer" cannot create resource "pods/eviction"';
    const { core, calls } = fakeCore(apiError(403, { reason: 'Forbidden', message }));

    // Act
    const evicting = evictPod(core, pod, options());
    await vi.advanceTimersByTimeAsync(forbiddenGraceMs + 2_000);

    // Assess
    const outcome = await evicting;
    expect(outcome).toEqual({ status: 'failed', attempts: calls.length, message: `HTTP 403: ${message}` });
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.at(-1)!.at).toBeGreaterThanOrEqual(forbiddenGraceMs);
    expect(calls.at(-1)!.at).toBeLessThan(forbiddenGraceMs + 2_000);
  });

  it('evicts once a 403 of a restarting API server is over', async () => {
    // Prepare
    const { core, calls } = fakeCore(apiError(403, { reason: 'Forbidden', message: 'forbidden' }), 'ok');

    // Act
    const evicting = evictPod(core, pod, options());
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await expect(evicting).resolves.toEqual({ status: 'evicted', attempts: 2 });
    expect(calls).toHaveLength(2);
  });

  it('does not try when the stop time has passed', async () => {
    // Prepare
    const { core, calls } = fakeCore('ok');

    // Act
    const outcome = await evictPod(core, pod, options({ stopAt: start }));

    // Assess
    expect(outcome).toEqual({ status: 'failed', attempts: 0, message: 'never attempted: no time left' });
    expect(calls).toHaveLength(0);
  });
});

describe('classifyEvictionError', () => {
  it.each([
    ['404', apiError(404, { reason: 'NotFound' }), 'gone'],
    ['409 UID precondition', uidConflict(), 'gone'],
    ['409 on the budget', budgetConflict(), 'retry'],
    ['403 namespace terminating', namespaceTerminating(), 'namespace-terminating'],
    ['403 negative disruptions allowed', negativeBudget(), 'retry'],
    [
      '403 forbidden',
      apiError(403, { reason: 'Forbidden', message: 'pods "web-1" is forbidden: User cannot create' }),
      'forbidden',
    ],
    ['429 budget', budgetRefusal(), 'budget'],
    ['429 throttled', apiError(429, { reason: 'TooManyRequests', message: 'too many requests' }), 'retry'],
    ['500 multiple budgets', multipleBudgets(), 'final'],
    ['503', apiError(503, { reason: 'ServiceUnavailable' }), 'retry'],
    ['422', apiError(422, { reason: 'Invalid' }), 'final'],
  ])('%s is %s', (_, error, kind) => {
    // Act + Assess
    expect(classifyEvictionError(error).kind).toBe(kind);
  });

  it('names the budget, dots included', () => {
    // Act
    const verdict = classifyEvictionError(
      apiError(429, {
        reason: 'TooManyRequests',
        details: {
          causes: [
            {
              reason: 'DisruptionBudget',
              message: 'The disruption budget web.v2 is still being processed by the server.',
            },
          ],
        },
      }),
    );

    // Assess
    expect(verdict).toMatchObject({ kind: 'budget', pdb: 'web.v2' });
  });
});
