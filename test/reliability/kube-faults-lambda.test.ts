import { randomUUID } from 'node:crypto';
import { EKSClient } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import { ClusterEndpointCache } from '../../src/aws/eks-cluster.js';
import { EksTokenProvider } from '../../src/aws/eks-token.js';
import { sampleEvent } from '../../src/events/samples.js';
import { EksClusterAccess } from '../../src/kube/cluster-access.js';
import type { ClusterEndpoint } from '../../src/types.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor } from '../bed/kube.js';
import {
  failFirstOfEachRoute,
  type KubeFaultProxy,
  routeOf,
  startKubeFaultProxy,
} from '../bed/kube-fault-proxy.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../bed/lambda.js';
import { createDeployment } from '../bed/workloads.js';
import { measured, podsStillOn, unexplainedMarks } from './invariants.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let proxy: KubeFaultProxy;
let namespace: string;
const pools: string[] = [];

beforeAll(async () => {
  Object.assign(process.env, lambdaEnv(bed));
  namespace = await createNamespace(admin.core, 'kube-faults-lambda');
  proxy = await startKubeFaultProxy(bed.cluster);
});
afterAll(async () => {
  process.env = saved;
  await proxy?.stop();
  for (const pool of pools) expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

/** DescribeCluster's answer, as if EKS put the fault proxy in front of the cluster. */
class ProxiedEndpoints extends ClusterEndpointCache {
  constructor(private readonly proxied: () => ClusterEndpoint) {
    super(new EKSClient({ region: bed.region }));
  }
  override async get(): Promise<ClusterEndpoint> {
    return this.proxied();
  }
}

describe('the Lambda app behind a faulty API server', () => {
  it('finds and drains the node although the first request of every kind fails', async () => {
    // Prepare: the app's own EKS token and lookup, only the cluster's endpoint is the proxy's.
    const pool = `kf-lambda-${uniqueSuffix()}`;
    pools.push(pool);
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await createDeployment(admin, namespace, 'lambda', 3, { pool, gracePeriodSeconds: 2 });
    await waitFor(
      '3 pods running',
      async () => (await podsStillOn(admin.core, node.name, namespace)).length === 3,
    );
    const app = createLambdaApp(lambdaEnv(bed));
    app.deps.access = new EksClusterAccess(
      new ProxiedEndpoints(() => ({
        name: bed.clusterName,
        endpoint: proxy.server,
        certificateAuthorityData: proxy.caData,
      })),
      new EksTokenProvider({ region: bed.region }),
    );
    proxy.setPlan({
      force: failFirstOfEachRoute(['unavailable', 'too-many-requests', 'internal-error', 'lost-response']),
    });
    const from = proxy.records.length;

    // Act
    const report = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`kf-lambda-${randomUUID()}`),
    );
    proxy.setPlan({});

    // Assess
    const faults = proxy.records
      .slice(from)
      .filter((r) => r.fault)
      .map((r) => `${routeOf(r)} -> ${r.fault}`);
    const notice = report.notices[0];
    measured('kube faults through the Lambda app', {
      outcome: notice?.status === 'done' ? notice.result.outcome : notice?.status,
      faults,
    });
    expect(faults.length).toBeGreaterThanOrEqual(5);
    expect(notice?.status === 'done' && notice.result.outcome).toBe('drained');
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });
});
