import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const settings = createRequire(import.meta.url)('../../../deploy/serverless/settings.cjs') as {
  functionTimeout: (options: { resolveVariable: (name: string) => Promise<string> }) => Promise<number>;
};

const timeoutFor = (drainTimeoutSeconds: string) =>
  settings.functionTimeout({
    resolveVariable: async (name) => {
      if (name !== 'param:drainTimeoutSeconds') throw new Error(`unexpected ${name}`);
      return drainTimeoutSeconds;
    },
  });

describe('the function timeout', () => {
  it('outlives the drain plus headroom, the Spot notice at least, and Lambda caps it at 900 s', async () => {
    // Act
    const timeouts = await Promise.all(['60', '600', '840', '3600', '172800'].map(timeoutFor));

    // Assess: longer drains are handed on to a fresh invocation before the timeout
    expect(timeouts).toEqual([180, 660, 900, 900, 900]);
  });

  it('refuses a drain longer than Auto Scaling keeps a lifecycle action (48 h)', async () => {
    // Act, Assess
    await expect(timeoutFor('172801')).rejects.toThrow(/drainTimeoutSeconds.*\[1, 172800\]/);
  });
});
