/**
 * A node's interruption as a sequence, through the Lambda app (moto, an EKS token, the `drainer`
 * group's RBAC) and the reconcile: each test plays what EC2, AWS Health and the kubelet do, with the
 * clock moved where days or hours would pass, and asserts the node as the cluster has it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AppDeps, NoticeReport } from '../../../src/app/app-types.js';
import { handleEvent } from '../../../src/app/handle-event.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { reconcileAll } from '../../../src/app/reconcile-all.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordAnnotation, recordOn, stateLabel } from '../../../src/interruption/record.js';
import { excludeFromLoadBalancersLabel } from '../../../src/interruption/world.js';
import { scheduleEvent } from '../../bed/aws-witnesses.js';
import { instances, setBootId, startKubelet, stopKubelet } from '../../bed/instance-life.js';
import {
  adminClients,
  createNamespace,
  createSpotNode,
  uniqueSuffix,
  waitFor,
  waitForReadyPods,
} from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, reconcileEvent, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment, createStatefulSet } from '../../bed/workloads.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const env = lambdaEnv(bed);
let app: LambdaApp;
let namespace: string;
const day = 24 * 3_600_000;

beforeAll(async () => {
  Object.assign(process.env, env);
  app = createLambdaApp(env);
  namespace = await createNamespace(admin.core, 'life');
});
afterAll(() => {
  process.env = saved;
});

function outcomeOf(notice: NoticeReport | undefined): string | undefined {
  return notice?.status === 'done' ? notice.result.outcome : notice?.status;
}

/** The app's dependencies with the clock moved by `offsetMs`, and an invocation in that time. */
function at(offsetMs: number, change: Partial<AppDeps> = {}) {
  const now = () => Date.now() + offsetMs;
  const deps: AppDeps = { ...app.deps, now, ...change };
  const invocation = { id: `life-${randomUUID()}`, deadline: now() + 300_000 };
  return { deps, invocation, now };
}

/** A node of its own pool with an EC2 instance, a boot id, and `replicas` pods of a Deployment. */
async function nodeWithPods(app: string, replicas: number) {
  const pool = `life-${app}-${uniqueSuffix()}`;
  const target = await spotNodeWithInstance(bed, admin, pool);
  await setBootId(admin.core, target.node.name, `boot-${uniqueSuffix()}`);
  if (replicas > 0) {
    await createDeployment(admin, namespace, app, replicas, { pool, gracePeriodSeconds: 2 });
    await waitForReadyPods(admin.core, namespace, `app=${app}`, replicas);
  }
  return { ...target, pool };
}

async function podsOn(nodeName: string): Promise<string[]> {
  const list = await admin.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  return list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();
}

async function marksOf(nodeName: string) {
  const node = await admin.core.readNode({ name: nodeName });
  return {
    unschedulable: node.spec?.unschedulable === true,
    taints: (node.spec?.taints ?? []).map((t) => t.key).filter((k) => !k.startsWith('node.kubernetes.io/un')),
    lbLabel: node.metadata?.labels?.[excludeFromLoadBalancersLabel],
    stateLabel: node.metadata?.labels?.[stateLabel],
    lease: node.metadata?.annotations?.[recordAnnotation],
  };
}

/** Writes a draining lease as a holder would have, renewed last at `renewedAt`. */
async function leaveDrainingLease(
  nodeName: string,
  fields: { kind: string; eventId: string; holder: string; renewedAt: string },
): Promise<void> {
  await admin.core.patchNode({
    name: nodeName,
    body: [
      {
        op: 'add',
        path: '/metadata/annotations/eks-spot-drainer~1drain',
        value: JSON.stringify({
          v: 2,
          state: 'draining',
          action: 'drain',
          ...fields,
          deadline: new Date(Date.now() + 600_000).toISOString(),
          since: fields.renewedAt,
          updatedAt: fields.renewedAt,
          marks: { cordoned: true, taints: [], lbLabel: false },
          hooks: [],
        }),
      },
    ],
  });
}

