import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('asgLaunchParser', () => {
  it('turns the fixture into a launch outcome carrying the lifecycle action', () => {
    const event = loadFixture('asg-launch');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'launch',
      eventId: event.id,
      account: '123456789012',
      region: 'us-east-1',
      eventTime: new Date('2025-06-05T07:00:00Z'),
      instanceId: 'i-0123456789abcdef0',
      lifecycleAction: {
        autoScalingGroupName: 'eks-spot-workers',
        lifecycleHookName: 'eks-spot-drainer-launch',
        lifecycleActionToken: '87654321-4321-4321-4321-210987654321',
        lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      },
    });
  });

  it('ignores a test notification sent to the launch rule', () => {
    const event = withDetail(loadFixture('asg-launch'), {
      Event: 'autoscaling:TEST_NOTIFICATION',
      LifecycleTransition: undefined,
      EC2InstanceId: undefined,
    });

    expect(parseEvent(event)).toEqual({
      status: 'ignored',
      eventId: event.id,
      reason: 'Auto Scaling test notification',
    });
  });

  it.each([
    ['EC2InstanceId', undefined],
    ['EC2InstanceId', 'i-nothex000000000'],
    ['LifecycleHookName', 'hook\nname'],
    ['AutoScalingGroupName', ''],
    ['LifecycleActionToken', 'short'],
    // A terminate transition under the launch detail-type is not a launch.
    ['LifecycleTransition', 'autoscaling:EC2_INSTANCE_TERMINATING'],
  ])('drops a detail whose %s is %j as invalid, naming the field', (field, value) => {
    const event = withDetail(loadFixture('asg-launch'), { [field]: value });

    const outcome = parseEvent(event);

    expect(outcome.status).toBe('invalid');
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(new RegExp(`^detail\\.${field}: `));
  });
});
