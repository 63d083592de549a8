/**
 * A Health event naming several instances is fanned out: the invocation that receives it hands each
 * instance to an asynchronous invocation of the function itself (Lambda's Invoke API, played by a
 * stand-in that records the calls; moto would run the function in Docker), and each of those, run
 * here as Lambda would run it, drains its one node with its own deadline.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { parseEvent } from '../../../src/events/parse-event.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { scheduleEvent } from '../../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance, testFunctionArn } from '../../bed/lambda.js';
import { createDeployment } from '../../bed/workloads.js';
import { type LambdaStub, startLambdaStub } from '../../support/lambda-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const functionName = 'eks-spot-drainer-test-interruption';
let stub: LambdaStub;
let app: LambdaApp;
let namespace: string;

beforeAll(async () => {
  stub = await startLambdaStub();
  const env = lambdaEnv(bed, {
    AWS_ENDPOINT_URL_LAMBDA: stub.endpoint,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
  });
  Object.assign(process.env, env);
  app = createLambdaApp(env);
  namespace = await createNamespace(admin.core, 'fanout');
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
});

async function nodeWithPods() {
  const pool = `fanout-${uniqueSuffix()}`;
  const target = await spotNodeWithInstance(bed, admin, pool);
  const app = `web-${uniqueSuffix()}`;
  await createDeployment(admin, namespace, app, 2, { pool, gracePeriodSeconds: 2 });
  await waitForReadyPods(admin.core, namespace, `app=${app}`, 2);
  return target;
}

/** A maintenance start ten minutes ahead (within the lead), which EC2 lists for each instance. */
async function listedSoon(ids: string[]): Promise<Date> {
  const start = new Date(Math.floor((Date.now() + 10 * 60_000) / 1000) * 1000);
  for (const id of ids) await scheduleEvent(bed, id, start);
  return start;
}

async function podsOn(nodeName: string) {
  const list = await admin.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  return list.items.filter((p) => p.metadata?.namespace === namespace);
}

