/**
 * `karpenter.sh/do-not-disrupt` through the Lambda app (moto, an EKS token, the `drainer` identity):
 * a pod that asks not to be disrupted stays through a voluntary drain (a Health change not yet near)
 * and is evicted, with the override in its report, when a Spot warning comes for the same node.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { awsSaysSo } from '../../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createBarePod } from '../../bed/workloads.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
let app: LambdaApp;

beforeAll(() => {
  Object.assign(process.env, lambdaEnv(bed));
  app = createLambdaApp(lambdaEnv(bed));
});
afterAll(() => {
  process.env = saved;
});

/** Whether the pod still runs (not gone, not being deleted). */
async function running(namespace: string, name: string): Promise<boolean> {
  const pod = await admin.core.readNamespacedPod({ namespace, name }).catch(() => undefined);
  return pod !== undefined && pod.metadata?.deletionTimestamp === undefined;
}

describe('a pod that asks not to be disrupted', () => {
  it('stays through a Health drain, and is evicted, reported, under a Spot warning', async () => {
    // Prepare: one pod that asks not to be disrupted, one that does not, on a node of its own.
    const pool = `dnd-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    const namespace = await createNamespace(admin.core, 'dnd');
    const shape = { pool, gracePeriodSeconds: 1 };
    await createBarePod(admin, namespace, 'batch', node.name, shape);
    await createBarePod(admin, namespace, 'web', node.name, shape);
    await admin.core.patchNamespacedPod(
      {
        namespace,
        name: 'batch',
        body: { metadata: { annotations: { 'karpenter.sh/do-not-disrupt': 'true' } } },
      },
      mergePatch,
    );
    await waitForReadyPods(admin.core, namespace, undefined, 2);

    // Act 1: a Health change due (within the 30 min lead), more than a drain from its start, that
    // EC2 lists for the instance.
    const change = sampleEvent('scheduled-change', {
      instanceId: instance.instanceId,
      instanceIds: [instance.instanceId],
      startTime: new Date(Date.now() + 20 * 60_000),
    });
    await awsSaysSo(bed, change);
    const health = await app.handle(change, lambdaContext(`health-${randomUUID()}`));
    await waitFor('web gone', async () => !(await running(namespace, 'web')));

    // Assess 1: drained, the pod that asked kept, and said so.
    const healthNotice = health.notices[0]!;
    expect(healthNotice.status === 'done' && healthNotice.result.pods).toContainEqual(
      expect.objectContaining({
        name: 'batch',
        outcome: 'skipped',
        reason: 'karpenter.sh/do-not-disrupt: kept through a voluntary drain',
      }),
    );
    expect(await running(namespace, 'batch')).toBe(true);

    // Act 2: the Spot warning for the same instance.
    const spot = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`spot-${randomUUID()}`),
    );

    // Assess 2: evicted, with the override in its report.
    const spotNotice = spot.notices[0]!;
    expect(spotNotice.status === 'done' && spotNotice.result.pods).toContainEqual(
      expect.objectContaining({
        name: 'batch',
        outcome: 'evicted',
        reason: expect.stringContaining(
          'karpenter.sh/do-not-disrupt overridden: the instance goes at a set time',
        ),
      }),
    );
    expect(await running(namespace, 'batch')).toBe(false);
  });
});
