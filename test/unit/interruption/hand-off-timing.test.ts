import { describe, expect, it } from 'vitest';
import { drainTiming, handOffLeadMs } from '../../../src/interruption/hand-off-timing.js';

const end = Date.parse('2026-12-02T10:15:00Z');
const minute = 60_000;

describe('drainTiming', () => {
  it("keeps a long drain's own deadline and hands it on before the invocation ends", () => {
    // Act
    const timing = drainTiming(end + 45 * minute, end, true);

    // Assess
    expect(timing).toEqual({ until: end + 45 * minute, handOffAt: end - handOffLeadMs });
  });

  it('runs to the end what fits, or nearly fits, in the invocation', () => {
    // Act
    const spot = drainTiming(end - 10 * minute, end, true);
    const nearly = drainTiming(end + 20_000, end, true);

    // Assess: a fresh invocation would gain too little to be worth the hand-off
    expect(spot).toEqual({ until: end - 10 * minute });
    expect(nearly).toEqual({ until: end });
  });

  it('stops a long drain at the invocation end where nothing can take it on (the CLI)', () => {
    // Act, Assess
    expect(drainTiming(end + 45 * minute, end, false)).toEqual({ until: end });
  });
});
