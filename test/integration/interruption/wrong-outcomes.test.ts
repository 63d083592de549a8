/**
 * The six wrong outcomes found in review of the node's interruption record (issue: one state
 * machine), each played on the real control plane through the Lambda app as `drainer`, with EC2's
 * answers from moto (held in a passing state or hibernated through the bed's control API) and the
 * Auto Scaling stand-in recording lifecycle calls. Each asserts the node as the cluster has it.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EventReport } from '../../../src/app/handle-event.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { reconcileAll } from '../../../src/app/reconcile-all.js';
import type { InstanceStateSource } from '../../../src/aws/instance-states.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { instances, setBootId, startKubelet, stopKubelet } from '../../bed/instance-life.js';
import { adminClients, createNamespace, uniqueSuffix, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment, createPdb } from '../../bed/workloads.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const recordKey = 'eks-spot-drainer/drain';
const stateLabel = 'eks-spot-drainer/state';
const outOfService = 'node.kubernetes.io/out-of-service';
const day = 24 * 3_600_000;
let stub: AutoScalingStub;
let app: LambdaApp;
let namespace: string;

beforeAll(async () => {
  stub = await startAutoScalingStub();
  const env = lambdaEnv(bed, { AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint });
  Object.assign(process.env, env);
  app = createLambdaApp(env);
  namespace = await createNamespace(admin.core, 'wrong');
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
});

/** A node of its own pool with an EC2 instance, a boot id, and `replicas` pods of a Deployment. */
async function nodeWithPods(name: string, replicas: number) {
  const pool = `wrong-${name}-${uniqueSuffix()}`;
  const target = await spotNodeWithInstance(bed, admin, pool);
  const bootId = `boot-${uniqueSuffix()}`;
  await setBootId(admin.core, target.node.name, bootId);
  if (replicas > 0) {
    await createDeployment(admin, namespace, name, replicas, { pool, gracePeriodSeconds: 1 });
    await waitForReadyPods(admin.core, namespace, `app=${name}`, replicas);
  }
  return { ...target, pool, bootId };
}

async function nodeNow(name: string) {
  const node = await admin.core.readNode({ name });
  return {
    unschedulable: node.spec?.unschedulable === true,
    taints: (node.spec?.taints ?? [])
      .map((t) => t.key)
      .filter((k) => !k.startsWith('node.kubernetes.io/un'))
      .sort(),
    labels: node.metadata?.labels ?? {},
    record: node.metadata?.annotations?.[recordKey],
  };
}

function send(event: Record<string, unknown>, remainingMs?: number): Promise<EventReport> {
  return app.handle(event, lambdaContext(`wrong-${randomUUID()}`, remainingMs));
}

/** One reconcile of the node's pool, as the schedule would run it, with the clock `offsetMs` ahead. */
function reconcilePool(pool: string, offsetMs = 0, instanceStates = app.deps.instanceStates) {
  const now = () => Date.now() + offsetMs;
  return reconcileAll(
    { ...app.deps, now, ...(instanceStates ? { instanceStates } : {}) },
    { id: `reconcile-${randomUUID()}`, deadline: now() + 120_000 },
    { selector: `pool=${pool}` },
  );
}