describe('a Spot stop, then the instance runs again', () => {
  it('lifts the cordon once the kubelet is Ready again, and never one someone else set', async () => {
    // Prepare: two nodes; the second was cordoned by an operator before the notice.
    const ours = await nodeWithPods('stop', 2);
    const theirs = await nodeWithPods('stop-cordoned', 0);
    await admin.core.patchNode({
      name: theirs.node.name,
      body: [{ op: 'add', path: '/spec/unschedulable', value: true }],
    });
    for (const target of [ours, theirs]) {
      const report = await app.handle(
        sampleEvent('spot-interruption', { instanceId: target.instance.instanceId, instanceAction: 'stop' }),
        lambdaContext(`stop-${randomUUID()}`),
      );
      expect(outcomeOf(report.notices[0])).toBe('drained');
    }
    // EC2 stops both instances: their kubelets stop.
    for (const target of [ours, theirs]) {
      await instances.stop(bed.awsEndpoint, target.instance.instanceId);
      await stopKubelet(admin.core, target.node.name);
    }
    const whileStopped = await app.handle(
      reconcileEvent(bed.region),
      lambdaContext(`reconcile-${randomUUID()}`),
    );

    // Act: EC2 starts them again (EC2 dates it to the second: a later second than the warning's), and
    // their kubelets come back with a new boot id; the schedule fires.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    for (const target of [ours, theirs]) {
      await instances.start(bed.awsEndpoint, target.instance.instanceId);
      await startKubelet(admin.core, target.node.name, `boot-${uniqueSuffix()}`);
    }
    const report = await app.handle(reconcileEvent(bed.region), lambdaContext(`reconcile-${randomUUID()}`));

    // Assess
    const stepOf = (r: typeof report, node: string) =>
      r.reconcile?.flatMap((c) => c.nodes).find((n) => n.node === node);
    expect(report.status).toBe('reconciled');
    expect(stepOf(whileStopped, ours.node.name)?.step).not.toBe('release');
    expect(stepOf(report, ours.node.name)).toMatchObject({ step: 'release', result: 'released' });
    expect(await marksOf(ours.node.name)).toEqual({
      unschedulable: false,
      taints: [],
      lbLabel: undefined,
      stateLabel: undefined,
      lease: undefined,
    });
    // The operator's cordon stays; only this project's taint, label and lease go.
    expect(await marksOf(theirs.node.name)).toEqual({
      unschedulable: true,
      taints: [],
      lbLabel: undefined,
      stateLabel: undefined,
      lease: undefined,
    });
  });
});

describe('an AWS Health scheduled change two weeks ahead', () => {
  it('is recorded, drained by the reconcile when due, never drained again by its updates, and undone when closed', async () => {
    // Prepare
    const { instance, node } = await nodeWithPods('health', 2);
    const start = new Date(Math.floor((Date.now() + 14 * day) / 1000) * 1000);
    await scheduleEvent(bed, instance.instanceId, start);
    const eventArn = `arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/test-${uniqueSuffix()}`;
    // Health publishes each update as a new event, dated when it is sent.
    const health = (statusCode: string, time = new Date()) =>
      sampleEvent('scheduled-change', {
        instanceIds: [instance.instanceId],
        time: new Date(Math.floor(time.getTime() / 1000) * 1000),
        startTime: start,
        detail: { eventArn, statusCode },
      });

    // Act 1: the announcement, and a republication a day later.
    const announced = await app.handle(health('upcoming'), lambdaContext(`health-${randomUUID()}`));
    const nextDay = at(day);
    const republished = await handleEvent(
      health('upcoming', new Date(nextDay.now())),
      nextDay.deps,
      nextDay.invocation,
    );

    // Assess 1: recorded, nothing drained or cordoned
    expect(outcomeOf(announced.notices[0])).toBe('scheduled');
    expect(outcomeOf(republished.notices[0])).toBe('scheduled');
    expect(await podsOn(node.name)).toHaveLength(2);
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBeFalsy();
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'scheduled',
      reasons: [{ kind: 'scheduled-change', scheduled: { eventArn, start: start.toISOString() } }],
    });

    // Act 2: the reconcile at start minus the lead (30 min) plus a minute.
    const due = at(14 * day - 29 * 60_000);
    const reconciled = await reconcileAll(due.deps, due.invocation, {
      selector: `pool=${await poolOf(node.name)}`,
    });

    // Assess 2: drained with each pod's own grace
    expect(reconciled.flatMap((c) => c.nodes)).toMatchObject([
      { node: node.name, step: 'drain', result: 'drained' },
    ]);
    expect(await podsOn(node.name)).toEqual([]);
    const drained = recordOn(await admin.core.readNode({ name: node.name }));
    expect(drained).toMatchObject({
      state: 'drained',
      reasons: [{ kind: 'scheduled-change', scheduled: { eventArn, start: start.toISOString() } }],
    });
    // The drain ends before the maintenance starts (and before its invocation must return).
    expect(Date.parse(drained!.deadline)).toBeLessThanOrEqual(start.getTime());

    // Act 3: Health republishes it as open, its start now in the past.
    const open = at(14 * day + 60_000);
    const reopened = await handleEvent(health('open', new Date(open.now())), open.deps, open.invocation);

    // Assess 3: the same change: no second drain
    expect(outcomeOf(reopened.notices[0])).toBe('already-done');

    // Act 4: Health closes it; the node is Ready.
    const closed = at(14 * day + 3_600_000);
    const closing = await handleEvent(
      health('closed', new Date(closed.now())),
      closed.deps,
      closed.invocation,
    );

    // Assess 4: the cordon, taint, label and lease are gone
    expect(outcomeOf(closing.notices[0])).toBe('released');
    expect(await marksOf(node.name)).toEqual({
      unschedulable: false,
      taints: [],
      lbLabel: undefined,
      stateLabel: undefined,
      lease: undefined,
    });
  });
});