describe('a Health event naming several instances', () => {
  it('is handed out, one asynchronous invocation per instance, each of which drains its node', async () => {
    // Prepare: three nodes; the maintenance starts in ten minutes (within the lead: drained now).
    const targets = [await nodeWithPods(), await nodeWithPods(), await nodeWithPods()];
    const ids = targets.map((t) => t.instance.instanceId);
    const event = sampleEvent('scheduled-change', { instanceIds: ids, startTime: await listedSoon(ids) });
    const before = stub.invocations.length;

    // Act 1: the invocation EventBridge made
    const report = await app.handle(event, lambdaContext(`health-${randomUUID()}`));

    // Assess 1: nothing drained there; one Event invocation of this function per instance
    expect(report.notices.map((n) => [n.instanceId, n.status])).toEqual(ids.map((id) => [id, 'delegated']));
    for (const target of targets) expect(await podsOn(target.node.name)).toHaveLength(2);
    const handedOut = stub.invocations.slice(before);
    expect(handedOut.map((i) => [i.functionName, i.invocationType, i.signedFor])).toEqual(
      ids.map(() => [functionName, 'Event', 'lambda']),
    );
    // Each one names one instance, under the same EventBridge id (duplicates stay recognisable).
    const named = handedOut.map((i) => {
      const parsed = parseEvent(i.payload);
      return parsed.status === 'notices' ? parsed.notices.map((n) => `${n.eventId} ${n.instanceId}`) : [];
    });
    expect(named.flat().sort()).toEqual(ids.map((id) => `${event.id} ${id}`).sort());
    expect(named.every((n) => n.length === 1)).toBe(true);

    // Act 2: Lambda runs each queued invocation (here: at once, as separate invocations)
    const runs = await Promise.all(
      handedOut.map((i) => app.handle(i.payload, lambdaContext(`fanned-${randomUUID()}`))),
    );

    // Assess 2: each drained its own node; none fanned out again
    expect(
      runs.map((r) => r.notices.map((n) => (n.status === 'done' ? n.result.outcome : n.status))),
    ).toEqual(ids.map(() => ['drained']));
    expect(stub.invocations.length - before).toBe(ids.length);
    for (const target of targets) expect(await podsOn(target.node.name)).toEqual([]);
  });

  it('spends no invocation on an instance of another cluster, or one EC2 does not know', async () => {
    // Prepare: one node of ours, one instance of a cluster this function does not manage, one unknown.
    const ours = await nodeWithPods();
    const theirs = await spotNodeWithInstance(bed, admin, `fanout-other-${uniqueSuffix()}`, {
      clusterName: 'someone-elses',
    });
    const unknown = 'i-0aaaaaaaaaaaaaaaa';
    const ids = [ours.instance.instanceId, theirs.instance.instanceId, unknown];
    const before = stub.invocations.length;

    // Act
    const report = await app.handle(
      sampleEvent('scheduled-change', { instanceIds: ids, startTime: new Date(Date.now() + 10 * 60_000) }),
      lambdaContext(`health-${randomUUID()}`),
    );

    // Assess: one invocation, for ours; the others reported as their invocations would have.
    expect(
      report.notices.map((n) => [n.instanceId, n.status === 'skipped' ? n.reason : n.status]).sort(),
    ).toEqual(
      [
        [ours.instance.instanceId, 'delegated'],
        [theirs.instance.instanceId, 'not-managed'],
        [unknown, 'instance-gone'],
      ].sort(),
    );
    expect(stub.invocations.slice(before).map((i) => parseEvent(i.payload))).toEqual([
      expect.objectContaining({
        notices: [expect.objectContaining({ instanceId: ours.instance.instanceId })],
      }),
    ]);
    expect((await admin.core.readNode({ name: theirs.node.name })).spec?.unschedulable).toBeFalsy();
  });

  it('invokes the alias the event came through (provisioned concurrency), with its retries and dead letters', async () => {
    // Prepare: EventBridge invoked the `provisioned` alias, as osls wires the rules with provisionedConcurrency.
    const targets = [await nodeWithPods(), await nodeWithPods()];
    const ids = targets.map((t) => t.instance.instanceId);
    const before = stub.invocations.length;

    // Act
    await app.handle(
      sampleEvent('scheduled-change', { instanceIds: ids, startTime: await listedSoon(ids) }),
      lambdaContext(`health-${randomUUID()}`, 150_000, `${testFunctionArn}:provisioned`),
    );

    // Assess
    expect(stub.invocations.slice(before).map((i) => [i.functionName, i.qualifier])).toEqual(
      ids.map(() => [functionName, 'provisioned']),
    );
    const runs = await Promise.all(
      stub.invocations
        .slice(before)
        .map((i) => app.handle(i.payload, lambdaContext(`fanned-${randomUUID()}`))),
    );
    expect(runs.flatMap((r) => r.notices.map((n) => n.status))).toEqual(['done', 'done']);
  });

  it('handles an instance here when it cannot be handed out', async () => {
    // Prepare: Lambda throttles the self-invocations until the deadline.
    const targets = [await nodeWithPods(), await nodeWithPods()];
    const ids = targets.map((t) => t.instance.instanceId);
    stub.failNext(1_000, 429);

    // Act
    const report = await app.handle(
      sampleEvent('scheduled-change', { instanceIds: ids, startTime: await listedSoon(ids) }),
      lambdaContext(`health-${randomUUID()}`, 30_000),
    );
    stub.failNext(0, 429);

    // Assess: nothing lost
    expect(report.notices.map((n) => (n.status === 'done' ? n.result.outcome : n.status))).toEqual([
      'drained',
      'drained',
    ]);
    for (const target of targets) expect(await podsOn(target.node.name)).toEqual([]);
  });
});
