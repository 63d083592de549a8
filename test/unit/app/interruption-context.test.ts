import { describe, expect, it } from 'vitest';
import { rulesOf } from '../../../src/app/interruption-context.js';
import { loadConfig } from '../../../src/config.js';

describe('rulesOf', () => {
  it("hands the taint's keys and effect from the environment to the transition", () => {
    // Prepare
    const config = loadConfig({
      MANAGED_CLUSTERS: 'prod-a',
      NTH_TAINT_KEYS: 'true',
      TAINT_EFFECT: 'NoExecute',
    });

    // Act
    const rules = rulesOf(config);

    // Assess
    expect(rules).toMatchObject({ taintKeys: 'aws-node-termination-handler', taintEffect: 'NoExecute' });
    expect(rulesOf(loadConfig({ MANAGED_CLUSTERS: 'prod-a' }))).toMatchObject({
      taintKeys: 'eks-spot-drainer',
      taintEffect: 'NoSchedule',
    });
  });
});
