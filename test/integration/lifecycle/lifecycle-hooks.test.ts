/**
 * Auto Scaling lifecycle hooks are never left hanging: whichever invocation ends a node's drain
 * completes every hook recorded on its lease. Through the Lambda app, with the Auto Scaling stand-in
 * (moto answers CompleteLifecycleAction with HTTP 500) recording the calls.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../../src/app/handle-notice.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { readLease } from '../../../src/drain/lease.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment } from '../../bed/workloads.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let stub: AutoScalingStub;
let app: LambdaApp;
let namespace: string;

beforeAll(async () => {
  stub = await startAutoScalingStub();
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
  it('is recorded on the lease and completed by the invocation that ends the drain', async () => {
    // Prepare: a Spot drain of pods that take 4 s to go.
    const pool = `hooks-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await createDeployment(admin, namespace, 'web', 2, { pool, gracePeriodSeconds: 10, exitAfter: '4s' });
    await waitForReadyPods(admin.core, namespace, 'app=web', 2);
    const before = stub.calls.length;

    // Act: the Spot warning's invocation drains; the ASG hook's arrives a second later.
    const spot = app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`spot-${randomUUID()}`),
    );
    await waitFor(
      'the drain under way',
      async () => readLease(await admin.core.readNode({ name: node.name }))?.state === 'draining',
    );
    const hook = await app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`),
    );
    const drained = await spot;

    // Assess: the hook's invocation stood by; the holder completed the hook as its drain ended
    expect(outcomeOf(drained.notices[0])).toBe('drained');
    expect(hook.notices[0]).toMatchObject({ lifecycle: 'completed-by-lease-holder' });
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
    expect(readLease(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'drained',
      hooks: [],
    });
  });

  it('is completed at once, with its token, when the drain already ended', async () => {
    // Prepare
    const pool = `hooks-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
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
    expect(hook.notices[0]).toMatchObject({ lifecycle: 'completed' });
    const completions = stub.calls.slice(before).filter((c) => c.action === 'CompleteLifecycleAction');
    expect(completions).toHaveLength(1);
    expect(completions[0]?.params).toMatchObject({
      InstanceId: instance.instanceId,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(completions[0]?.params.LifecycleActionToken).toBeDefined();
    expect(readLease(await admin.core.readNode({ name: node.name }))?.hooks).toEqual([]);
  });
});
