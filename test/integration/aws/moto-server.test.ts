import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createInstance, motoCredentials, resetMoto, startMoto } from '../../bed/moto.js';

describe('startMoto', () => {
  it('serves AWS APIs and the control API on loopback ports until stopped', async () => {
    // Prepare
    const moto = await startMoto({ region: 'eu-west-1' });

    // Act
    const health = await fetch(`${moto.controlEndpoint}/health`).then((r) => r.json());
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle: 'eks:cluster-name',
      clusterName: 'prod',
      region: 'eu-west-1',
    });
    await moto.stop();

    // Assess
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(moto.region).toBe('eu-west-1');
    expect(health).toEqual({ ok: true });
    expect(fixture.availabilityZone).toBe('eu-west-1a');
    await expect(fetch(`${moto.endpoint}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });

  it('forgets every resource on reset', async () => {
    // Prepare
    const moto = await startMoto();
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: motoCredentials });
    await createInstance(moto.endpoint, { clusterTagStyle: 'none', clusterName: 'prod' });
    const count = async () =>
      (await ec2.send(new DescribeInstancesCommand({}))).Reservations?.flatMap((r) => r.Instances ?? [])
        .length ?? 0;
    const before = await count();

    // Act
    await resetMoto(moto.controlEndpoint);
    const after = await count();

    // Assess
    expect([before, after]).toEqual([1, 0]);
    ec2.destroy();
    await moto.stop();
  });
});
