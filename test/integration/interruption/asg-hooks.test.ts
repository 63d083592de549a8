/**
 * Auto Scaling lifecycle hooks are never left hanging: whichever invocation ends a node's drain
 * completes every hook recorded on its record. Through the Lambda app, with the Auto Scaling stand-in
 * (moto answers CompleteLifecycleAction with HTTP 500) recording the calls.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../../src/app/app-types.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { terminatingInGroup } from '../../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment, createPdb } from '../../bed/workloads.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let stub: AutoScalingStub;
let app: LambdaApp;
let namespace: string;

beforeAll(async () => {
  // DescribeAutoScalingInstances (which confirms a hook's event) goes on to moto.
  stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  const env = lambdaEnv(bed, {
    AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
    LIFECYCLE_HEARTBEAT_SECONDS: '1',
  });
  Object.assign(process.env, env);
  app = createLambdaApp(env);
  namespace = await createNamespace(admin.core, 'hooks');
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
});

function outcomeOf(notice: NoticeReport | undefined): string | undefined {
  return notice?.status === 'done' ? notice.result.outcome : notice?.status;
}

describe('a terminate lifecycle hook that arrives while another notice drains the node', () => {
  it('is recorded on the node and completed by the invocation that ends the drain', async () => {
    // Prepare: a Spot drain held by a budget that allows nothing, until the hook is on the node.
    const pool = `hooks-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await terminatingInGroup(bed, instance.instanceId);
    await createDeployment(admin, namespace, 'web', 2, { pool, gracePeriodSeconds: 10, exitAfter: '1s' });
    await createPdb(admin, namespace, 'web', { app: 'web' }, { maxUnavailable: 0 });
    await waitForReadyPods(admin.core, namespace, 'app=web', 2);
    const before = stub.calls.length;

    // Act: the Spot warning's invocation drains; the ASG hook's arrives while the budget holds it.
    const spot = app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`spot-${randomUUID()}`),
    );
    await waitFor(
      'the drain under way',
      async () => recordOn(await admin.core.readNode({ name: node.name }))?.state === 'draining',
    );
    const hooked = app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`),
    );
    await waitFor(
      'the hook recorded for the holder',
      async () => (recordOn(await admin.core.readNode({ name: node.name }))?.hooks.length ?? 0) === 1,
    );
    await admin.policy.patchNamespacedPodDisruptionBudget(
      { name: 'web', namespace, body: { spec: { maxUnavailable: 2 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const hook = await hooked;
    const drained = await spot;

    // Assess: the hook's invocation recorded it and returned; the holder completed it as its drain ended
    expect(outcomeOf(drained.notices[0])).toBe('drained');
    expect(hook.notices[0]).toMatchObject({ lifecycleAction: 'left-to-holder' });
    const calls = stub.calls.slice(before).filter((c) => c.params.InstanceId === instance.instanceId);
    const completions = calls.filter((c) => c.action === 'CompleteLifecycleAction');
    expect(completions.map((c) => c.params)).toEqual([
      {
        Action: 'CompleteLifecycleAction',
        Version: '2011-01-01',
        AutoScalingGroupName: 'eks-spot-workers',
        LifecycleHookName: 'eks-spot-drainer',
        LifecycleActionResult: 'CONTINUE',
        InstanceId: instance.instanceId,
      },
    ]);
    expect(calls.at(-1)?.action).toBe('CompleteLifecycleAction');
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'drained',
      hooks: [],
    });
  });

  it('is completed at once, with its token, when the drain already ended', async () => {
    // Prepare
    const pool = `hooks-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await terminatingInGroup(bed, instance.instanceId);
    const first = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`spot-${randomUUID()}`),
    );
    const before = stub.calls.length;

    // Act
    const hook = await app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`),
    );

    // Assess
    expect(outcomeOf(first.notices[0])).toBe('drained');
    expect(hook.notices[0]).toMatchObject({ lifecycleAction: 'completed' });
    const completions = stub.calls.slice(before).filter((c) => c.action === 'CompleteLifecycleAction');
    expect(completions).toHaveLength(1);
    expect(completions[0]?.params).toMatchObject({
      InstanceId: instance.instanceId,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(completions[0]?.params.LifecycleActionToken).toBeDefined();
    expect(recordOn(await admin.core.readNode({ name: node.name }))?.hooks).toEqual([]);
  });
});
