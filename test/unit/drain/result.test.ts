import { describe, expect, it } from 'vitest';
import { countOutcomes, PodOutcome, type PodReport } from '../../../src/drain/result.js';

const report = (name: string, outcome: PodReport['outcome']): PodReport => ({
  namespace: 'shop',
  name,
  tier: 'ordinary',
  outcome,
});

describe('countOutcomes', () => {
  it('has every outcome, at zero, for no pods', () => {
    // Act
    const counts = countOutcomes([]);

    // Assess
    expect(Object.keys(counts).sort()).toEqual(Object.values(PodOutcome).sort());
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
  });

  it('counts pods by outcome', () => {
    // Prepare
    const pods = [
      report('a', 'evicted'),
      report('b', 'evicted'),
      report('c', 'skipped'),
      report('d', 'blocked'),
      report('e', 'evicted'),
      report('f', 'force-deleted'),
    ];

    // Act
    const counts = countOutcomes(pods);

    // Assess
    expect(counts).toEqual({
      evicted: 3,
      skipped: 1,
      'already-terminating': 0,
      blocked: 1,
      'still-terminating': 0,
      stuck: 0,
      gone: 0,
      returned: 0,
      failed: 0,
      'force-deleted': 1,
      'would-evict': 0,
    });
  });

  it('adds up to the number of pods', () => {
    // Prepare
    const pods = Object.values(PodOutcome).flatMap((outcome, i) =>
      Array.from({ length: i + 1 }, (_, j) => report(`${outcome}-${j}`, outcome)),
    );

    // Act
    const counts = countOutcomes(pods);

    // Assess
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(pods.length);
    expect(counts['would-evict']).toBe(Object.values(PodOutcome).indexOf('would-evict') + 1);
  });
});
