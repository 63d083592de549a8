import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { describeInstance, InstanceCache } from '../../../src/aws/instance-lookup.js';
import { TransientError } from '../../../src/errors.js';
import { awsError } from './aws-error.js';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'us-east-1' });
const instanceId = 'i-0123456789abcdef0';
const soon = () => ({ deadline: Date.now() + 5_000 });

function instance(overrides: Partial<Instance> = {}): Instance {
  return {
    InstanceId: instanceId,
    PrivateDnsName: 'ip-10-0-1-23.ec2.internal',
    Placement: { AvailabilityZone: 'us-east-1b' },
    State: { Name: 'running', Code: 16 },
    Tags: [
      { Key: 'aws:eks:cluster-name', Value: 'prod' },
      { Key: 'Name', Value: 'worker' },
    ],
    ...overrides,
  };
}

afterEach(() => {
  ec2Mock.reset();
});

describe('describeInstance', () => {
  it('returns what the lookup needs: DNS name, zone, state, tags and cluster names', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance()] }] });

    // Act
    const info = await describeInstance(ec2, instanceId, soon());

    // Assess
    expect(info).toEqual({
      instanceId,
      privateDnsName: 'ip-10-0-1-23.ec2.internal',
      availabilityZone: 'us-east-1b',
      clusterNames: ['prod'],
      state: 'running',
      lifecycle: 'on-demand',
      tags: { 'aws:eks:cluster-name': 'prod', Name: 'worker' },
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: [instanceId],
    });
  });

  it.each([
    [undefined, 'on-demand'],
    ['spot', 'spot'],
    ['capacity-block', 'capacity-block'],
  ] as const)('reads InstanceLifecycle %s as %s', async (lifecycle, expected) => {
    // Prepare
    const described = instance(lifecycle ? { InstanceLifecycle: lifecycle } : {});
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [described] }] });

    // Act
    const info = await describeInstance(ec2, instanceId, soon());

    // Assess
    expect(info?.lifecycle).toBe(expected);
  });

  it('returns undefined for an instance EC2 does not know', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));

    // Act & Assess
    await expect(describeInstance(ec2, instanceId, soon())).resolves.toBeUndefined();
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it('keeps a terminated instance EC2 still lists (its node may still hold pods)', async () => {
    // Prepare
    const terminated = instance({ State: { Name: 'terminated', Code: 48 } });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [terminated] }] });

    // Act & Assess
    await expect(describeInstance(ec2, instanceId, soon())).resolves.toMatchObject({ state: 'terminated' });
  });

  it('keeps an instance that is shutting down (its node may still run pods)', async () => {
    // Prepare
    const stopping = instance({ State: { Name: 'shutting-down', Code: 32 } });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [stopping] }] });

    // Act & Assess
    await expect(describeInstance(ec2, instanceId, soon())).resolves.toMatchObject({
      state: 'shutting-down',
    });
  });

  it('reports a missing DNS name as undefined, not as an empty string', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [instance({ PrivateDnsName: '' })] }] });

    // Act & Assess
    await expect(describeInstance(ec2, instanceId, soon())).resolves.toMatchObject({
      privateDnsName: undefined,
    });
  });

  it('retries throttling', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('RequestLimitExceeded', 503))
      .resolves({ Reservations: [{ Instances: [instance()] }] });

    // Act
    const info = await describeInstance(ec2, instanceId, soon());

    // Assess
    expect(info?.clusterNames).toEqual(['prod']);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });

  it('throws a TransientError once the deadline leaves no room for another try', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));

    // Act
    const outcome = describeInstance(ec2, instanceId, { deadline: Date.now() + 250 });

    // Assess
    await expect(outcome).rejects.toThrow(TransientError);
  });

  it('throws other errors unchanged', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));

    // Act & Assess
    await expect(describeInstance(ec2, instanceId, soon())).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
  });
});

