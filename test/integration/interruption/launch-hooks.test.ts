/**
 * Auto Scaling launch hooks through the Lambda app: the action is completed CONTINUE once the new
 * instance's KWOK node has joined and is Ready, left or abandoned per LAUNCH_HOOK_ON_TIMEOUT when it
 * never is, finished by Lambda's retry when the first invocation must return before the node is
 * Ready, and not touched at all for an instance of a cluster this function does not manage. EC2 from
 * moto; the Auto Scaling stand-in records every lifecycle call (moto answers them with HTTP 500).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { TransientError } from '../../../src/errors.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { adminClients, createSpotNode, statusOf } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createInstance, type InstanceFixture } from '../../bed/moto.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let stub: AutoScalingStub;

/** A Lambda app whose launch hooks follow `launchEnv`, heartbeating every second. */
function appWith(launchEnv: Record<string, string>): LambdaApp {
  return createLambdaApp(
    lambdaEnv(bed, {
      AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
      LIFECYCLE_HEARTBEAT_SECONDS: '1',
      ...launchEnv,
    }),
  );
}

beforeAll(async () => {
  stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  Object.assign(process.env, lambdaEnv(bed, { AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint }));
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
});

/** A new instance of the bed's cluster, its node not joined yet. */
function newInstance(clusterName = bed.clusterName): Promise<InstanceFixture> {
  return createInstance(bed.awsEndpoint, { clusterTagStyle: 'aws:eks:cluster-name', clusterName });
}

/** The node joins: KWOK makes it Ready, as the kubelet of the new machine would. */
function nodeJoins(instance: InstanceFixture) {
  return createSpotNode(admin.core, {
    instanceId: instance.instanceId,
    name: instance.privateDnsName,
    availabilityZone: instance.availabilityZone,
    extraLabels: { pool: `launch-${instance.instanceId}` },
  });
}

function launching(instanceId: string) {
  return sampleEvent('asg-launch', { instanceId });
}

/** The lifecycle calls Auto Scaling received about one instance, in order. */
function callsFor(instanceId: string) {
  return stub.calls
    .filter((c) => c.params.InstanceId === instanceId)
    .filter((c) => c.action === 'CompleteLifecycleAction' || c.action === 'RecordLifecycleActionHeartbeat');
}

const completion = (instanceId: string, result: 'CONTINUE' | 'ABANDON') => ({
  Action: 'CompleteLifecycleAction',
  Version: '2011-01-01',
  AutoScalingGroupName: 'eks-spot-workers',
  LifecycleHookName: 'eks-spot-drainer-launch',
  LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
  LifecycleActionResult: result,
  InstanceId: instanceId,
});

