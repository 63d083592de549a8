import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../src/app/app-types.js';
import { minimumDrainWindowMs } from '../../src/app/deadline.js';
import { createLambdaApp, invocationReserveMs } from '../../src/app/lambda-app.js';
import { TransientError } from '../../src/errors.js';
import { sampleEvent } from '../../src/events/samples.js';
import { recordOn } from '../../src/interruption/record.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor } from '../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../bed/lambda.js';
import { createDeployment, createPdb, pdbStatus } from '../bed/workloads.js';
import { measured, podsStillOn, reportedLeft, unexplainedMarks } from './invariants.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let namespace: string;
const pools: string[] = [];

beforeAll(async () => {
  Object.assign(process.env, lambdaEnv(bed));
  namespace = await createNamespace(admin.core, 'deadline');
});
afterAll(async () => {
  process.env = saved;
  for (const pool of pools) expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

/**
 * A node whose pods cannot all go in time: two behind a budget that allows no disruption, one that
 * ignores SIGTERM for its whole (long) grace period, and two that leave at once.
 */
async function stubbornNode(prefix: string) {
  const pool = `${prefix}-${uniqueSuffix()}`;
  pools.push(pool);
  const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
  const ledger = `${prefix}-ledger`;
  await createDeployment(admin, namespace, ledger, 2, { pool, gracePeriodSeconds: 5 });
  await createDeployment(admin, namespace, `${prefix}-stubborn`, 1, {
    pool,
    gracePeriodSeconds: 300,
    ignoreSigterm: true,
  });
  await createDeployment(admin, namespace, `${prefix}-quick`, 2, { pool, gracePeriodSeconds: 5 });
  await waitFor(
    '5 pods on the node',
    async () => (await podsStillOn(admin.core, node.name, namespace)).length === 5,
  );
  await createPdb(admin, namespace, ledger, { app: ledger }, { maxUnavailable: 0 });
  await waitFor(
    'budget counted',
    async () => (await pdbStatus(admin, namespace, ledger))?.currentHealthy === 2,
  );
  return { instance, node, ledger };
}

function done(notice: NoticeReport | undefined) {
  if (notice?.status !== 'done') throw new Error(`expected a drain, got ${JSON.stringify(notice)}`);
  return notice;
}

async function drainEventMessages(nodeName: string): Promise<string[]> {
  const list = await admin.core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.name=${nodeName}`,
  });
  return list.items.filter((e) => e.reason === 'DrainBlocked').map((e) => e.message ?? '');
}

describe('deadlines', () => {
  it('stops at the Spot deadline and reports exactly the pods a budget and a SIGTERM-ignoring pod keep', async () => {
    // Prepare: the warning was sent 106 s ago, so 14 s of its two minutes are left.
    const { instance, node, ledger } = await stubbornNode('spot');
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 106_000);
    const noticeDeadline = time.getTime() + 120_000;
    const app = createLambdaApp(lambdaEnv(bed));

    // Act
    const report = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId, time }),
      lambdaContext(`spot-deadline-${randomUUID()}`),
    );
    const returnedAt = Date.now();

    // Assess
    const { result } = done(report.notices[0]);
    const left = await podsStillOn(admin.core, node.name, namespace);
    const lease = recordOn(await admin.core.readNode({ name: node.name }));
    measured('deadline: Spot notice with 14 s left', {
      outcome: result.outcome,
      counts: result.counts,
      returnedBeforeNoticeDeadlineMs: noticeDeadline - returnedAt,
      reportedLeft: reportedLeft(result),
      stillOnNode: left,
      lease: lease?.state,
    });
    expect(returnedAt).toBeLessThanOrEqual(noticeDeadline);
    expect(result.outcome).toBe('deadline-reached');
    expect(result.pods.filter((p) => p.name.startsWith(ledger))).toMatchObject([
      { outcome: 'blocked', pdb: ledger },
      { outcome: 'blocked', pdb: ledger },
    ]);
    expect(result.pods.filter((p) => p.name.startsWith('spot-quick'))).toMatchObject([
      { outcome: 'evicted' },
      { outcome: 'evicted' },
    ]);
    // The stubborn pod's grace period was cut to end before the deadline; it is gone or going.
    const stubborn = result.pods.find((p) => p.name.startsWith('spot-stubborn'));
    expect(['evicted', 'still-terminating']).toContain(stubborn?.outcome);
    // Every pod still on the node is reported as left (a terminating one may have gone since).
    expect(left.filter((p) => !reportedLeft(result).includes(p))).toEqual([]);
    expect(lease?.state).toBe('deadline-reached');
    // The Event is written in the background (the drain waits for it only briefly): look until it is there.
    let blocked = '';
    await waitFor('the DrainBlocked event', async () => {
      [blocked = ''] = await drainEventMessages(node.name);
      return blocked !== '';
    });
    for (const pod of reportedLeft(result)) expect(blocked).toContain(pod);
  });

  it("returns before the Lambda's own timeout, with the pods left, when the function has less time than the notice", async () => {
    // Prepare: 12 s of invocation after the reserve; the Spot notice itself has 120 s.
    const { instance, node } = await stubbornNode('lambda');
    const remainingMs = invocationReserveMs + 12_000;
    const app = createLambdaApp(lambdaEnv(bed));
    const context = lambdaContext(`lambda-deadline-${randomUUID()}`, remainingMs);

    // Act
    const started = Date.now();
    const report = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      context,
    );

    // Assess
    const { result } = done(report.notices[0]);
    const leftAtReturn = context.getRemainingTimeInMillis();
    measured("deadline: Lambda's timeout before the notice's", {
      outcome: result.outcome,
      tookMs: Date.now() - started,
      remainingAtReturnMs: leftAtReturn,
      reportedLeft: reportedLeft(result),
    });
    expect(leftAtReturn).toBeGreaterThan(invocationReserveMs - 1_000);
    expect(result.outcome).toBe('deadline-reached');
    expect(reportedLeft(result).length).toBeGreaterThanOrEqual(2);
    const left = await podsStillOn(admin.core, node.name, namespace);
    expect(left.filter((p) => !reportedLeft(result).includes(p))).toEqual([]);
    expect(recordOn(await admin.core.readNode({ name: node.name }))?.state).toBe('deadline-reached');
  });

  it('still cordons and tries a notice that arrives with almost no time left (the minimum window)', async () => {
    // Prepare: 2 s of the Spot warning left when it is handled.
    const pool = `late-${uniqueSuffix()}`;
    pools.push(pool);
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await createDeployment(admin, namespace, 'late', 2, { pool, gracePeriodSeconds: 30 });
    await waitFor(
      '2 pods on the node',
      async () => (await podsStillOn(admin.core, node.name, namespace)).length === 2,
    );
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 118_000);
    const app = createLambdaApp(lambdaEnv(bed));

    // Act
    const started = Date.now();
    const report = await app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId, time }),
      lambdaContext(`late-${randomUUID()}`),
    );
    const returnedAt = Date.now();

    // Assess: the drain got the minimum window, counted from when it was planned, and kept to it.
    const { result } = done(report.notices[0]);
    const drainDeadline = Date.parse(result.deadline);
    const tookMs = returnedAt - started;
    measured('deadline: notice with 2 s left', { outcome: result.outcome, counts: result.counts, tookMs });
    expect(drainDeadline).toBeGreaterThanOrEqual(started + minimumDrainWindowMs);
    expect(drainDeadline).toBeLessThanOrEqual(returnedAt + minimumDrainWindowMs);
    expect(returnedAt).toBeLessThanOrEqual(drainDeadline);
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBe(true);
    expect(result.counts.evicted + result.counts['still-terminating']).toBe(2);
    expect(recordOn(await admin.core.readNode({ name: node.name }))?.state).toBe(result.outcome);
  });

  it('fails at once, touching nothing, when the invocation starts with less time than its reserve', async () => {
    // Prepare
    const pool = `no-time-${uniqueSuffix()}`;
    pools.push(pool);
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    const app = createLambdaApp(lambdaEnv(bed));

    // Act
    const started = Date.now();
    const outcome = app.handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`no-time-${randomUUID()}`, invocationReserveMs - 2_000),
    );

    // Assess: failed before Lambda's own timeout (the 3 s the invocation had), having touched nothing.
    await expect(outcome).rejects.toThrow(TransientError);
    expect(Date.now() - started).toBeLessThan(invocationReserveMs - 2_000);
    const untouched = await admin.core.readNode({ name: node.name });
    expect(untouched.spec?.unschedulable).toBeFalsy();
    expect(recordOn(untouched)).toBeUndefined();
  });
});
