import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { adminClients, createNamespace, uniqueSuffix, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment } from '../../bed/workloads.js';

const bed = inject('testbed');

// Another managed cluster besides the bed's: only the tags pick which one an instance belongs to.
const env = lambdaEnv(bed, { MANAGED_CLUSTERS: `other-cluster,${bed.clusterName}` });

describe('the Lambda app against moto and the real control plane', () => {
  const admin = adminClients(bed.cluster);
  let app: LambdaApp;
  const saved = { ...process.env };

  beforeAll(() => {
    // The SDK's default credential chain reads the environment, as in Lambda.
    Object.assign(process.env, env);
    app = createLambdaApp(env);
  });
  afterAll(() => {
    process.env = saved;
  });

  it('drains the node of a Spot interruption warning, authenticated by an EKS token', async () => {
    const namespace = await createNamespace(admin.core, 'lambda');
    const pool = `lambda-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await createDeployment(admin, namespace, 'web', 3, { pool, gracePeriodSeconds: 2 });
    await waitForReadyPods(admin.core, namespace, 'app=web', 3);
    const before = (await (await fetch(bed.authenticatorUrl.replace('/authenticate', '/stats'))).json()) as {
      accepted: number;
    };

    const report = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext('req-1'),
    );

    expect(report.status).toBe('handled');
    expect(report.notices).toMatchObject([
      { status: 'done', action: 'drain', target: { nodeName: node.name } },
    ]);
    const done = report.notices[0]!;
    expect(done.status === 'done' && done.result.outcome).toBe('drained');
    expect(done.status === 'done' && done.result.counts.evicted).toBe(3);
    const marked = await admin.core.readNode({ name: node.name });
    expect(marked.spec?.unschedulable).toBe(true);
    expect(recordOn(marked)).toMatchObject({ holder: 'req-1', state: 'drained' });
    const after = (await (await fetch(bed.authenticatorUrl.replace('/authenticate', '/stats'))).json()) as {
      accepted: number;
    };
    // The API server accepted the function's own EKS token through the authenticator webhook.
    expect(after.accepted).toBeGreaterThan(before.accepted);
  });

  it('leaves an instance of a cluster it does not manage alone', async () => {
    const pool = `lambda-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool, {
      clusterTagStyle: 'eks:cluster-name',
      clusterName: 'someone-elses',
    });

    const report = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext('req-2'),
    );

    expect(report.notices).toMatchObject([{ status: 'skipped', reason: 'not-managed' }]);
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBeFalsy();
  });

  it('cordons only on a rebalance recommendation by default', async () => {
    const pool = `lambda-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool, {
      clusterTagStyle: 'kubernetes.io/cluster',
    });

    const report = await app.handle(
      sampleEvent('rebalance-recommendation', { instanceId: instance.instanceId }),
      lambdaContext('req-3'),
    );

    expect(report.notices).toMatchObject([{ status: 'done', action: 'cordon' }]);
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBe(true);
  });

  it('drops a malformed event without touching anything', async () => {
    const report = await app.handle(
      { id: 'evil', source: 'aws.ec2', 'detail-type': 'nope' },
      lambdaContext('req-4'),
    );

    expect(report.status).toBe('invalid');
    expect(report.notices).toEqual([]);
  });
});
