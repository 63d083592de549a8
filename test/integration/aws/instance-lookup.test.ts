import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../../src/aws/clients.js';
import { describeInstance, InstanceCache } from '../../../src/aws/instance-lookup.js';
import { resolveManagedCluster } from '../../../src/aws/instance-tags.js';
import {
  type ClusterTagStyle,
  createInstance,
  type MotoServer,
  motoCredentials,
  startMoto,
  terminateInstance,
} from '../../bed/moto.js';

// Until the shared global setup hands out moto, this suite starts its own.
let moto: MotoServer;
let ec2: EC2Client;
const region = 'us-east-1';
const soon = () => ({ deadline: Date.now() + 10_000 });

beforeAll(async () => {
  moto = await startMoto({ region });
  ({ ec2 } = createAwsClients({ region, endpoint: moto.endpoint, credentials: motoCredentials }));
});

afterAll(async () => {
  ec2?.destroy();
  await moto?.stop();
});

/** Counts DescribeInstances requests leaving the client. */
function countCalls(client: EC2Client): { readonly count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DescribeInstancesCommand') counter.count++;
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  return counter;
}

describe('describeInstance against moto', () => {
  it.each<ClusterTagStyle>([
    'aws:eks:cluster-name',
    'eks:cluster-name',
    'kubernetes.io/cluster',
    'karpenter.sh/discovery',
  ])('finds the cluster of an instance tagged %s', async (clusterTagStyle) => {
    // Prepare
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle,
      clusterName: 'prod',
      az: 'us-east-1c',
    });

    // Act
    const info = await describeInstance(ec2, fixture.instanceId, soon());

    // Assess
    expect(info).toMatchObject({
      instanceId: fixture.instanceId,
      privateDnsName: fixture.privateDnsName,
      availabilityZone: 'us-east-1c',
      state: 'running',
      clusterNames: ['prod'],
    });
    expect(info && resolveManagedCluster(info, ['staging', 'prod'])).toBe('prod');
  });

  it('leaves an instance of a cluster it does not manage alone', async () => {
    // Prepare
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle: 'aws:eks:cluster-name',
      clusterName: 'someone-else',
    });

    // Act
    const info = await describeInstance(ec2, fixture.instanceId, soon());

    // Assess
    expect(info?.clusterNames).toEqual(['someone-else']);
    expect(info && resolveManagedCluster(info, ['prod'])).toBeUndefined();
  });

  it('finds no cluster for an untagged instance', async () => {
    // Prepare
    const fixture = await createInstance(moto.endpoint, { clusterTagStyle: 'none', clusterName: 'prod' });

    // Act
    const info = await describeInstance(ec2, fixture.instanceId, soon());

    // Assess
    expect(info?.clusterNames).toEqual([]);
  });

  it('returns undefined for an instance id EC2 never heard of', async () => {
    await expect(describeInstance(ec2, 'i-0000000000000000f', soon())).resolves.toBeUndefined();
  });

  it('still reads a terminated instance, with its tags, while EC2 lists it', async () => {
    // Prepare
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle: 'eks:cluster-name',
      clusterName: 'prod',
    });
    await terminateInstance(moto.endpoint, fixture.instanceId);

    // Act & Assess
    await expect(describeInstance(ec2, fixture.instanceId, soon())).resolves.toMatchObject({
      state: 'terminated',
      clusterNames: ['prod'],
    });
  });
});

describe('InstanceCache against moto', () => {
  it('sends one DescribeInstances for repeated lookups of one instance', async () => {
    // Prepare
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle: 'eks:cluster-name',
      clusterName: 'prod',
    });
    const client = createAwsClients({ region, endpoint: moto.endpoint, credentials: motoCredentials }).ec2;
    const calls = countCalls(client);
    const cache = new InstanceCache(client);

    // Act
    const burst = await Promise.all([1, 2, 3].map(() => cache.get(fixture.instanceId, soon())));
    const again = await cache.get(fixture.instanceId, soon());

    // Assess
    expect(burst.map((info) => info?.privateDnsName)).toEqual(Array(3).fill(fixture.privateDnsName));
    expect(again).toEqual(burst[0]);
    expect(calls.count).toBe(1);
    client.destroy();
  });
});
