import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  completeLifecycleAction,
  recordLifecycleHeartbeat,
  startHeartbeats,
} from '../../../src/aws/asg-lifecycle.js';
import { lazyClient } from '../../../src/aws/lazy-client.js';
import { TransientError } from '../../../src/errors.js';
import type { LifecycleAction } from '../../../src/types.js';
import { awsError } from './aws-error.js';

const asgMock = mockClient(AutoScalingClient);
const asg = lazyClient(async () => new AutoScalingClient({ region: 'us-east-1' }));
const instanceId = 'i-0123456789abcdef0';
const lifecycle: LifecycleAction = {
  autoScalingGroupName: 'workers',
  lifecycleHookName: 'drain',
  lifecycleActionToken: '87654321-4321-4321-4321-210987654321',
  lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
};
const soon = () => ({ deadline: Date.now() + 5_000 });
const noActiveAction = () =>
  awsError('ValidationError', 400, {
    message: `No active Lifecycle Action found with instance ID ${instanceId}`,
  });

afterEach(() => {
  asgMock.reset();
  vi.useRealTimers();
});

describe('completeLifecycleAction', () => {
  it('completes the action with the result', async () => {
    // Prepare
    asgMock.on(CompleteLifecycleActionCommand).resolves({});

    // Act
    const outcome = await completeLifecycleAction(asg, lifecycle, instanceId, 'CONTINUE', soon());

    // Assess
    expect(outcome).toBe('done');
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)[0]?.args[0].input).toEqual({
      AutoScalingGroupName: 'workers',
      LifecycleHookName: 'drain',
      LifecycleActionToken: lifecycle.lifecycleActionToken,
      LifecycleActionResult: 'CONTINUE',
      InstanceId: instanceId,
    });
  });

  it('retries throttling', async () => {
    // Prepare
    asgMock
      .on(CompleteLifecycleActionCommand)
      .rejectsOnce(awsError('Throttling', 400))
      .rejectsOnce(awsError('ResourceContentionFault', 500))
      .resolves({});

    // Act
    const outcome = await completeLifecycleAction(asg, lifecycle, instanceId, 'ABANDON', soon());

    // Assess
    expect(outcome).toBe('done');
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(3);
  });

  it('gives up at the deadline with a TransientError', async () => {
    // Prepare
    vi.useFakeTimers();
    const throttled = awsError('Throttling', 400);
    asgMock.on(CompleteLifecycleActionCommand).rejects(throttled);
    const deadline = Date.now() + 300;

    // Act
    const settled = completeLifecycleAction(asg, lifecycle, instanceId, 'CONTINUE', { deadline }).catch(
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(300);

    // Assess
    const error = await settled;
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).cause).toBe(throttled);
  });

  it('treats an action that already ended as done by someone else', async () => {
    // Prepare
    asgMock.on(CompleteLifecycleActionCommand).rejects(noActiveAction());

    // Act & Assess
    await expect(completeLifecycleAction(asg, lifecycle, instanceId, 'CONTINUE', soon())).resolves.toBe(
      'not-active',
    );
  });

  it('throws other validation errors', async () => {
    // Prepare
    asgMock
      .on(CompleteLifecycleActionCommand)
      .rejects(awsError('ValidationError', 400, { message: 'bad hook' }));

    // Act & Assess
    await expect(completeLifecycleAction(asg, lifecycle, instanceId, 'CONTINUE', soon())).rejects.toThrow(
      'bad hook',
    );
  });
});

describe('recordLifecycleHeartbeat', () => {
  it('records a heartbeat for the action', async () => {
    // Prepare
    asgMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});

    // Act
    const outcome = await recordLifecycleHeartbeat(asg, lifecycle, instanceId, soon());

    // Assess
    expect(outcome).toBe('done');
    expect(asgMock.commandCalls(RecordLifecycleActionHeartbeatCommand)[0]?.args[0].input).toEqual({
      AutoScalingGroupName: 'workers',
      LifecycleHookName: 'drain',
      LifecycleActionToken: lifecycle.lifecycleActionToken,
      InstanceId: instanceId,
    });
  });
});

describe('startHeartbeats', () => {
  const heartbeats = () => asgMock.commandCalls(RecordLifecycleActionHeartbeatCommand).length;

  it('sends one heartbeat per interval until stopped', async () => {
    // Prepare
    vi.useFakeTimers();
    asgMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});

    // Act
    const beating = startHeartbeats(asg, lifecycle, instanceId, 60_000);
    await vi.advanceTimersByTimeAsync(59_999);
    const beforeFirst = heartbeats();
    await vi.advanceTimersByTimeAsync(1);
    const afterFirst = heartbeats();
    await vi.advanceTimersByTimeAsync(120_000);
    const afterThree = heartbeats();
    beating.stop();
    await vi.advanceTimersByTimeAsync(600_000);

    // Assess
    expect([beforeFirst, afterFirst, afterThree]).toEqual([0, 1, 3]);
    expect(heartbeats()).toBe(3);
  });

  it('sends none after `until`: the action then ends at its own timeout (heartbeatUntil)', async () => {
    // Prepare
    vi.useFakeTimers();
    asgMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});

    // Act: heartbeats every minute, until two and a half minutes from now
    startHeartbeats(asg, lifecycle, instanceId, 60_000, { until: Date.now() + 150_000 });
    await vi.advanceTimersByTimeAsync(600_000);

    // Assess: at one and two minutes; the third would be past `until`
    expect(heartbeats()).toBe(2);
  });

  it('reports a failed heartbeat and keeps going', async () => {
    // Prepare
    vi.useFakeTimers();
    asgMock.on(RecordLifecycleActionHeartbeatCommand).rejectsOnce(awsError('AccessDenied', 403)).resolves({});
    const onError = vi.fn();

    // Act
    const beating = startHeartbeats(asg, lifecycle, instanceId, 10_000, { onError });
    await vi.advanceTimersByTimeAsync(20_000);
    beating.stop();

    // Assess
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ name: 'AccessDenied' });
    expect(heartbeats()).toBe(2);
  });

  it('stops by itself once the action is no longer active', async () => {
    // Prepare
    vi.useFakeTimers();
    asgMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveAction());

    // Act
    startHeartbeats(asg, lifecycle, instanceId, 10_000);
    await vi.advanceTimersByTimeAsync(100_000);

    // Assess
    expect(heartbeats()).toBe(1);
  });
});
