/**
 * Each kind of notice believed only as far as AWS confirms it (src/app/confirm-notice.ts), through
 * the whole Lambda app, against moto (extended where it lacks AWS's answer: test/bed/aws-witnesses.ts)
 * and the real control plane. A forged Auto Scaling hook, a Health change EC2 does not list, a
 * capacity-reservation warning for an instance in no reservation and a late `stopping` for an
 * instance running again are each dropped with nothing touched: the node keeps its resourceVersion,
 * no lifecycle action is completed or heartbeated. The same notices, confirmed, still drain.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import { reconcileAll } from '../../src/app/reconcile-all.js';
import { type SampleEvent, sampleEvent } from '../../src/events/samples.js';
import { recordOn } from '../../src/interruption/record.js';
import {
  cancelScheduledEvents,
  inCapacityReservation,
  inGroup,
  scheduleEvent,
  terminatingInGroup,
} from '../bed/aws-witnesses.js';
import { instances } from '../bed/instance-life.js';
import { adminClients, uniqueSuffix } from '../bed/kube.js';
import { lambdaEnv } from '../bed/lambda.js';
import { type AutoScalingStub, startAutoScalingStub } from '../support/autoscaling-stub.js';
import { measured, unexplainedMarks } from './invariants.js';
import * as forged from './untouched.js';
import { marks, untouched } from './untouched.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const pool = `unconfirmed-${uniqueSuffix()}`;
const day = 24 * 3_600_000;
let stub: AutoScalingStub;
let env: Record<string, string>;

beforeAll(async () => {
  // CompleteLifecycleAction is answered (and recorded) by the stand-in; the rest goes on to moto.
  stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  env = lambdaEnv(bed, { AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint });
  Object.assign(process.env, env);
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
  for (const p of [pool, `${pool}-recorded`]) expect(await unexplainedMarks(admin.core, p)).toEqual([]);
});

const settledNode = () => forged.settledNode(bed, admin, pool);
const invoke = (event: SampleEvent) => forged.invoke(env, event);

/** Lifecycle calls (complete, heartbeat) the function made about an instance. */
const lifecycleCalls = (instanceId: string) =>
  stub.calls.filter((c) => c.action !== 'DescribeAutoScalingInstances' && c.params.InstanceId === instanceId);

/** Runs a notice AWS does not confirm and checks it was dropped for `reason`, touching nothing. */
async function expectDropped(
  made: Awaited<ReturnType<typeof settledNode>>,
  event: SampleEvent,
  reason: string,
): Promise<void> {
  const started = Date.now();
  const { report, logs } = await invoke(event);
  const after = await admin.core.readNode({ name: made.node.name });
  measured(`unconfirmed: ${reason}`, { ms: Date.now() - started, notices: report.notices.length });
  expect(report.notices).toMatchObject([{ status: 'skipped', reason }]);
  expect(marks(after)).toEqual(untouched);
  expect(after.metadata?.resourceVersion).toBe(made.resourceVersion);
  expect(lifecycleCalls(made.instance.instanceId)).toEqual([]);
  expect(logs).toContainEqual(
    expect.objectContaining({
      message: `notice dropped: ${reason}`,
      reason,
      eventId: event.id,
      instanceId: made.instance.instanceId,
    }),
  );
}

describe('an Auto Scaling terminate hook', () => {
  it('is dropped when Auto Scaling lists the instance in no group', async () => {
    const made = await settledNode();
    await expectDropped(
      made,
      sampleEvent('asg-terminate', { instanceId: made.instance.instanceId }),
      'auto-scaling-disagrees',
    );
  });

  it('is dropped when the instance is in another group', async () => {
    const made = await settledNode();
    await terminatingInGroup(bed, made.instance.instanceId, `other-${uniqueSuffix()}`);
    await expectDropped(
      made,
      sampleEvent('asg-terminate', { instanceId: made.instance.instanceId }),
      'auto-scaling-disagrees',
    );
  });

  it('is dropped when the instance is in the group but in service, not Terminating:Wait', async () => {
    const made = await settledNode();
    await inGroup(bed, made.instance.instanceId);
    await expectDropped(
      made,
      sampleEvent('asg-terminate', { instanceId: made.instance.instanceId }),
      'auto-scaling-disagrees',
    );
  });

  it('drains and completes the hook when Auto Scaling holds the instance in Terminating:Wait', async () => {
    const made = await settledNode();
    await terminatingInGroup(bed, made.instance.instanceId);

    const { report } = await invoke(sampleEvent('asg-terminate', { instanceId: made.instance.instanceId }));

    expect(report.notices).toMatchObject([{ status: 'done', action: 'drain' }]);
    const after = await admin.core.readNode({ name: made.node.name });
    expect(after.spec?.unschedulable).toBe(true);
    expect(lifecycleCalls(made.instance.instanceId).map((c) => c.action)).toContain(
      'CompleteLifecycleAction',
    );
  });
});

