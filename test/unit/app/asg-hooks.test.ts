import { Logger } from '@aws-lambda-powertools/logger';
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { autoScalingHooks } from '../../../src/app/asg-hooks.js';

const asgMock = mockClient(AutoScalingClient);
const hook = {
  autoScalingGroupName: 'eks-spot-workers',
  lifecycleHookName: 'eks-spot-drainer',
  instanceId: 'i-0123456789abcdef0',
};

function hooks() {
  const metrics = { hookWithVolumesAttached: vi.fn() };
  const log = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  const client = new AutoScalingClient({ region: 'us-east-1' });
  const handler = autoScalingHooks(
    async () => client,
    { deadline: Date.now() + 5_000 },
    log,
    { intervalMs: 0 },
    [],
    metrics,
  );
  return { handler, metrics };
}

afterEach(() => asgMock.reset());

describe('autoScalingHooks', () => {
  it('counts a hook completed with volumes still attached', async () => {
    // Prepare
    asgMock.on(CompleteLifecycleActionCommand).resolves({});
    const { handler, metrics } = hooks();

    // Act
    const done = await handler.complete([hook], ['csi-1']);

    // Assess
    expect(done).toEqual([hook]);
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
    expect(metrics.hookWithVolumesAttached).toHaveBeenCalledTimes(1);
  });

  it('counts none when the volumes were detached', async () => {
    // Prepare
    asgMock.on(CompleteLifecycleActionCommand).resolves({});
    const { handler, metrics } = hooks();

    // Act
    const done = await handler.complete([hook], []);

    // Assess
    expect(done).toEqual([hook]);
    expect(metrics.hookWithVolumesAttached).not.toHaveBeenCalled();
  });

  it('counts none for a hook that could not be completed', async () => {
    // Prepare
    asgMock
      .on(CompleteLifecycleActionCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const { handler, metrics } = hooks();

    // Act
    const done = await handler.complete([hook], ['csi-1']);

    // Assess
    expect(done).toEqual([]);
    expect(metrics.hookWithVolumesAttached).not.toHaveBeenCalled();
  });
});
