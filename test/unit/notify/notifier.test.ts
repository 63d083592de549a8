import { describe, expect, it, vi } from 'vitest';
import { disabledNotifier, notifierOnFirstUse } from '../../../src/notify/notifier.js';
import type { Notifier } from '../../../src/notify/types.js';
import { sampleInfo, sampleSummary } from './sample.js';

/** A notifier that says it sent everything. */
const sending = (): Notifier => ({
  drainStarted: vi.fn(async () => ({ status: 'sent' as const, httpStatus: 200 })),
  drainFinished: vi.fn(async () => ({ status: 'sent' as const, httpStatus: 200 })),
});

describe('disabledNotifier', () => {
  it('sends nothing and says so', async () => {
    // Act
    const statuses = [
      await disabledNotifier.drainStarted(sampleInfo),
      await disabledNotifier.drainFinished(sampleInfo, sampleSummary()),
    ];

    // Assess
    expect(statuses).toEqual([{ status: 'disabled' }, { status: 'disabled' }]);
  });
});

describe('notifierOnFirstUse', () => {
  it('loads nothing until the first notification, then loads once', async () => {
    // Prepare
    const inner = sending();
    const load = vi.fn(async () => inner);
    const notifier = notifierOnFirstUse(load);
    const loadedBefore = load.mock.calls.length;

    // Act
    const started = await notifier.drainStarted(sampleInfo);
    const finished = await notifier.drainFinished(sampleInfo, sampleSummary());

    // Assess
    expect(loadedBefore).toBe(0);
    expect(load).toHaveBeenCalledTimes(1);
    expect([started, finished]).toEqual([
      { status: 'sent', httpStatus: 200 },
      { status: 'sent', httpStatus: 200 },
    ]);
    expect(inner.drainStarted).toHaveBeenCalledWith(sampleInfo);
    expect(inner.drainFinished).toHaveBeenCalledWith(sampleInfo, sampleSummary());
  });

  it('reports a load that failed as that notification failing, and loads again on the next', async () => {
    // Prepare
    const load = vi
      .fn<() => Promise<Notifier>>()
      .mockRejectedValueOnce(Object.assign(new Error('Cannot find module'), { name: 'LoadError' }))
      .mockResolvedValue(sending());
    const notifier = notifierOnFirstUse(load);

    // Act
    const first = await notifier.drainStarted(sampleInfo);
    const second = await notifier.drainFinished(sampleInfo, sampleSummary());

    // Assess
    expect(first).toEqual({ status: 'failed', reason: 'the notifier could not be loaded: LoadError' });
    expect(second).toEqual({ status: 'sent', httpStatus: 200 });
    expect(load).toHaveBeenCalledTimes(2);
  });
});
