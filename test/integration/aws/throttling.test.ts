import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients, requestTimeoutMs } from '../../../src/aws/clients.js';
import { describeCluster } from '../../../src/aws/eks-cluster.js';
import { describeInstance } from '../../../src/aws/instance-lookup.js';
import { TransientError } from '../../../src/errors.js';
import {
  createEksCluster,
  createInstance,
  type MotoServer,
  motoCredentials,
  startMoto,
} from '../../bed/moto.js';
import { startThrottlingProxy } from './throttling-proxy.js';

let moto: MotoServer;
const region = 'us-east-1';

beforeAll(async () => {
  moto = await startMoto({ region });
});

afterAll(async () => {
  await moto?.stop();
});

function clientsVia(endpoint: string) {
  return createAwsClients({ region, endpoint, credentials: motoCredentials });
}

describe('retries over real HTTP', () => {
  it('describeInstance gets through after EC2 throttled the first two requests', async () => {
    // Prepare
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle: 'eks:cluster-name',
      clusterName: 'prod',
    });
    const proxy = await startThrottlingProxy(moto.endpoint, (n) => (n <= 2 ? 'throttle-ec2' : 'proxy'));
    const { ec2 } = clientsVia(proxy.endpoint);

    // Act
    const info = await describeInstance(ec2, fixture.instanceId, { deadline: Date.now() + 10_000 });

    // Assess
    expect(info?.clusterNames).toEqual(['prod']);
    expect(proxy.requests).toBe(3);
    ec2.destroy();
    await proxy.stop();
  });

  it('describeCluster gets through after EKS throttled the first request', async () => {
    // Prepare
    await createEksCluster(moto.endpoint, { name: 'throttled' });
    const proxy = await startThrottlingProxy(moto.endpoint, (n) => (n === 1 ? 'throttle-eks' : 'proxy'));
    const { eks } = clientsVia(proxy.endpoint);

    // Act
    const endpoint = await describeCluster(eks, 'throttled', { deadline: Date.now() + 10_000 });

    // Assess
    expect(endpoint.name).toBe('throttled');
    expect(proxy.requests).toBe(2);
    eks.destroy();
    await proxy.stop();
  });

  it('gives up with a TransientError at the deadline whose cause is the last throttle, each of our attempts one request (no SDK retries)', async () => {
    // Prepare
    const proxy = await startThrottlingProxy(moto.endpoint, () => 'throttle-ec2');
    const { ec2 } = clientsVia(proxy.endpoint);
    const retried: unknown[] = [];

    // Act
    const error = await describeInstance(ec2, 'i-0123456789abcdef0', {
      deadline: Date.now() + 1_500,
      onRetry: (failure) => retried.push(failure),
    }).catch((failure: unknown) => failure);

    // Assess: the last attempt was answered, or cut short at the deadline (a loaded machine decides
    // which); either way the error names the last throttle, not the abort.
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/RequestLimitExceeded \(HTTP 503\)/);
    expect((error as Error).cause).toMatchObject({
      name: 'RequestLimitExceeded',
      $metadata: { httpStatusCode: 503 },
    });
    expect(retried.length).toBeGreaterThan(0);
    // Each retried attempt was answered, so it reached the stub, once: the SDK did not retry it.
    expect(proxy.requests).toBeGreaterThanOrEqual(retried.length);
    expect(proxy.requests).toBeLessThanOrEqual(retried.length + 1);
    ec2.destroy();
    await proxy.stop();
  });

  it('aborts a request that hangs at the deadline and reports it as transient', async () => {
    // Prepare
    const proxy = await startThrottlingProxy(moto.endpoint, () => 'stall');
    const { ec2 } = clientsVia(proxy.endpoint);
    const started = Date.now();

    // Act
    const error = await describeInstance(ec2, 'i-0123456789abcdef0', { deadline: started + 1_000 }).catch(
      (failure: unknown) => failure,
    );

    // Assess: ended by our abort at the deadline, not by the SDK's own request timeout (5 s) after it.
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).cause).toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(requestTimeoutMs);
    expect(proxy.requests).toBe(1);
    ec2.destroy();
    await proxy.stop();
  });

  it('abandons a silent request after the client request timeout and tries again', async () => {
    // Prepare: the first request hangs; the SDK's requestTimeout (5 s) ends it, our retry succeeds.
    const fixture = await createInstance(moto.endpoint, {
      clusterTagStyle: 'eks:cluster-name',
      clusterName: 'prod',
    });
    const proxy = await startThrottlingProxy(moto.endpoint, (n) => (n === 1 ? 'stall' : 'proxy'));
    const { ec2 } = clientsVia(proxy.endpoint);
    const started = Date.now();

    // Act
    const info = await describeInstance(ec2, fixture.instanceId, { deadline: started + 30_000 });

    // Assess
    expect(info?.instanceId).toBe(fixture.instanceId);
    expect(proxy.requests).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
    expect(Date.now() - started).toBeLessThan(15_000);
    ec2.destroy();
    await proxy.stop();
  });
});
