/**
 * Forged invocations through the whole Lambda app, against moto and the real control plane: events
 * from another account or region, stale or dated ahead, a Spot warning about an On-Demand instance,
 * and more instances than one event may act on. What must not be acted on leaves the cluster as it
 * was: no cordon, no taint, no lease annotation, no Event, not even a new resourceVersion.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SampleEvent, sampleEvent } from '../../src/events/samples.js';
import { recordOn } from '../../src/interruption/record.js';
import { scheduleEvent } from '../bed/aws-witnesses.js';
import { adminClients, uniqueSuffix } from '../bed/kube.js';
import { lambdaEnv } from '../bed/lambda.js';
import { measured, unexplainedMarks } from './invariants.js';
import * as forged from './untouched.js';
import { marks, untouched } from './untouched.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const pool = `forged-${uniqueSuffix()}`;
const env = lambdaEnv(bed, { MAX_INSTANCES_PER_EVENT: '2' });

beforeAll(() => {
  Object.assign(process.env, env);
});
afterAll(async () => {
  process.env = saved;
  expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

const settledNode = (options: { onDemand?: boolean } = {}) => forged.settledNode(bed, admin, pool, options);
const invoke = (event: SampleEvent) => forged.invoke(env, event);
const eventsBy = (requestId: string) => forged.eventsBy(admin.core, requestId);

describe('forged events', () => {
  it.each([
    ['from another account', { account: '999999999999' }, 'wrong-account'],
    ['from another region', { region: 'ap-south-1' }, 'wrong-region'],
    ['dated 2020', { time: '2020-01-01T00:00:00Z' }, 'stale'],
    ['whose two minutes ended 20 s ago', { time: new Date(Date.now() - 140_000) }, 'stale'],
    ['dated an hour ahead', { time: new Date(Date.now() + 3_600_000) }, 'from-the-future'],
  ])('drops a Spot warning %s, touching nothing', async (_, overrides, reason) => {
    // Prepare
    const { instance, node, resourceVersion } = await settledNode();
    const event = sampleEvent('spot-interruption', { instanceId: instance.instanceId, ...overrides });

    // Act
    const { report, logs, requestId } = await invoke(event);

    // Assess
    const after = await admin.core.readNode({ name: node.name });
    measured(`forged: Spot warning ${reason}`, { status: report.status, reason: report.reason });
    expect(report).toMatchObject({ eventId: event.id, status: 'rejected', notices: [] });
    expect(report.reason).toMatch(new RegExp(`^${reason}: `));
    expect(marks(after)).toEqual(untouched);
    expect(after.metadata?.resourceVersion).toBe(resourceVersion);
    expect(await eventsBy(requestId)).toBe(0);
    expect(logs).toContainEqual(
      expect.objectContaining({ message: `event dropped: ${reason}`, eventId: event.id }),
    );
  });

  it.each([
    ['a Spot warning', 'spot-interruption'],
    ['a rebalance recommendation', 'rebalance-recommendation'],
  ] as const)('drops %s about an On-Demand instance, which EC2 describes as such', async (_, kind) => {
    // Prepare: the node is labelled as Spot (labels can lie); EC2 says the instance is On-Demand.
    const { instance, node, resourceVersion } = await settledNode({ onDemand: true });
    const event = sampleEvent(kind, { instanceId: instance.instanceId });

    // Act
    const { report, logs, requestId } = await invoke(event);

    // Assess
    const after = await admin.core.readNode({ name: node.name });
    expect(report.status).toBe('handled');
    expect(report.notices).toMatchObject([{ status: 'skipped', reason: 'ec2-disagrees' }]);
    expect(marks(after)).toEqual(untouched);
    expect(after.metadata?.resourceVersion).toBe(resourceVersion);
    expect(await eventsBy(requestId)).toBe(0);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'notice dropped: ec2-disagrees',
        reason: 'ec2-disagrees',
        eventId: event.id,
        instanceId: instance.instanceId,
      }),
    );
  });

  it('still acts on a Spot warning about a Spot instance (the checks are not a wall)', async () => {
    // Prepare
    const { instance, node } = await settledNode();

    // Act
    const { report, requestId } = await invoke(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
    );

    // Assess
    expect(report.notices).toMatchObject([{ status: 'done', action: 'drain' }]);
    const after = await admin.core.readNode({ name: node.name });
    expect(after.spec?.unschedulable).toBe(true);
    expect(recordOn(after)).toMatchObject({ holder: requestId, state: 'drained' });
  });

  it('acts on MAX_INSTANCES_PER_EVENT instances of a Health event and leaves the others alone', async () => {
    // Prepare: three real nodes; the container allows two per event.
    const nodes = [await settledNode(), await settledNode(), await settledNode()];
    const ids = nodes.map((n) => n.instance.instanceId);

    // Starting in ten minutes: within the lead, so drained now rather than recorded for later.
    // EC2 lists the retirement for the two acted on, as it does for a genuine Health event.
    const startTime = new Date(Math.floor((Date.now() + 10 * 60_000) / 1000) * 1000);
    for (const id of ids.slice(0, 2)) await scheduleEvent(bed, id, startTime);

    // Act
    const { report, logs, requestId } = await invoke(
      sampleEvent('scheduled-change', { instanceIds: ids, startTime }),
    );

    // Assess
    const after = await Promise.all(nodes.map((n) => admin.core.readNode({ name: n.node.name })));
    measured('forged: Health event over the cap', {
      acted: report.notices.map((n) => n.status),
      leftAlone: report.leftAlone,
    });
    expect(report.notices.map((n) => [n.instanceId, n.status])).toEqual([
      [ids[0], 'done'],
      [ids[1], 'done'],
    ]);
    expect(report.leftAlone).toEqual([ids[2]]);
    expect(after.slice(0, 2).map((n) => recordOn(n)?.holder)).toEqual([requestId, requestId]);
    expect(marks(after[2]!)).toEqual(untouched);
    expect(after[2]!.metadata?.resourceVersion).toBe(nodes[2]!.resourceVersion);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'instances left alone: the event names more than MAX_INSTANCES_PER_EVENT',
        instanceIds: [ids[2]],
      }),
    );
  });
});
