import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('asgTerminateParser', () => {
  it('turns the fixture into an asg-terminate notice carrying the lifecycle action', () => {
    const event = loadFixture('asg-terminate');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'notices',
      notices: [
        {
          kind: 'asg-terminate',
          instanceId: 'i-0123456789abcdef0',
          region: 'us-east-1',
          account: '123456789012',
          eventId: event.id,
          eventTime: new Date('2025-06-05T07:00:00Z'),
          deadline: undefined,
          detail: 'eks-spot-drainer',
          lifecycleAction: {
            autoScalingGroupName: 'eks-spot-workers',
            lifecycleHookName: 'eks-spot-drainer',
            lifecycleActionToken: '87654321-4321-4321-4321-210987654321',
            lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          },
        },
      ],
    });
  });

  it('ignores the Auto Scaling test notification fixture', () => {
    const event = loadFixture('asg-test-notification');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'ignored',
      eventId: event.id,
      reason: 'Auto Scaling test notification',
    });
  });

  it('ignores a test notification given as LifecycleTransition', () => {
    const event = withDetail(loadFixture('asg-terminate'), {
      LifecycleTransition: 'autoscaling:TEST_NOTIFICATION',
      EC2InstanceId: undefined,
    });

    expect(parseEvent(event).status).toBe('ignored');
  });

  it.each([
    ['EC2InstanceId', undefined],
    ['EC2InstanceId', 'i-nothex000000000'],
    ['LifecycleHookName', undefined],
    ['LifecycleHookName', ''],
    ['LifecycleHookName', 'hook\nname'],
    ['LifecycleHookName', 'h'.repeat(256)],
    ['AutoScalingGroupName', undefined],
    ['AutoScalingGroupName', 5],
    ['LifecycleActionToken', undefined],
    ['LifecycleActionToken', 'short-token'],
    ['LifecycleActionToken', '87654321-4321-4321-4321-210987654321; DROP'],
    ['LifecycleTransition', undefined],
    ['LifecycleTransition', 'autoscaling:EC2_INSTANCE_LAUNCHING'],
  ])('rejects detail.%s = %j', (field, value) => {
    const event = withDetail(loadFixture('asg-terminate'), { [field]: value });

    const outcome = parseEvent(event);

    expect(outcome).toMatchObject({ status: 'invalid', eventId: event.id });
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(new RegExp(`^detail\\.${field}: `));
  });
});
