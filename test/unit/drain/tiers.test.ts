import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { PodDecision } from '../../../src/drain/filters.js';
import { defaultDrainOptions } from '../../../src/drain/options.js';
import type { PlannedPod } from '../../../src/drain/plan.js';
import type { PodTier } from '../../../src/drain/result.js';
import { evictionPhases } from '../../../src/drain/tiers.js';

/** A pod planned for eviction in `tier`, with its own grace period. */
function planned(name: string, tier: PodTier, graceSeconds: number): PlannedPod {
  const pod: k8s.V1Pod = {
    metadata: { name, namespace: 'shop' },
    spec: { containers: [], terminationGracePeriodSeconds: graceSeconds },
  };
  const decision: PodDecision = { action: 'evict', tier };
  return { key: `shop/${name}`, pod, decision, budgets: [] };
}

const summary = (phases: ReturnType<typeof evictionPhases>) =>
  phases.map(({ tier, pods, startByMs }) => ({
    tier,
    pods: pods.map((p) => p.pod.metadata?.name),
    startByMs,
  }));

describe('evictionPhases', () => {
  it('has the ordinary and critical phases only when no DaemonSet pod is evicted', () => {
    // Prepare
    const pods = [planned('web', 'ordinary', 30), planned('dns', 'critical', 10)];

    // Act
    const phases = evictionPhases(pods, defaultDrainOptions);

    // Assess
    expect(summary(phases)).toEqual([
      { tier: 'ordinary', pods: ['web'], startByMs: Number.POSITIVE_INFINITY },
      { tier: 'critical', pods: ['dns'], startByMs: 12_000 },
    ]);
  });

  it('puts the DaemonSet tiers after the critical one, each keeping back the grace of those after it', () => {
    // Prepare
    const pods = [
      planned('agent', 'daemonset', 5),
      planned('proxy', 'critical-daemonset', 3),
      planned('web', 'ordinary', 30),
      planned('dns', 'critical', 10),
    ];

    // Act
    const phases = evictionPhases(pods, defaultDrainOptions);

    // Assess
    expect(summary(phases)).toEqual([
      { tier: 'ordinary', pods: ['web'], startByMs: Number.POSITIVE_INFINITY },
      { tier: 'critical', pods: ['dns'], startByMs: 12_000 + 7_000 + 5_000 },
      { tier: 'daemonset', pods: ['agent'], startByMs: 7_000 + 5_000 },
      { tier: 'critical-daemonset', pods: ['proxy'], startByMs: 5_000 },
    ]);
  });

  it('keeps the critical phase when it is empty, and nothing back for it', () => {
    // Prepare
    const pods = [planned('web', 'ordinary', 30), planned('agent', 'daemonset', 5)];

    // Act
    const phases = evictionPhases(pods, defaultDrainOptions);

    // Assess
    expect(summary(phases)).toEqual([
      { tier: 'ordinary', pods: ['web'], startByMs: Number.POSITIVE_INFINITY },
      { tier: 'critical', pods: [], startByMs: 7_000 },
      { tier: 'daemonset', pods: ['agent'], startByMs: 7_000 },
    ]);
  });

  it('keeps back at most 30 s for a tier, however long its pods ask', () => {
    // Prepare
    const pods = [planned('agent', 'daemonset', 600)];

    // Act
    const phases = evictionPhases(pods, { ...defaultDrainOptions, podGracePeriodSeconds: undefined });

    // Assess
    expect(phases.at(-1)).toMatchObject({ tier: 'daemonset', startByMs: 30_000 });
  });
});