describe('an instance that is gone with pods still bound to its node', () => {
  it('frees them with the out-of-service taint within seconds, and the StatefulSet comes back elsewhere', async () => {
    // Prepare: a StatefulSet and a Deployment on the doomed node, a healthy node in the same pool.
    const doomed = await nodeWithPods('gone', 1);
    await createStatefulSet(admin, namespace, 'db', 2, { pool: doomed.pool, gracePeriodSeconds: 30 });
    await waitForReadyPods(admin.core, namespace, 'app=db', 2);
    const spare = await createSpotNode(admin.core, { extraLabels: { pool: doomed.pool } });
    // The kubelet stops first, then EC2 terminates the instance.
    await stopKubelet(admin.core, doomed.node.name);
    await instances.terminate(bed.awsEndpoint, doomed.instance.instanceId);
    const started = Date.now();

    // Act: the state changes EC2 announces
    const shuttingDown = await app.handle(
      sampleEvent('state-change-stopping', {
        instanceId: doomed.instance.instanceId,
        state: 'shutting-down',
      }),
      lambdaContext(`gone-${randomUUID()}`),
    );
    const tookMs = Date.now() - started;
    const terminated = await app.handle(
      sampleEvent('state-change-stopping', { instanceId: doomed.instance.instanceId, state: 'terminated' }),
      lambdaContext(`gone-${randomUUID()}`),
    );

    // Assess
    expect(outcomeOf(shuttingDown.notices[0])).toBe('out-of-service');
    expect(tookMs).toBeLessThan(30_000);
    expect(['already-done', 'out-of-service']).toContain(outcomeOf(terminated.notices[0]));
    const node = await admin.core.readNode({ name: doomed.node.name });
    expect(node.spec?.taints).toContainEqual(
      expect.objectContaining({
        key: 'node.kubernetes.io/out-of-service',
        value: 'eks-spot-drainer',
        effect: 'NoExecute',
      }),
    );
    expect(recordOn(node)?.state).toBe('out-of-service');
    // The pod garbage collector deletes them; the StatefulSet's replacements start on the spare node.
    await waitFor(
      'no pod bound to the dead node',
      async () => (await podsOn(doomed.node.name)).length === 0,
      90_000,
    );
    const db = await waitForReadyPods(admin.core, namespace, 'app=db', 2, 90_000);
    expect(db.map((p) => p.spec?.nodeName)).toEqual([spare.name, spare.name]);
  });

  it('does not taint a node whose instance EC2 says is still running', async () => {
    // Prepare: the kubelet stops, but the instance runs (a kubelet crash, not a shutdown).
    const target = await nodeWithPods('blip', 1);
    await stopKubelet(admin.core, target.node.name);

    // Act: a forged (or stale) "stopped" notice
    const report = await app.handle(
      sampleEvent('state-change-stopping', { instanceId: target.instance.instanceId, state: 'stopped' }),
      lambdaContext(`blip-${randomUUID()}`, 20_000),
    );

    // Assess
    expect(outcomeOf(report.notices[0])).not.toBe('out-of-service');
    const node = await admin.core.readNode({ name: target.node.name });
    expect((node.spec?.taints ?? []).map((t) => t.key)).not.toContain('node.kubernetes.io/out-of-service');
    await startKubelet(admin.core, target.node.name, `boot-${uniqueSuffix()}`);
  });
});

