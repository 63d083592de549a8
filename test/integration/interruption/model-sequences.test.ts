/**
 * Sequences the model-based test shrank to (test/unit/interruption/counterexamples.test.ts), played
 * again on the real control plane through the Lambda app as `drainer`: moto for EC2 (held, stopped,
 * started), KWOK nodes whose kubelets stop and come back, the Auto Scaling stand-in, and the clock
 * moved where the sequence lets time pass. Each asserts the node as the cluster has it.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AppDeps } from '../../../src/app/app-types.js';
import { handleEvent } from '../../../src/app/handle-event.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { reconcileAll } from '../../../src/app/reconcile-all.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordAnnotation, stateLabel } from '../../../src/interruption/record.js';
import { terminatingInGroup } from '../../bed/aws-witnesses.js';
import { instances, setBootId, startKubelet, stopKubelet } from '../../bed/instance-life.js';
import { adminClients, uniqueSuffix } from '../../bed/kube.js';
import { lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const minute = 60_000;
let stub: AutoScalingStub;
let app: LambdaApp;

beforeAll(async () => {
  // DescribeAutoScalingInstances (which confirms a hook's event) goes on to moto.
  stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  const env = lambdaEnv(bed, { AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint });
  Object.assign(process.env, env);
  app = createLambdaApp(env);
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
});

/** A node of its own pool, its instance in moto, and what happens to it, with the clock `offset` ahead. */
async function world(name: string, change: Partial<AppDeps> = {}) {
  const pool = `model-${name}-${uniqueSuffix()}`;
  const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
  await setBootId(admin.core, node.name, `boot-${uniqueSuffix()}`);
  let offset = 0;
  const deps = (): AppDeps => ({ ...app.deps, ...change, now: () => Date.now() + offset });
  const invocation = () => ({ id: `model-${randomUUID()}`, deadline: Date.now() + offset + 120_000 });
  const id = instance.instanceId;
  return {
    node: node.name,
    send: (event: Record<string, unknown>) => handleEvent(event, deps(), invocation()),
    reconcile: () => reconcileAll(deps(), invocation(), { selector: `pool=${pool}` }),
    advance: (ms: number) => {
      offset += ms;
    },
    ec2: {
      stop: () => instances.stop(bed.awsEndpoint, id),
      start: async () => {
        // EC2 keeps launch times to the second as the API server keeps Ready's: a start is a later second.
        await new Promise((r) => setTimeout(r, 1_100));
        await instances.start(bed.awsEndpoint, id);
      },
    },
    kubelet: {
      gone: () => stopKubelet(admin.core, node.name),
      ready: () => startKubelet(admin.core, node.name, `boot-${uniqueSuffix()}`),
    },
    instanceId: id,
  };
}

async function nodeNow(name: string) {
  const n = await admin.core.readNode({ name });
  return {
    unschedulable: n.spec?.unschedulable === true,
    taints: (n.spec?.taints ?? [])
      .map((t) => t.key)
      // The node controller's own taints (not-ready, unreachable) come and go with the kubelet.
      .filter((k) => !/^node\.kubernetes\.io\/(un|not-ready)/.test(k))
      .sort(),
    record: n.metadata?.annotations?.[recordAnnotation],
  };
}

