import { DescribeInstancesCommand, type DescribeInstancesCommandInput, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ec2InstanceStates } from '../../../src/aws/instance-states.js';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'us-east-1' });
const soon = () => ({ deadline: Date.now() + 5_000 });
const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

afterEach(() => {
  ec2Mock.reset();
});

/** EC2 as a map of the instances it knows: each call answers for the ids of its filter, in pages of 150. */
function ec2Knows(known: Set<string>) {
  const asked: string[][] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  ec2Mock.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 10));
    inFlight--;
    const ids = input.Filters?.[0]?.Values ?? [];
    if (!input.NextToken) asked.push(ids);
    const found = ids.filter((i) => known.has(i));
    const page = input.NextToken ? found.slice(150) : found.slice(0, 150);
    return {
      Reservations: [
        {
          Instances: page.map((InstanceId) => ({
            InstanceId,
            State: { Name: 'running' as const },
            LaunchTime: new Date('2026-06-01T00:00:00Z'),
            Tags: [{ Key: 'aws:autoscaling:groupName', Value: 'workers' }],
          })),
        },
      ],
      ...(!input.NextToken && found.length > 150 ? { NextToken: 'page-2' } : {}),
    };
  });
  return {
    asked,
    get mostInFlight() {
      return mostInFlight;
    },
  };
}

describe('ec2InstanceStates', () => {
  it('asks in batches of 200, a few at a time, follows every page, and calls the unknown gone', async () => {
    // Prepare: 900 ids, of which EC2 knows all but the last 10.
    const ids = Array.from({ length: 900 }, (_, n) => id(n + 1));
    const ec2Side = ec2Knows(new Set(ids.slice(0, 890)));

    // Act
    const states = await ec2InstanceStates(ec2)([...ids, ids[0]!], soon());

    // Assess
    expect(ec2Side.asked.map((batch) => batch.length).sort((a, b) => b - a)).toEqual([
      200, 200, 200, 200, 100,
    ]);
    expect(ec2Side.mostInFlight).toBeGreaterThan(1);
    expect(ec2Side.mostInFlight).toBeLessThanOrEqual(4);
    expect(states.size).toBe(900);
    expect(states.get(ids[0]!)).toEqual({
      state: 'running',
      launchTime: new Date('2026-06-01T00:00:00Z'),
      autoScalingGroup: 'workers',
    });
    // The second page of a batch (ids 151-200 of it) is read too.
    expect(states.get(ids[180]!)?.state).toBe('running');
    expect(states.get(ids[895]!)).toEqual({ state: 'gone' });
  });
});