describe('1. out-of-service only once EC2 confirms the machine is shut down', () => {
  it('leaves a NotReady node alone while EC2 says stopping, and taints it once EC2 says stopped', async () => {
    // Prepare: graceful node shutdown made the node NotReady; EC2 still stops the instance.
    const target = await nodeWithPods('stopping', 1);
    await stopKubelet(admin.core, target.node.name);
    await instances.hold(bed.motoControlEndpoint, target.instance.instanceId, 'stopping');

    // Act 1: the `stopping` notice, and a reconcile, while EC2 says stopping
    await send(sampleEvent('state-change-stopping', { instanceId: target.instance.instanceId }), 30_000);
    await reconcilePool(target.pool);

    // Assess 1: the OS may still write to its volumes: no out-of-service
    expect((await nodeNow(target.node.name)).taints).not.toContain(outOfService);

    // Act 2: EC2 says stopped
    await instances.hold(bed.motoControlEndpoint, target.instance.instanceId, 'stopped');
    await reconcilePool(target.pool);

    // Assess 2
    expect((await nodeNow(target.node.name)).taints).toContain(outOfService);
  });

  it('never taints a hibernated Spot instance out of service', async () => {
    // Prepare: a Spot hibernate warning drains the node but for a pod its budget keeps; the
    // instance hibernates and the kubelet stops, the pod still bound to the node.
    const target = await nodeWithPods('hibernating', 1);
    await createPdb(admin, namespace, 'hibernating', { app: 'hibernating' }, { minAvailable: 1 });
    await send(
      sampleEvent('spot-interruption', {
        instanceId: target.instance.instanceId,
        instanceAction: 'hibernate',
      }),
      20_000,
    );
    await stopKubelet(admin.core, target.node.name);
    await instances.hibernate(bed.motoControlEndpoint, target.instance.instanceId);

    // Act: the `stopped` notice and a reconcile
    await send(
      sampleEvent('state-change-stopping', { instanceId: target.instance.instanceId, state: 'stopped' }),
      30_000,
    );
    await reconcilePool(target.pool);

    // Assess
    expect((await nodeNow(target.node.name)).taints).not.toContain(outOfService);
  });
});

describe('2. a Health close under a Spot drain', () => {
  it('keeps the node cordoned: the Spot warning, not the Health change, holds it now', async () => {
    // Prepare: a Health change recorded two weeks ahead, then a Spot warning drains the node.
    const target = await nodeWithPods('closed', 1);
    const eventArn = `arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/wrong-${uniqueSuffix()}`;
    const health = (statusCode: string) =>
      sampleEvent('scheduled-change', {
        instanceIds: [target.instance.instanceId],
        startTime: new Date(Date.now() + 14 * day),
        detail: { eventArn, statusCode },
      });
    await send(health('upcoming'));
    await send(sampleEvent('spot-interruption', { instanceId: target.instance.instanceId }));

    // Act: Health closes its change
    await send(health('closed'));

    // Assess
    const node = await nodeNow(target.node.name);
    expect(node.unschedulable).toBe(true);
    expect(node.taints).toContain('eks-spot-drainer/spot-interruption');
    expect(node.record).toBeDefined();
  });
});

describe('3. a resumed hibernation', () => {
  it('is released once the kubelet is Ready again and EC2 runs it, though its boot id is the same', async () => {
    // Prepare: a Spot hibernate warning drains the node; the instance hibernates and nobody looks.
    const target = await nodeWithPods('resumed', 1);
    await send(
      sampleEvent('spot-interruption', {
        instanceId: target.instance.instanceId,
        instanceAction: 'hibernate',
      }),
    );
    await stopKubelet(admin.core, target.node.name);
    await instances.hibernate(bed.motoControlEndpoint, target.instance.instanceId);

    // Act: EC2 resumes it (a new launch time); the kubelet is Ready with the boot id it had.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await instances.start(bed.awsEndpoint, target.instance.instanceId);
    await startKubelet(admin.core, target.node.name, target.bootId);
    await reconcilePool(target.pool);

    // Assess
    expect(await nodeNow(target.node.name)).toMatchObject({
      unschedulable: false,
      taints: [],
      record: undefined,
    });
  });
});

describe('4. a late `stopping` for an instance that has since stopped and started', () => {
  it('changes nothing on the Ready node', async () => {
    // Prepare: the instance stopped and started since the event was sent; its node is Ready.
    const target = await nodeWithPods('late', 1);
    const late = sampleEvent('state-change-stopping', { instanceId: target.instance.instanceId });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await instances.stop(bed.awsEndpoint, target.instance.instanceId);
    await instances.start(bed.awsEndpoint, target.instance.instanceId);
    await startKubelet(admin.core, target.node.name, `boot-${uniqueSuffix()}`);

    // Act: the `stopping` notice arrives late (Lambda's queue, EventBridge's retries)
    await send(late);

    // Assess
    expect(await nodeNow(target.node.name)).toMatchObject({
      unschedulable: false,
      taints: [],
      record: undefined,
    });
  });
});