describe('InstanceCache', () => {
  function setup(ttlMs = 30_000) {
    let now = 1_000_000;
    const cache = new InstanceCache(ec2, { ttlMs, now: () => now });
    return { cache, advance: (ms: number) => (now += ms) };
  }

  it('makes one call for a burst of lookups, concurrent or not', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance()] }] });
    const { cache } = setup();

    // Act
    const burst = await Promise.all([cache.get(instanceId, soon()), cache.get(instanceId, soon())]);
    const later = await cache.get(instanceId, soon());

    // Assess
    expect(burst[0]?.clusterNames).toEqual(['prod']);
    expect(later).toEqual(burst[0]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it('asks EC2 again on refresh, whatever it holds, and keeps the new answer', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance()] }] })
      .resolves({ Reservations: [{ Instances: [instance({ InstanceLifecycle: 'spot' })] }] });
    const { cache } = setup(30_000);
    const first = await cache.get(instanceId, soon());

    // Act
    const refreshed = await cache.refresh(instanceId, soon());
    const cached = await cache.get(instanceId, soon());

    // Assess
    expect(first?.lifecycle).toBe('on-demand');
    expect(refreshed?.lifecycle).toBe('spot');
    expect(cached).toEqual(refreshed);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });

  it('asks EC2 again once the answer is older than the TTL', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance()] }] });
    const { cache, advance } = setup(30_000);
    await cache.get(instanceId, soon());

    // Act
    advance(29_999);
    await cache.get(instanceId, soon());
    advance(1);
    await cache.get(instanceId, soon());

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });

  it('remembers that an instance is gone', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));
    const { cache } = setup();

    // Act
    const answers = [await cache.get(instanceId, soon()), await cache.get(instanceId, soon())];

    // Assess
    expect(answers).toEqual([undefined, undefined]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it('does not remember a failure', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('UnauthorizedOperation', 403))
      .resolves({ Reservations: [{ Instances: [instance()] }] });
    const { cache } = setup();
    await expect(cache.get(instanceId, soon())).rejects.toThrow();

    // Act
    const info = await cache.get(instanceId, soon());

    // Assess
    expect(info?.instanceId).toBe(instanceId);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });

  it('keeps instances apart', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).callsFake(({ InstanceIds }) => ({
      Reservations: [{ Instances: [instance({ InstanceId: InstanceIds[0] })] }],
    }));
    const { cache } = setup();

    // Act
    const [a, b] = await Promise.all([cache.get('i-a', soon()), cache.get('i-b', soon())]);

    // Assess
    expect([a?.instanceId, b?.instanceId]).toEqual(['i-a', 'i-b']);
  });
});

describe('InstanceCache.getMany', () => {
  const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

  it('asks EC2 for 450 instances in three filtered calls, following NextToken, and leaves out the unknown', async () => {
    // Prepare: EC2 knows the even ones; the first batch's answer comes in two pages.
    const ids = Array.from({ length: 450 }, (_, n) => id(n));
    ec2Mock.on(DescribeInstancesCommand).callsFake((input) => {
      const asked: string[] = input.Filters[0].Values;
      const known = asked.filter((_, n) => n % 2 === 0).map((i) => instance({ InstanceId: i }));
      if (asked[0] === ids[0] && !input.NextToken) {
        return { Reservations: [{ Instances: known.slice(0, 10) }], NextToken: 'page-2' };
      }
      return { Reservations: [{ Instances: input.NextToken ? known.slice(10) : known }] };
    });
    const cache = new InstanceCache(ec2);

    // Act
    const found = await cache.getMany(ids, soon());

    // Assess
    expect([...found.keys()].sort()).toEqual(ids.filter((_, n) => n % 2 === 0).sort());
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.Filters?.[0]?.Values?.length, c.NextToken])).toEqual([
      [200, undefined],
      [200, 'page-2'],
      [200, undefined],
      [50, undefined],
    ]);
  });

  it('answers from the cache what it knows, and asks EC2 only for the rest', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).callsFake((input) => ({
      Reservations: [
        {
          Instances: (input.InstanceIds ?? input.Filters[0].Values).map((i: string) =>
            instance({ InstanceId: i }),
          ),
        },
      ],
    }));
    const cache = new InstanceCache(ec2);
    await cache.get(id(1), soon());

    // Act
    const found = await cache.getMany([id(1), id(2)], soon());

    // Assess
    expect([...found.keys()]).toEqual([id(1), id(2)]);
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { InstanceIds: [id(1)] },
      { Filters: [{ Name: 'instance-id', Values: [id(2)] }] },
    ]);
    expect(await cache.get(id(2), soon())).toMatchObject({ instanceId: id(2) });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });
});
