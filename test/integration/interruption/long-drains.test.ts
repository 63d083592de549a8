/**
 * A drain longer than the function's timeout: the invocation that holds it hands it on before its own
 * end (an asynchronous invoke of the function, played by a stand-in that records it), and the
 * invocation Lambda runs with that event takes the drain over and finishes it; the terminate hook is
 * heartbeaten by both, and completed once, by the one that ends the drain. Through the Lambda app, on
 * the real control plane, with Auto Scaling's stand-in recording the hook's calls.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../../src/app/app-types.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { reconcileAll } from '../../../src/app/reconcile-all.js';
import { parseEvent } from '../../../src/events/parse-event.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { terminatingInGroup } from '../../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment, createPdb } from '../../bed/workloads.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';
import { type LambdaStub, startLambdaStub } from '../../support/lambda-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const functionName = 'eks-spot-drainer-test-interruption';
/** What the function's timeout leaves an invocation here: 25 s, of which 5 s are kept back. */
const invocationMs = 25_000;
let asg: AutoScalingStub;
let lambda: LambdaStub;
let app: LambdaApp;
let namespace: string;

beforeAll(async () => {
  asg = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  lambda = await startLambdaStub();
  const env = lambdaEnv(bed, {
    AWS_ENDPOINT_URL_AUTO_SCALING: asg.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    LIFECYCLE_HEARTBEAT_SECONDS: '1',
    DRAIN_TIMEOUT_SECONDS: '600',
  });
  Object.assign(process.env, env);
  app = createLambdaApp(env);
  namespace = await createNamespace(admin.core, 'long-drains');
});
afterAll(async () => {
  process.env = saved;
  await Promise.all([asg?.stop(), lambda?.stop()]);
});

function outcomeOf(notice: NoticeReport | undefined): string | undefined {
  return notice?.status === 'done' ? notice.result.outcome : notice?.status;
}

/** A node of the managed cluster, its instance terminating in a group, whose pods no eviction may take yet. */
async function nodeHeldByBudget(replicas: number) {
  const pool = `long-${uniqueSuffix()}`;
  const app0 = `web-${uniqueSuffix()}`;
  const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
  await terminatingInGroup(bed, instance.instanceId);
  await createDeployment(admin, namespace, app0, replicas, { pool, gracePeriodSeconds: 10, exitAfter: '1s' });
  await createPdb(admin, namespace, app0, { app: app0 }, { maxUnavailable: 0 });
  await waitForReadyPods(admin.core, namespace, `app=${app0}`, replicas);
  return { instance, node, app0 };
}