describe('a drain whose invocation died', () => {
  it("is taken over and finished by the next notice, before that notice's deadline", async () => {
    // Prepare: a lease left "draining" by a holder that stopped renewing it a minute ago.
    const { instance, node } = await nodeWithPods('dead', 2);
    await leaveDrainingLease(node.name, {
      kind: 'rebalance-recommendation',
      eventId: 'rebalance-1',
      holder: 'oom-killed-invocation',
      renewedAt: new Date(Date.now() - 60_000).toISOString(),
    });
    const event = sampleEvent('spot-interruption', { instanceId: instance.instanceId });

    // Act
    const report = await app.handle(event, lambdaContext(`next-${randomUUID()}`));

    // Assess
    const notice = report.notices[0];
    expect(outcomeOf(notice)).toBe('drained');
    expect(notice?.status === 'done' && notice.result.timeLeftMs).toBeGreaterThan(0);
    expect(await podsOn(node.name)).toEqual([]);
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({ state: 'drained' });
  });

  it('is taken over by a notice standing by when its live holder stops renewing mid-drain', async () => {
    // Prepare: a live holder (renewed just now) that will never renew again; short lease timing.
    const { instance, node } = await nodeWithPods('standby', 2);
    await leaveDrainingLease(node.name, {
      kind: 'asg-terminate',
      eventId: 'asg-1',
      holder: 'about-to-crash',
      renewedAt: new Date().toISOString(),
    });
    const { deps, invocation } = at(0, { timing: { staleAfterMs: 3_000, renewIntervalMs: 1_000 } });
    invocation.deadline = Date.now() + 60_000;

    // Act
    const report = await handleEvent(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      deps,
      invocation,
    );

    // Assess: the Spot notice's tighter deadline was recorded, then it took over and drained
    expect(outcomeOf(report.notices[0])).toBe('drained');
    expect(await podsOn(node.name)).toEqual([]);
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'drained',
      holder: invocation.id,
    });
  });
});

describe('a rebalance recommendation that no interruption follows', () => {
  it('keeps the cordon by default, and lifts it after rebalanceCordonTtlMinutes', async () => {
    // Prepare
    const kept = await nodeWithPods('rebalance-kept', 0);
    const lifted = await nodeWithPods('rebalance-lifted', 0);
    for (const target of [kept, lifted]) {
      const report = await app.handle(
        sampleEvent('rebalance-recommendation', { instanceId: target.instance.instanceId }),
        lambdaContext(`rebalance-${randomUUID()}`),
      );
      expect(outcomeOf(report.notices[0])).toBe('cordoned');
    }

    // Act: an hour later, one reconcile with the default (0: keep), one with a 30 min TTL.
    const hourLater = at(3_600_000);
    const withTtl = at(3_600_000, {
      config: {
        ...app.deps.config,
        interruption: { ...app.deps.config.interruption, rebalanceCordonTtlMs: 30 * 60_000 },
      },
    });
    await reconcileAll(hourLater.deps, hourLater.invocation, { selector: `pool=${kept.pool}` });
    await reconcileAll(withTtl.deps, withTtl.invocation, { selector: `pool=${lifted.pool}` });

    // Assess
    expect(await marksOf(kept.node.name)).toMatchObject({ unschedulable: true, stateLabel: 'cordoned' });
    expect(await marksOf(lifted.node.name)).toEqual({
      unschedulable: false,
      taints: [],
      lbLabel: undefined,
      stateLabel: undefined,
      lease: undefined,
    });
  });
});

async function poolOf(nodeName: string): Promise<string> {
  return (await admin.core.readNode({ name: nodeName })).metadata?.labels?.pool ?? '';
}
