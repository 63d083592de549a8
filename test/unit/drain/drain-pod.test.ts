import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { gracePeriodFor } from '../../../src/drain/drain-pod.js';
import { defaultDrainOptions } from '../../../src/drain/options.js';

const now = Date.parse('2025-06-05T07:00:00Z');

describe('gracePeriodFor', () => {
  const cases: {
    name: string;
    own: number | undefined;
    override?: number;
    leftMs: number;
    expected: number;
  }[] = [
    { name: "uses the pod's own grace period", own: 45, leftMs: 100_000, expected: 45 },
    {
      name: "uses Kubernetes' default 30 s when the pod sets none",
      own: undefined,
      leftMs: 100_000,
      expected: 30,
    },
    {
      name: 'lets the configured period override the pod',
      own: 300,
      override: 10,
      leftMs: 100_000,
      expected: 10,
    },
    {
      name: 'lets the configured period lengthen a short one',
      own: 5,
      override: 20,
      leftMs: 100_000,
      expected: 20,
    },
    { name: 'caps the period to the time left', own: 300, leftMs: 42_500, expected: 42 },
    { name: 'caps the override to the time left', own: 30, override: 90, leftMs: 60_000, expected: 60 },
    { name: 'never goes below one second', own: 30, leftMs: 400, expected: 1 },
    { name: 'gives one second when the stop time has passed', own: 30, leftMs: -5_000, expected: 1 },
    // A grace of 0 deletes the pod without waiting for its kubelet (a force delete): never sent.
    { name: 'gives a pod whose own grace is zero one second', own: 0, leftMs: 100_000, expected: 1 },
  ];

  it.each(cases)('$name', ({ own, override, leftMs, expected }) => {
    // Prepare
    const pod: k8s.V1Pod = { spec: { containers: [], terminationGracePeriodSeconds: own } };
    const options = { ...defaultDrainOptions, podGracePeriodSeconds: override };

    // Act
    const seconds = gracePeriodFor(pod, options, now + leftMs, now);

    // Assess
    expect(seconds).toBe(expected);
  });
});
