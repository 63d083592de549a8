import { DescribeInstanceStatusCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  confirmScheduledChanges,
  ec2ScheduledEvents,
  type ScheduledEvent,
  scheduledChangeStanding,
} from '../../../src/aws/scheduled-events.js';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const start = new Date('2026-12-16T10:00:00Z');
const hours = (n: number) => new Date(start.getTime() + n * 3_600_000);
const retirement: ScheduledEvent = { code: 'instance-retirement', notBefore: start };
const claim = (eventTypeCode: string | undefined) => ({
  instanceId: 'i-0123456789abcdef0',
  eventTypeCode,
  start,
});

describe('scheduledChangeStanding', () => {
  it.each([
    ['a retirement listed at the start', 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', [retirement], 'confirmed'],
    [
      'a retirement listed as a stop',
      'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      [{ code: 'instance-stop', notBefore: start }],
      'confirmed',
    ],
    [
      'a start inside the window EC2 may move it in',
      'AWS_EC2_INSTANCE_STOP_SCHEDULED',
      [{ code: 'instance-stop', notBefore: hours(-48), notBeforeDeadline: hours(24) }],
      'confirmed',
    ],
    ['nothing listed', 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', [], 'unconfirmed'],
    [
      'another code only',
      'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      [{ code: 'system-reboot', notBefore: start }],
      'unconfirmed',
    ],
    [
      'the event a week later',
      'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      [{ code: 'instance-retirement', notBefore: hours(168) }],
      'unconfirmed',
    ],
    [
      'the event cancelled',
      'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      [{ ...retirement, description: '[Canceled] The instance is running on degraded hardware' }],
      'unconfirmed',
    ],
    [
      'the event completed',
      'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      [{ ...retirement, description: '[Completed] The instance is running on degraded hardware' }],
      'unconfirmed',
    ],
    [
      'a type not in the table, any code',
      'AWS_EC2_SOMETHING_NEW',
      [{ code: 'system-maintenance', notBefore: start }],
      'confirmed',
    ],
    ['no type, nothing listed', undefined, [], 'unconfirmed'],
    ['a Dedicated Host type', 'AWS_EC2_DEDICATED_HOST_RETIREMENT_SCHEDULED', [], 'unlisted-type'],
  ] as const)('%s: %s', (_, type, events, standing) => {
    expect(scheduledChangeStanding(claim(type), events).standing).toBe(standing);
  });
});

describe('ec2ScheduledEvents', () => {
  it('asks one id at a time when EC2 refuses a batch for an instance it no longer knows', async () => {
    // Prepare: EC2 fails any call that names the gone instance.
    const gone = Object.assign(new Error('The instance ID does not exist'), {
      name: 'InvalidInstanceID.NotFound',
    });
    ec2Mock.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds?: string[] }) => {
      if (input.InstanceIds?.includes('i-0000000000000dead')) throw gone;
      return {
        InstanceStatuses: (input.InstanceIds ?? []).map((id) => ({
          InstanceId: id,
          Events: [{ Code: 'instance-stop', NotBefore: start }],
        })),
      };
    });

    // Act
    const events = await ec2ScheduledEvents(new EC2Client({ region: 'us-east-1' }))(
      ['i-0123456789abcdef0', 'i-0000000000000dead'],
      { deadline: Date.now() + 10_000 },
    );

    // Assess
    expect(events.get('i-0123456789abcdef0')).toEqual([{ code: 'instance-stop', notBefore: start }]);
    expect(events.get('i-0000000000000dead')).toEqual([]);
    expect(
      ec2Mock.commandCalls(DescribeInstanceStatusCommand).map((c) => c.args[0].input.InstanceIds),
    ).toEqual([
      ['i-0123456789abcdef0', 'i-0000000000000dead'],
      ['i-0123456789abcdef0'],
      ['i-0000000000000dead'],
    ]);
  });
});

describe('confirmScheduledChanges', () => {
  it('asks EC2 once for every claim it cannot answer by type alone', async () => {
    // Prepare
    const asked: string[][] = [];
    const source = async (ids: string[]) => {
      asked.push(ids);
      return new Map([[ids[0]!, [retirement]]]);
    };

    // Act
    const standings = await confirmScheduledChanges(
      source,
      [claim('AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED'), claim('AWS_EC2_DEDICATED_HOST_RETIREMENT_SCHEDULED')],
      { deadline: Date.now() + 10_000 },
    );

    // Assess
    expect(standings.map((s) => s.standing)).toEqual(['confirmed', 'unlisted-type']);
    expect(asked).toEqual([['i-0123456789abcdef0']]);
  });
});