describe('5. a reconcile acting on a stale view', () => {
  it('asks EC2 again before it taints a node out of service', async () => {
    // Prepare: a rebalance cordon; the kubelet stops (a partition), the instance runs; the batch
    // answer the reconcile starts from is stale and says terminated.
    const target = await nodeWithPods('stale', 1);
    await send(sampleEvent('rebalance-recommendation', { instanceId: target.instance.instanceId }));
    await stopKubelet(admin.core, target.node.name);
    const fresh = app.deps.instanceStates!;
    let batches = 0;
    const staleFirst: InstanceStateSource = async (ids, call) => {
      if (batches++ > 0) return fresh(ids, call);
      return new Map(ids.map((id) => [id, { state: 'terminated' }]));
    };

    // Act
    const report = await reconcilePool(target.pool, 0, staleFirst);

    // Assess
    expect(report.flatMap((c) => c.nodes).filter((n) => n.error)).toEqual([]);
    expect((await nodeNow(target.node.name)).taints).not.toContain(outOfService);
  });
});

/** Writes a record on the node as something on the node could (NodeRestriction allows it annotations). */
async function forgeRecord(nodeName: string, fields: Record<string, unknown>, extra: k8s.V1Node = {}) {
  await admin.core.patchNode(
    {
      name: nodeName,
      body: {
        ...extra,
        metadata: {
          ...extra.metadata,
          labels: { ...extra.metadata?.labels, [stateLabel]: 'drained' },
          annotations: {
            [recordKey]: JSON.stringify({
              v: 2,
              state: 'drained',
              kind: 'spot-interruption',
              action: 'drain',
              eventId: 'forged',
              deadline: new Date(Date.now() - 3_600_000).toISOString(),
              since: new Date(Date.now() - 7_200_000).toISOString(),
              updatedAt: new Date(Date.now() - 3_600_000).toISOString(),
              marks: { cordoned: false, taints: [], lbLabel: false },
              hooks: [],
              ...fields,
            }),
          },
        },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

describe('6. a record the node itself wrote', () => {
  it('never completes a lifecycle hook of another instance or group', async () => {
    // Prepare: a drained record whose hooks name another instance, and the node's own instance in another group.
    const target = await nodeWithPods('forged-hooks', 0);
    await forgeRecord(target.node.name, {
      marks: { cordoned: false, taints: [], lbLabel: false, bootId: target.bootId },
      hooks: [
        {
          autoScalingGroupName: 'other-group',
          lifecycleHookName: 'other',
          instanceId: 'i-0aaaaaaaaaaaaaaaa',
        },
      ],
    });
    const before = stub.calls.length;

    // Act
    await reconcilePool(target.pool);

    // Assess
    const completed = stub.calls.slice(before).filter((c) => c.action === 'CompleteLifecycleAction');
    expect(completed.map((c) => c.params.InstanceId)).not.toContain('i-0aaaaaaaaaaaaaaaa');
  });

  it("removes no taint, cordon or label that is not this project's", async () => {
    // Prepare: an operator cordoned the node, tainted it and kept it out of load balancers; then
    // something on the node wrote a record claiming all of that as this project's marks.
    const target = await nodeWithPods('forged-marks', 0);
    await forgeRecord(
      target.node.name,
      { marks: { cordoned: true, taints: ['dedicated'], lbLabel: true, bootId: 'forged-boot' } },
      {
        metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } },
        spec: { unschedulable: true, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] },
      },
    );

    // Act
    const report = await reconcilePool(target.pool);

    // Assess
    expect(report.flatMap((c) => c.nodes).filter((n) => n.error)).toEqual([]);
    const node = await nodeNow(target.node.name);
    expect(node.taints).toContain('dedicated');
    expect(node.unschedulable).toBe(true);
    expect(node.labels['node.kubernetes.io/exclude-from-external-load-balancers']).toBe('true');
  });
});
