import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../src/app/app-types.js';
import type { EventReport } from '../../src/app/handle-event.js';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import { sampleEvent } from '../../src/events/samples.js';
import { recordOn } from '../../src/interruption/record.js';
import { scheduleEvent } from '../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor, waitForReadyPods } from '../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../bed/lambda.js';
import { createDeployment } from '../bed/workloads.js';
import { podsStillOn, unexplainedMarks } from './invariants.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let namespace: string;
// One pool per node: replacements of evicted pods stay Pending instead of landing on the next test's node.
const pools: string[] = [];

beforeAll(async () => {
  // The SDK's default credential chain and the token signer read the environment, as in Lambda.
  Object.assign(process.env, lambdaEnv(bed));
  namespace = await createNamespace(admin.core, 'dup');
});
afterAll(async () => {
  process.env = saved;
  for (const pool of pools) expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

function outcomeOf(notice: NoticeReport | undefined): string | undefined {
  return notice?.status === 'done' ? notice.result.outcome : notice?.status;
}

/** The reasons of the node's Events, once a Drain is among them: Events are written in the background. */
async function drainEvents(nodeName: string): Promise<string[]> {
  let reasons: string[] = [];
  await waitFor(`a Drain event on ${nodeName}`, async () => {
    const list = await admin.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${nodeName}`,
    });
    reasons = list.items.map((e) => e.reason ?? '');
    return reasons.includes('Drain');
  });
  return reasons;
}

async function nodeWithPods(app: string, replicas: number) {
  const pool = `dup-${app}-${uniqueSuffix()}`;
  pools.push(pool);
  const target = await spotNodeWithInstance(bed, admin, pool);
  await createDeployment(admin, namespace, app, replicas, {
    pool,
    gracePeriodSeconds: 2,
    exitAfter: '1500ms',
  });
  await waitForReadyPods(admin.core, namespace, `app=${app}`, replicas);
  return target;
}

describe('duplicate and overlapping deliveries through the Lambda app', () => {
  it('turns one event delivered three times at once, to three containers, into one drain', async () => {
    // Prepare: three containers, as concurrent deliveries land on separate ones.
    const { instance, node } = await nodeWithPods('triple', 4);
    const event = sampleEvent('spot-interruption', { instanceId: instance.instanceId });
    const apps = [1, 2, 3].map(() => createLambdaApp(lambdaEnv(bed)));

    // Act
    const settled = await Promise.allSettled(
      apps.map((app, i) => app.handle(structuredClone(event), lambdaContext(`dup-${i}-${randomUUID()}`))),
    );

    // Assess: every invocation succeeded; one drained, the others deferred to it.
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const reports = settled.map((s) => (s as PromiseFulfilledResult<EventReport>).value);
    const outcomes = reports.map((r) => outcomeOf(r.notices[0])).sort();
    expect(outcomes.filter((o) => o === 'drained')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'in-progress-elsewhere' || o === 'already-done')).toHaveLength(2);
    const evicted = reports
      .flatMap((r) => r.notices)
      .reduce((sum, n) => sum + (n.status === 'done' ? n.result.counts.evicted : 0), 0);
    expect(evicted).toBe(4);
    expect((await drainEvents(node.name)).filter((r) => r === 'Drain')).toHaveLength(1);
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
    const record = recordOn(await admin.core.readNode({ name: node.name }));
    expect(record).toMatchObject({
      state: 'drained',
      reasons: [expect.objectContaining({ eventId: event.id })],
    });
  });

  it('cordons on a rebalance recommendation, then upgrades to one drain on the interruption', async () => {
    // Prepare
    const { instance, node } = await nodeWithPods('upgrade', 3);
    const app = createLambdaApp(lambdaEnv(bed));

    // Act
    const rebalance = await app.handle(
      sampleEvent('rebalance-recommendation', { instanceId: instance.instanceId }),
      lambdaContext(`rebalance-${randomUUID()}`),
    );
    const afterRebalance = await admin.core.readNode({ name: node.name });
    const podsAfterRebalance = await podsStillOn(admin.core, node.name, namespace);
    const interruption = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`interruption-${randomUUID()}`),
    );

    // Assess
    expect(outcomeOf(rebalance.notices[0])).toBe('cordoned');
    expect(afterRebalance.spec?.unschedulable).toBe(true);
    expect(recordOn(afterRebalance)).toMatchObject({
      state: 'cordoned',
      reasons: [expect.objectContaining({ action: 'cordon' })],
    });
    expect(podsAfterRebalance).toHaveLength(3);
    expect(outcomeOf(interruption.notices[0])).toBe('drained');
    const final = await admin.core.readNode({ name: node.name });
    expect(recordOn(final)).toMatchObject({
      state: 'drained',
      reasons: [expect.objectContaining({ action: 'drain', kind: 'spot-interruption' }), expect.anything()],
    });
    expect((await drainEvents(node.name)).filter((r) => r === 'Drain')).toHaveLength(1);
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('converges on one drain when the rebalance and the interruption arrive at the same moment', async () => {
    // Prepare: EventBridge often delivers both within milliseconds, to two containers.
    const { instance, node } = await nodeWithPods('race', 3);
    const [first, second] = [createLambdaApp(lambdaEnv(bed)), createLambdaApp(lambdaEnv(bed))];

    // Act
    const [rebalance, interruption] = await Promise.all([
      first.handle(
        sampleEvent('rebalance-recommendation', { instanceId: instance.instanceId }),
        lambdaContext(`race-rebalance-${randomUUID()}`),
      ),
      second.handle(
        sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
        lambdaContext(`race-interruption-${randomUUID()}`),
      ),
    ]);

    // Assess: the cordon either went first (and was upgraded) or found the drain in progress.
    expect(['cordoned', 'in-progress-elsewhere']).toContain(outcomeOf(rebalance.notices[0]));
    expect(outcomeOf(interruption.notices[0])).toBe('drained');
    expect((await drainEvents(node.name)).filter((r) => r === 'Drain')).toHaveLength(1);
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({
      state: 'drained',
      reasons: expect.arrayContaining([expect.objectContaining({ action: 'drain' })]),
    });
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('drains two nodes interrupted at the same moment, each completely', async () => {
    // Prepare
    const a = await nodeWithPods('pair-a', 3);
    const b = await nodeWithPods('pair-b', 3);
    const app = createLambdaApp(lambdaEnv(bed));

    // Act: two events at once through one warm container.
    const reports = await Promise.all(
      [a, b].map(({ instance }) =>
        app.handle(
          sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
          lambdaContext(`pair-${randomUUID()}`),
        ),
      ),
    );

    // Assess
    expect(reports.map((r) => outcomeOf(r.notices[0]))).toEqual(['drained', 'drained']);
    expect(reports.map((r) => (r.notices[0]?.status === 'done' ? r.notices[0].target.nodeName : ''))).toEqual(
      [a.node.name, b.node.name],
    );
    for (const { node } of [a, b]) expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('drains both nodes of one AWS Health event that names two instances', async () => {
    // Prepare
    const a = await nodeWithPods('health-a', 2);
    const b = await nodeWithPods('health-b', 2);
    const app = createLambdaApp(lambdaEnv(bed));
    // Ten minutes ahead: within the lead (30 min), so drained now rather than recorded; EC2 lists it.
    const startTime = new Date(Math.floor((Date.now() + 10 * 60_000) / 1000) * 1000);
    for (const { instance } of [a, b]) await scheduleEvent(bed, instance.instanceId, startTime);

    // Act
    const report = await app.handle(
      sampleEvent('scheduled-change', {
        instanceIds: [a.instance.instanceId, b.instance.instanceId],
        startTime,
      }),
      lambdaContext(`health-${randomUUID()}`),
    );

    // Assess
    expect(report.notices.map((n) => outcomeOf(n))).toEqual(['drained', 'drained']);
    for (const { node } of [a, b]) expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });
});