describe('sequences the model found, on the real control plane', () => {
  it('a machine EC2 stopped and started within its Spot warning: out-of-service lifted, released', async () => {
    // Prepare
    const w = await world('back');
    const spot = sampleEvent('spot-interruption', { instanceId: w.instanceId });

    // Act: Spot warning, kubelet gone, EC2 stops it, reconcile, EC2 starts it, kubelet Ready, reconcile.
    await w.send(spot);
    await w.kubelet.gone();
    await w.ec2.stop();
    await w.reconcile();
    const outOfService = (await nodeNow(w.node)).taints;
    await w.ec2.start();
    await w.kubelet.ready();
    await w.reconcile();

    // Assess
    expect(outOfService).toContain('node.kubernetes.io/out-of-service');
    expect(await nodeNow(w.node)).toEqual({ unschedulable: false, taints: [], record: undefined });
  });

  it('a kubelet Ready before EC2 stopped and started the instance is not the machine back', async () => {
    // Prepare
    const w = await world('reboot');

    // Act: Spot warning; the kubelet restarts (a new boot id EC2 did not see); EC2 stops the
    // instance and starts it, the kubelet never down in between as the API server sees it.
    await w.send(sampleEvent('spot-interruption', { instanceId: w.instanceId }));
    await w.kubelet.ready();
    // EC2 and the API server keep whole seconds: the restart is seconds before the stop, as it would be.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await w.ec2.stop();
    await instances.start(bed.awsEndpoint, w.instanceId);
    await w.reconcile();

    // Assess: its warning's two minutes are not over and no kubelet came back after the start.
    expect(await nodeNow(w.node)).toMatchObject({
      unschedulable: true,
      taints: ['eks-spot-drainer/spot-interruption'],
    });
  });

  it("a release removes every taint of this project and no one else's, whatever the record lists", async () => {
    // Prepare: a `stopping` notice marks the node; then something on the node rewrites the record.
    const w = await world('forged');
    await admin.core.patchNode(
      {
        name: w.node,
        body: { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } },
      },
      mergePatch,
    );
    await w.send(sampleEvent('state-change-stopping', { instanceId: w.instanceId }));
    const forged = {
      v: 3,
      state: 'drained',
      reasons: [
        {
          kind: 'spot-interruption',
          action: 'drain',
          eventId: 'forged',
          at: new Date(Date.now() - 3_600_000).toISOString(),
          deadline: new Date(Date.now() - 3_480_000).toISOString(),
        },
      ],
      deadline: new Date(Date.now() - 3_600_000).toISOString(),
      since: new Date(Date.now() - 7_200_000).toISOString(),
      updatedAt: new Date(Date.now() - 3_600_000).toISOString(),
      marks: { cordoned: true, taints: ['dedicated'], lbLabel: true, bootId: 'forged' },
      hooks: [],
    };
    await admin.core.patchNode(
      {
        name: w.node,
        body: {
          metadata: {
            annotations: { [recordAnnotation]: JSON.stringify(forged) },
            labels: { [stateLabel]: 'drained' },
          },
        },
      },
      mergePatch,
    );

    // Act: twelve minutes later (the `stopping` notice's budget and its grace are over), a reconcile.
    w.advance(13 * minute);
    await w.reconcile();

    // Assess
    expect(await nodeNow(w.node)).toEqual({ unschedulable: false, taints: ['dedicated'], record: undefined });
  });

  it('a rebalance recommendation delivered again after its TTL does not cordon again', async () => {
    // Prepare
    const ttl = {
      ...app.deps.config,
      interruption: { ...app.deps.config.interruption, rebalanceCordonTtlMs: 30 * minute },
    };
    const w = await world('rebalance', { config: ttl });
    const rebalance = sampleEvent('rebalance-recommendation', { instanceId: w.instanceId });

    // Act
    await w.send(rebalance);
    const cordoned = await nodeNow(w.node);
    w.advance(30 * minute);
    await w.send(rebalance);
    await w.reconcile();

    // Assess
    expect(cordoned.unschedulable).toBe(true);
    expect(await nodeNow(w.node)).toEqual({ unschedulable: false, taints: [], record: undefined });
  });

  it('an Auto Scaling event delivered again after its drain ended does not complete the hook again', async () => {
    // Prepare
    const w = await world('hook');
    await terminatingInGroup(bed, w.instanceId);
    const hook = sampleEvent('asg-terminate', { instanceId: w.instanceId });
    const before = stub.calls.length;

    // Act
    const first = await w.send(hook);
    const again = await w.send(hook);

    // Assess
    const completions = stub.calls
      .slice(before)
      .filter((c) => c.action === 'CompleteLifecycleAction' && c.params.InstanceId === w.instanceId);
    expect(first.notices[0]).toMatchObject({ lifecycleAction: 'completed' });
    expect(again.notices[0]).toMatchObject({ lifecycleAction: 'completed-by-holder' });
    expect(completions).toHaveLength(1);
  });
});