describe('a launch lifecycle hook of a managed cluster', () => {
  it('is completed CONTINUE once the node joins and is Ready, with heartbeats while it waits', async () => {
    // Prepare
    const app = appWith({ LAUNCH_READY_WAIT_SECONDS: '60' });
    const instance = await newInstance();

    // Act: the hook's event comes first; the node joins three seconds later
    const handling = app.handle(launching(instance.instanceId), lambdaContext(`launch-${randomUUID()}`));
    await sleep(3_000);
    const node = await nodeJoins(instance);
    const report = await handling;

    // Assess
    expect(report).toMatchObject({
      status: 'handled',
      launch: { status: 'continued', cluster: bed.clusterName, node: node.name },
    });
    const calls = callsFor(instance.instanceId);
    expect(calls.filter((c) => c.action === 'RecordLifecycleActionHeartbeat').length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.action === 'CompleteLifecycleAction').map((c) => c.params)).toEqual([
      completion(instance.instanceId, 'CONTINUE'),
    ]);
    expect(calls.at(-1)?.action).toBe('CompleteLifecycleAction');
    // A launch hook needs no record: the node is left as it joined.
    const after = await admin.core.readNode({ name: node.name });
    expect(recordOn(after)).toBeUndefined();
    expect(after.spec?.unschedulable ?? false).toBe(false);
    expect(after.spec?.taints ?? []).toEqual([]);
  });

  it('is left to its own timeout when the node never becomes Ready (leave)', async () => {
    // Prepare
    const app = appWith({ LAUNCH_READY_WAIT_SECONDS: '3' });
    const instance = await newInstance();

    // Act
    const report = await app.handle(launching(instance.instanceId), lambdaContext(`launch-${randomUUID()}`));

    // Assess
    expect(report).toMatchObject({ status: 'handled', launch: { status: 'left' } });
    const calls = callsFor(instance.instanceId);
    expect(calls.filter((c) => c.action === 'CompleteLifecycleAction')).toEqual([]);
    expect(calls.length).toBeGreaterThan(0);
    expect(await nodeOf(instance)).toBeUndefined();
  });

  it('is abandoned when the node never becomes Ready and LAUNCH_HOOK_ON_TIMEOUT is abandon', async () => {
    // Prepare
    const app = appWith({ LAUNCH_READY_WAIT_SECONDS: '3', LAUNCH_HOOK_ON_TIMEOUT: 'abandon' });
    const instance = await newInstance();

    // Act
    const report = await app.handle(launching(instance.instanceId), lambdaContext(`launch-${randomUUID()}`));

    // Assess
    expect(report).toMatchObject({ status: 'handled', launch: { status: 'abandoned' } });
    const completions = callsFor(instance.instanceId).filter((c) => c.action === 'CompleteLifecycleAction');
    expect(completions.map((c) => c.params)).toEqual([completion(instance.instanceId, 'ABANDON')]);
  });

  it("is finished by Lambda's retry when the first invocation must return before the node is Ready", async () => {
    // Prepare: an invocation with 3 s left before its reserve
    const app = appWith({ LAUNCH_READY_WAIT_SECONDS: '60' });
    const instance = await newInstance();
    const event = launching(instance.instanceId);

    // Act: the first invocation fails for a retry; the node joins; the retry (the same event) runs
    const first = app.handle(event, lambdaContext(`launch-${randomUUID()}`, 8_000));
    await expect(first).rejects.toBeInstanceOf(TransientError);
    const afterFirst = callsFor(instance.instanceId);
    await nodeJoins(instance);
    const retry = await app.handle(event, lambdaContext(`launch-${randomUUID()}`));

    // Assess: the first kept the hook alive and completed nothing; the retry completed it
    expect(afterFirst.map((c) => c.action)).toContain('RecordLifecycleActionHeartbeat');
    expect(afterFirst.filter((c) => c.action === 'CompleteLifecycleAction')).toEqual([]);
    expect(retry).toMatchObject({ status: 'handled', launch: { status: 'continued' } });
    const completions = callsFor(instance.instanceId).filter((c) => c.action === 'CompleteLifecycleAction');
    expect(completions.map((c) => c.params)).toEqual([completion(instance.instanceId, 'CONTINUE')]);
  });
});

describe('a launch lifecycle hook of a cluster this function does not manage', () => {
  it('is left alone: no lifecycle call, nothing read of any cluster', async () => {
    // Prepare: a Ready node, but the instance is tagged for another cluster
    const app = appWith({ LAUNCH_READY_WAIT_SECONDS: '60', LAUNCH_HOOK_ON_TIMEOUT: 'abandon' });
    const { instance, node } = await spotNodeWithInstance(bed, admin, `launch-other-${randomUUID()}`, {
      clusterName: 'someone-elses',
    });
    const before = await admin.core.readNode({ name: node.name });

    // Act
    const report = await app.handle(launching(instance.instanceId), lambdaContext(`launch-${randomUUID()}`));

    // Assess
    expect(report).toMatchObject({ status: 'ignored', launch: { status: 'not-managed' } });
    expect(callsFor(instance.instanceId)).toEqual([]);
    const after = await admin.core.readNode({ name: node.name });
    // The controllers still settle a node this new (the TTL annotation, the not-ready taint lifted):
    // what could be ours is compared, not what they write.
    expect(ours(after)).toEqual(ours(before));
    expect(recordOn(after)).toBeUndefined();
  });
});

/** What this project could have written on a node: its cordon, annotations, labels and taints. */
function ours(node: k8s.V1Node) {
  const mine = (key: string) =>
    key.startsWith('eks-spot-drainer') || key.startsWith('aws-node-termination-handler');
  return {
    unschedulable: node.spec?.unschedulable ?? false,
    annotations: Object.keys(node.metadata?.annotations ?? {}).filter(mine),
    labels: Object.keys(node.metadata?.labels ?? {}).filter(
      (k) => mine(k) || k === 'node.kubernetes.io/exclude-from-external-load-balancers',
    ),
    taints: (node.spec?.taints ?? []).filter(
      (t) => !t.key.startsWith('node.kubernetes.io/') || t.key.endsWith('out-of-service'),
    ),
  };
}

async function nodeOf(instance: InstanceFixture) {
  try {
    return await admin.core.readNode({ name: instance.privateDnsName });
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
