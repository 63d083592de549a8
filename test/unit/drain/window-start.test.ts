import { describe, expect, it } from 'vitest';
import { firstWindow, WindowMemory, windowMemoryOf, windowStart } from '../../../src/drain/window-start.js';

const { quickListMs, rememberCutMs } = windowStart;

describe('firstWindow', () => {
  it.each([
    // An idle API server: the whole node in the first round trip.
    { case: 'quick list, 110 pods', pods: 110, listMs: 20, expected: 110 },
    { case: 'list just quick enough', pods: 110, listMs: quickListMs, expected: 110 },
    { case: 'list twice as slow', pods: 110, listMs: 2 * quickListMs, expected: 55 },
    { case: 'list four times as slow', pods: 110, listMs: 4 * quickListMs, expected: 27 },
    // Queued by priority and fairness: the floor, from which the window grows if answers are quick.
    { case: 'list queued for seconds', pods: 110, listMs: 5_000, expected: 4 },
    { case: 'few pods', pods: 2, listMs: 10, expected: 4 },
    { case: 'more pods than the maximum', pods: 1_000, listMs: 10, expected: 256 },
    { case: 'a list measured at 0 ms', pods: 30, listMs: 0, expected: 30 },
  ])('$case: $expected', ({ pods, listMs, expected }) => {
    expect(firstWindow({ pods, listMs, running: 1 })).toBe(expected);
  });

  it('stays under what held after the last cut, however quick the list', () => {
    expect(firstWindow({ pods: 110, listMs: 10, heldAfterCut: 12, running: 1 })).toBe(12);
    expect(firstWindow({ pods: 110, listMs: 4 * quickListMs, heldAfterCut: 64, running: 1 })).toBe(27);
  });

  it('shares the start with the drains already running on the same server', () => {
    expect(firstWindow({ pods: 110, listMs: 10, running: 2 })).toBe(55);
    expect(firstWindow({ pods: 30, listMs: 10, running: 10 })).toBe(4);
  });

  it('keeps within the bounds it is given', () => {
    expect(firstWindow({ pods: 110, listMs: 10, running: 1 }, { min: 8, max: 64 })).toBe(64);
    expect(firstWindow({ pods: 110, listMs: 10_000, running: 1 }, { min: 8, max: 64 })).toBe(8);
  });
});

describe('WindowMemory', () => {
  it('starts a drain after a cut at the window that held, for a while', () => {
    // Prepare: a drain cut to 16 at t = 1 000
    const memory = new WindowMemory();
    memory.begin(110, 10, 0).end({ limit: 16, cut: true }, 1_000);

    // Act
    const soon = memory.begin(110, 10, 1_000 + rememberCutMs - 1);
    soon.end({ limit: 16, cut: true }, 1_000 + rememberCutMs - 1);
    const later = memory.begin(110, 10, 1_000 + 2 * rememberCutMs);

    // Assess: held to the cut's window, then, the cut forgotten, the list alone decides
    expect(soon.initial).toBe(16);
    expect(later.initial).toBe(110);
  });

  it('lets a drain that was never cut raise a remembered cut, never lower or set one', () => {
    // Prepare
    const memory = new WindowMemory();
    memory.begin(5, 10, 0).end({ limit: 10, cut: false }, 100);
    const afterSmall = memory.begin(110, 10, 200);
    afterSmall.end({ limit: 20, cut: true }, 300);

    // Act: a clean drain of 5 pods (5 → 10), then a clean one of 30 (20 → 50)
    memory.begin(5, 10, 400).end({ limit: 10, cut: false }, 500);
    const afterSmallClean = memory.begin(110, 10, 600);
    afterSmallClean.end({ limit: 50, cut: false }, 700);
    const afterLargeClean = memory.begin(110, 10, 800);

    // Assess: no ceiling from a clean drain; the cut's 20 kept past the small drain, raised to 50
    expect(afterSmall.initial).toBe(110);
    expect(afterSmallClean.initial).toBe(20);
    expect(afterLargeClean.initial).toBe(50);
  });

  it('shares the start among concurrent drains, and gives a place back once a drain ends', () => {
    // Prepare
    const memory = new WindowMemory();

    // Act: three drains at once, then one more after two ended (one of them twice)
    const first = memory.begin(110, 10, 0);
    const second = memory.begin(110, 10, 0);
    const third = memory.begin(110, 10, 0);
    first.end({ limit: 200, cut: false }, 10);
    second.end({ limit: 150, cut: false }, 10);
    second.end({ limit: 150, cut: false }, 10);
    const fourth = memory.begin(110, 10, 20);

    // Assess
    expect([first.initial, second.initial, third.initial]).toEqual([110, 55, 36]);
    expect(fourth.initial).toBe(55);
  });
});

describe('windowMemoryOf', () => {
  it('keeps one memory per set of clients', () => {
    const clients = {};
    expect(windowMemoryOf(clients)).toBe(windowMemoryOf(clients));
    expect(windowMemoryOf(clients)).not.toBe(windowMemoryOf({}));
  });
});