describe('an AWS Health scheduled change', () => {
  const soon = () => new Date(Math.floor((Date.now() + 10 * 60_000) / 1000) * 1000);

  it('is dropped when EC2 lists no scheduled event for the instance', async () => {
    const made = await settledNode();
    const event = sampleEvent('scheduled-change', {
      instanceIds: [made.instance.instanceId],
      startTime: soon(),
    });
    await expectDropped(made, event, 'no-scheduled-event');
  });

  it('is dropped when EC2 lists its retirement for another week', async () => {
    const made = await settledNode();
    await scheduleEvent(bed, made.instance.instanceId, new Date(Date.now() + 7 * 24 * 3_600_000));
    const event = sampleEvent('scheduled-change', {
      instanceIds: [made.instance.instanceId],
      startTime: soon(),
    });
    await expectDropped(made, event, 'no-scheduled-event');
  });

  it('drains when EC2 lists the retirement', async () => {
    const made = await settledNode();
    const startTime = soon();
    await scheduleEvent(bed, made.instance.instanceId, startTime);

    const { report, requestId } = await invoke(
      sampleEvent('scheduled-change', { instanceIds: [made.instance.instanceId], startTime }),
    );

    expect(report.notices).toMatchObject([{ status: 'done', action: 'drain' }]);
    const after = await admin.core.readNode({ name: made.node.name });
    expect(recordOn(after)).toMatchObject({ holder: requestId });
  });
});

describe('a recorded AWS Health change two weeks ahead', () => {
  it('is not drained by the reconcile when due once EC2 no longer lists it', async () => {
    // Prepare: recorded while EC2 listed it; EC2 cancels it before it is due.
    const made = await forged.settledNode(bed, admin, `${pool}-recorded`);
    const id = made.instance.instanceId;
    const start = new Date(Math.floor((Date.now() + 14 * day) / 1000) * 1000);
    await scheduleEvent(bed, id, start);
    const { report } = await invoke(sampleEvent('scheduled-change', { instanceIds: [id], startTime: start }));
    expect(report.notices).toMatchObject([{ status: 'done', result: { outcome: 'scheduled' } }]);
    await cancelScheduledEvents(bed, id);
    const recorded = await admin.core.readNode({ name: made.node.name });

    // Act: the reconcile at start minus the lead (30 min) plus a minute.
    const now = () => Date.now() + 14 * day - 29 * 60_000;
    const app = createLambdaApp(env);
    const reconciled = await reconcileAll(
      { ...app.deps, now },
      { id: `reconcile-${randomUUID()}`, deadline: now() + 120_000 },
      { selector: `pool=${pool}-recorded` },
    );

    // Assess: held back, nothing written; the record stays for Health's own word.
    const after = await admin.core.readNode({ name: made.node.name });
    expect(reconciled.flatMap((c) => c.nodes)).toMatchObject([
      { node: made.node.name, step: 'wait', refused: 'no-scheduled-event' },
    ]);
    expect(after.metadata?.resourceVersion).toBe(recorded.metadata?.resourceVersion);
    expect(after.spec?.unschedulable).toBeFalsy();
    expect(recordOn(after)).toMatchObject({ state: 'scheduled' });
  });
});

describe('a capacity-reservation interruption warning', () => {
  it('is dropped when EC2 says the instance runs in no Capacity Reservation', async () => {
    const made = await settledNode();
    await expectDropped(
      made,
      sampleEvent('capacity-reservation-interruption', { instanceId: made.instance.instanceId }),
      'not-in-capacity-reservation',
    );
  });

  it('drains when the instance runs in one', async () => {
    const made = await settledNode();
    await inCapacityReservation(bed, made.instance.instanceId);

    const { report } = await invoke(
      sampleEvent('capacity-reservation-interruption', { instanceId: made.instance.instanceId }),
    );

    expect(report.notices).toMatchObject([{ status: 'done', action: 'drain' }]);
  });
});

describe('a state change', () => {
  it('is dropped when it arrives late, after EC2 started the instance again', async () => {
    // Prepare: stopped and started again since the event (EC2 moves the launch time to the start).
    const made = await settledNode();
    const eventTime = new Date(Date.now() - 30_000);
    await instances.stop(bed.awsEndpoint, made.instance.instanceId);
    await instances.start(bed.awsEndpoint, made.instance.instanceId);

    await expectDropped(
      made,
      sampleEvent('state-change-stopping', { instanceId: made.instance.instanceId, time: eventTime }),
      'state-left',
    );
  });
});