async function allowEvictions(name: string): Promise<void> {
  await admin.policy.patchNamespacedPodDisruptionBudget(
    { name, namespace, body: { spec: { maxUnavailable: 2 } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

describe('a terminate hook whose drain outlasts the invocation', () => {
  it('is handed on before the invocation ends, finished by the next, heartbeaten throughout', async () => {
    // Prepare: a budget that allows no eviction keeps the drain going past the first invocation.
    const { instance, node, app0 } = await nodeHeldByBudget(2);
    const [asgBefore, lambdaBefore] = [asg.calls.length, lambda.invocations.length];
    const hookCalls = () =>
      asg.calls.slice(asgBefore).filter((c) => c.params.InstanceId === instance.instanceId);

    // Act 1: the hook's invocation, with 25 s to live and a drain 600 s long
    const first = await app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`, invocationMs),
    );
    const firstEnded = Date.now();

    // Assess 1: handed off, the node still draining and cordoned, its pods and hook still there
    expect(outcomeOf(first.notices[0])).toBe('handed-off');
    expect(first.notices[0]).toMatchObject({ lifecycleAction: 'left-to-holder' });
    const handed = recordOn(await admin.core.readNode({ name: node.name }));
    expect(handed).toMatchObject({
      state: 'draining',
      hooks: [expect.objectContaining({ instanceId: instance.instanceId })],
    });
    expect(handed?.handedOffAt).toBeDefined();
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBe(true);
    const left = await admin.core.listNamespacedPod({ namespace, labelSelector: `app=${app0}` });
    expect(left.items.filter((p) => p.spec?.nodeName === node.name)).toHaveLength(2);
    expect(hookCalls().map((c) => c.action)).not.toContain('CompleteLifecycleAction');
    expect(hookCalls().filter((c) => c.action === 'RecordLifecycleActionHeartbeat').length).toBeGreaterThan(
      0,
    );
    // One asynchronous invoke of the function itself, naming the node of the managed cluster
    const sent = lambda.invocations.slice(lambdaBefore);
    expect(sent.map((i) => [i.functionName, i.invocationType, i.signedFor])).toEqual([
      [functionName, 'Event', 'lambda'],
    ]);
    expect(parseEvent(sent[0]!.payload)).toMatchObject({
      status: 'hand-off',
      cluster: bed.clusterName,
      node: node.name,
    });

    // Act 2: Lambda runs the hand-off; the budget lets evictions through a few seconds into it.
    const second = app.handle(sent[0]!.payload, lambdaContext(`handed-${randomUUID()}`, invocationMs));
    await waitFor(
      'the drain taken over',
      async () => recordOn(await admin.core.readNode({ name: node.name }))?.handedOffAt === undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await allowEvictions(app0);
    const report = await second;

    // Assess 2: taken over, drained, the hook completed once, after the last heartbeat
    expect(report.status).toBe('reconciled');
    expect(report.reconcile?.[0]?.nodes.map((n) => [n.node, n.step, n.result])).toEqual([
      [node.name, 'drain', 'drained'],
    ]);
    await waitFor('the pods gone from the node', async () => {
      const pods = await admin.core.listNamespacedPod({ namespace, labelSelector: `app=${app0}` });
      return pods.items.every((p) => p.spec?.nodeName !== node.name);
    });
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'drained',
      hooks: [],
    });
    const calls = hookCalls();
    expect(
      calls.filter((c) => c.action === 'CompleteLifecycleAction').map((c) => c.params.LifecycleActionResult),
    ).toEqual(['CONTINUE']);
    expect(calls.at(-1)?.action).toBe('CompleteLifecycleAction');
    const beatsAfterHandOff = calls.filter(
      (c) => c.action === 'RecordLifecycleActionHeartbeat' && c.at > firstEnded,
    );
    expect(beatsAfterHandOff.length).toBeGreaterThan(0);
    // No second hand-off: the drain ended within the second invocation.
    expect(lambda.invocations.length - lambdaBefore).toBe(1);
  });

  it('is taken over by the reconcile when the hand-off is lost', async () => {
    // Prepare: as above, and the hand-off's invoke fails (Lambda refuses it).
    const { instance, node, app0 } = await nodeHeldByBudget(2);
    lambda.failNext(10, 500);

    // Act 1
    const first = await app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`, invocationMs),
    );
    lambda.failNext(0, 500);
    await allowEvictions(app0);

    // Act 2: the schedule's reconcile pass (limited to this node: other tests share the cluster)
    expect(outcomeOf(first.notices[0])).toBe('handed-off');
    expect(recordOn(await admin.core.readNode({ name: node.name }))?.handedOffAt).toBeDefined();
    const reconciled = await reconcileAll(
      app.deps,
      { id: `reconcile-${randomUUID()}`, deadline: Date.now() + invocationMs - 5_000 },
      { node: node.name },
    );

    // Assess
    const mine = reconciled.flatMap((c) => c.nodes).find((n) => n.node === node.name);
    expect(mine).toMatchObject({ step: 'drain', result: 'drained' });
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'drained',
      hooks: [],
    });
  });

  it('is never taken from a hand-off naming a cluster this deployment does not manage, or sent from elsewhere', async () => {
    // Prepare: a node under a drain handed off, whose PDB still allows nothing
    const { instance, node, app0 } = await nodeHeldByBudget(1);
    const lambdaBefore = lambda.invocations.length;
    await app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`, invocationMs),
    );
    const sent = lambda.invocations.slice(lambdaBefore)[0]!.payload as Record<string, unknown>;
    const detail = sent.detail as Record<string, unknown>;
    const handedOffAt = recordOn(await admin.core.readNode({ name: node.name }))?.handedOffAt;

    // Act
    const otherCluster = await app.handle(
      { ...sent, id: randomUUID(), detail: { ...detail, cluster: 'someone-elses' } },
      lambdaContext(`forged-${randomUUID()}`, invocationMs),
    );
    const otherAccount = await app.handle(
      { ...sent, id: randomUUID(), account: '210987654321' },
      lambdaContext(`forged-${randomUUID()}`, invocationMs),
    );

    // Assess: both dropped; the record is as the hand-off left it, for its own event or the reconcile
    expect([otherCluster.status, otherAccount.status]).toEqual(['ignored', 'rejected']);
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'draining',
      handedOffAt,
    });
    // Leave no drain behind on the shared cluster: its own hand-off finishes it.
    await allowEvictions(app0);
    await app.handle(sent, lambdaContext(`handed-${randomUUID()}`, invocationMs));
    expect(recordOn(await admin.core.readNode({ name: node.name }))?.state).toBe('drained');
  });
});
