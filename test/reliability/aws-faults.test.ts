import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../src/app/app-types.js';
import { createLambdaApp, invocationReserveMs } from '../../src/app/lambda-app.js';
import { TransientError } from '../../src/errors.js';
import { sampleEvent } from '../../src/events/samples.js';
import { recordOn } from '../../src/interruption/record.js';
import { type AwsFaultPlan, type AwsFaultProxy, startAwsFaultProxy } from '../bed/aws-fault-proxy.js';
import { terminatingInGroup } from '../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor } from '../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../bed/lambda.js';
import { createDeployment } from '../bed/workloads.js';
import { captureOutput } from './capture-output.js';
import { measured, podsStillOn, unexplainedMarks } from './invariants.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
let proxy: AwsFaultProxy;
let namespace: string;
const pools: string[] = [];

beforeAll(async () => {
  proxy = await startAwsFaultProxy(bed.awsEndpoint);
  Object.assign(process.env, lambdaEnv({ ...bed, awsEndpoint: proxy.endpoint }));
  namespace = await createNamespace(admin.core, 'aws-faults');
});
afterAll(async () => {
  process.env = saved;
  await proxy?.stop();
  for (const pool of pools) expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

/** A fresh container (empty caches) whose AWS calls all go through the fault proxy. */
function app(extra: Record<string, string> = {}) {
  return createLambdaApp(lambdaEnv({ ...bed, awsEndpoint: proxy.endpoint }, extra));
}

async function target(app: string, replicas = 2, exitAfter = '1s') {
  const pool = `aws-${app}-${uniqueSuffix()}`;
  pools.push(pool);
  const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
  if (replicas > 0) {
    await createDeployment(admin, namespace, app, replicas, { pool, gracePeriodSeconds: 5, exitAfter });
    await waitFor(`${replicas} pods on ${node.name}`, async () => {
      return (await podsStillOn(admin.core, node.name, namespace)).length === replicas;
    });
  }
  return { instance, node };
}

function outcomeOf(notice: NoticeReport | undefined): string | undefined {
  return notice?.status === 'done' ? notice.result.outcome : notice?.status;
}

/** Fails the first `times` calls of `operation` with `fault`; passes everything else. */
function failFirst(operation: string, times: number, fault: ReturnType<AwsFaultPlan>): AwsFaultPlan {
  let failed = 0;
  return (call) => (call.operation === operation && failed++ < times ? fault : undefined);
}

async function untouched(nodeName: string): Promise<boolean> {
  const node = await admin.core.readNode({ name: nodeName });
  return !node.spec?.unschedulable && recordOn(node) === undefined;
}

describe('AWS failures on the way to the node', () => {
  it('retries a throttled DescribeInstances with backoff and drains', async () => {
    // Prepare
    const { instance, node } = await target('ec2-throttled');
    const operation = 'DescribeInstances';
    const before = proxy.callsOf(operation).length;
    let throttled = 0;
    proxy.setPlan((call) =>
      call.operation === operation && call.params['InstanceId.1'] === instance.instanceId && ++throttled <= 3
        ? 'throttle'
        : undefined,
    );

    // Act
    const started = Date.now();
    const report = await app().handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`ec2-${randomUUID()}`),
    );

    // Assess
    const attempts = proxy.callsOf(operation).length - before;
    measured('aws DescribeInstances throttled x3', {
      outcome: outcomeOf(report.notices[0]),
      attempts,
      tookMs: Date.now() - started,
    });
    expect(attempts).toBe(4);
    expect(outcomeOf(report.notices[0])).toBe('drained');
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('fails the invocation with a TransientError, in time and touching nothing, when EC2 throttles to the end', async () => {
    // Prepare: 4 s of invocation left after the reserve.
    const { instance, node } = await target('ec2-down', 0);
    proxy.setPlan((call) => (call.operation === 'DescribeInstances' ? 'throttle' : undefined));
    const before = proxy.callsOf('DescribeInstances').length;
    const remainingMs = invocationReserveMs + 4_000;

    // Act
    const started = Date.now();
    const outcome = app().handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`ec2-down-${randomUUID()}`, remainingMs),
    );

    // Assess
    await expect(outcome).rejects.toThrow(TransientError);
    await expect(outcome).rejects.toThrow(/DescribeInstances .* RequestLimitExceeded/);
    const tookMs = Date.now() - started;
    const attempts = proxy.callsOf('DescribeInstances').length - before;
    measured('aws DescribeInstances throttled always', { attempts, tookMs, remainingMs });
    expect(attempts).toBeGreaterThan(2);
    // In time: before Lambda's own timeout, which the reserve kept back for the failure's report.
    expect(tookMs).toBeLessThan(remainingMs);
    expect(await untouched(node.name)).toBe(true);
    proxy.setPlan(() => undefined);
  });

  it('retries a failing DescribeCluster, then drains', async () => {
    // Prepare
    const { instance, node } = await target('eks-flaky');
    proxy.setPlan(failFirst('DescribeCluster', 2, 'server-error'));
    const before = proxy.callsOf('DescribeCluster').length;

    // Act
    const report = await app().handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`eks-${randomUUID()}`),
    );

    // Assess
    const attempts = proxy.callsOf('DescribeCluster').length - before;
    measured('aws DescribeCluster 500 x2', { outcome: outcomeOf(report.notices[0]), attempts });
    expect(attempts).toBe(3);
    expect(outcomeOf(report.notices[0])).toBe('drained');
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
    proxy.setPlan(() => undefined);
  });

  it('fails while EKS is down, forgets the failure, and drains on the retry of the event', async () => {
    // Prepare: one warm container; the event is delivered again after the failure, as Lambda does.
    const { instance, node } = await target('eks-down');
    const container = app();
    const event = sampleEvent('spot-interruption', { instanceId: instance.instanceId });
    proxy.setPlan((call) => (call.operation === 'DescribeCluster' ? 'unavailable' : undefined));

    // Act
    const first = container.handle(
      event,
      lambdaContext(`eks-down-1-${randomUUID()}`, invocationReserveMs + 3_000),
    );
    await expect(first).rejects.toThrow(TransientError);
    const untouchedAfterFailure = await untouched(node.name);
    proxy.setPlan(() => undefined);
    const retry = await container.handle(event, lambdaContext(`eks-down-2-${randomUUID()}`));

    // Assess
    measured('aws DescribeCluster down, then back', {
      firstInvocation: 'TransientError',
      retry: outcomeOf(retry.notices[0]),
    });
    expect(untouchedAfterFailure).toBe(true);
    expect(outcomeOf(retry.notices[0])).toBe('drained');
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });
});

describe('Auto Scaling lifecycle actions', () => {
  it('retries a throttled CompleteLifecycleAction (and survives a failed heartbeat) until the hook is completed', async () => {
    // Prepare: the drain takes ~2.5 s, heartbeats every second.
    const { instance, node } = await target('asg-throttled', 2, '2500ms');
    await terminatingInGroup(bed, instance.instanceId);
    const completes = failFirst('CompleteLifecycleAction', 2, 'throttle');
    const heartbeats = failFirst('RecordLifecycleActionHeartbeat', 1, 'unavailable');
    proxy.setPlan((call) => completes(call) ?? heartbeats(call));
    const before = proxy.calls.length;

    // Act
    const report = await app({ LIFECYCLE_HEARTBEAT_SECONDS: '1' }).handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`),
    );

    // Assess
    const calls = proxy.calls.slice(before);
    const completeCalls = calls.filter((c) => c.operation === 'CompleteLifecycleAction');
    const heartbeatCalls = calls.filter((c) => c.operation === 'RecordLifecycleActionHeartbeat');
    measured('aws CompleteLifecycleAction throttled x2', {
      outcome: outcomeOf(report.notices[0]),
      lifecycleAction: report.notices[0]?.lifecycleAction,
      completeAttempts: completeCalls.length,
      heartbeats: heartbeatCalls.length,
    });
    expect(outcomeOf(report.notices[0])).toBe('drained');
    expect(report.notices[0]?.lifecycleAction).toBe('completed');
    expect(completeCalls).toHaveLength(3);
    expect(completeCalls.at(-1)?.params).toMatchObject({
      InstanceId: instance.instanceId,
      LifecycleActionResult: 'CONTINUE',
      LifecycleHookName: 'eks-spot-drainer',
      AutoScalingGroupName: 'eks-spot-workers',
    });
    expect(heartbeatCalls.length).toBeGreaterThanOrEqual(2);
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
    proxy.setPlan(() => undefined);
  });

  it('fails the invocation when the hook cannot be completed, and the retry completes it without draining again', async () => {
    // Prepare
    const { instance, node } = await target('asg-down');
    await terminatingInGroup(bed, instance.instanceId);
    const event = sampleEvent('asg-terminate', { instanceId: instance.instanceId });
    proxy.setPlan((call) => (call.operation === 'CompleteLifecycleAction' ? 'server-error' : undefined));

    // Act: the first delivery drains but cannot complete the hook before its invocation ends.
    const first = app({ DEADLINE_SAFETY_MARGIN_SECONDS: '1' }).handle(
      event,
      lambdaContext(`asg-down-1-${randomUUID()}`, invocationReserveMs + 6_000),
    );
    await expect(first).rejects.toThrow(TransientError);
    const leaseAfterFirst = recordOn(await admin.core.readNode({ name: node.name }));
    const podsAfterFirst = await podsStillOn(admin.core, node.name, namespace);
    proxy.setPlan(() => undefined);
    const before = proxy.callsOf('CompleteLifecycleAction').length;
    const retry = await app().handle(event, lambdaContext(`asg-down-2-${randomUUID()}`));

    // Assess
    measured('aws CompleteLifecycleAction down, then back', {
      first: 'TransientError',
      leaseAfterFirst: leaseAfterFirst?.state,
      retry: outcomeOf(retry.notices[0]),
      lifecycleAction: retry.notices[0]?.lifecycleAction,
    });
    expect(leaseAfterFirst?.state).toBe('drained');
    expect(podsAfterFirst).toEqual([]);
    expect(outcomeOf(retry.notices[0])).toBe('already-done');
    expect(retry.notices[0]?.lifecycleAction).toBe('completed');
    expect(proxy.callsOf('CompleteLifecycleAction').length - before).toBe(1);
  });

  it('counts an action that ended meanwhile as done', async () => {
    // Prepare
    const { instance } = await target('asg-ended', 1);
    await terminatingInGroup(bed, instance.instanceId);
    proxy.setPlan((call) =>
      call.operation === 'CompleteLifecycleAction' ? 'no-active-lifecycle-action' : undefined,
    );

    // Act
    const report = await app().handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-ended-${randomUUID()}`),
    );

    // Assess
    expect(outcomeOf(report.notices[0])).toBe('drained');
    expect(report.notices[0]?.lifecycleAction).toBe('already-ended');
    proxy.setPlan(() => undefined);
  });
});

describe('outcome events', () => {
  /** A Spot warning drained through the proxy, with what the app wrote meanwhile. */
  async function drainWhileEventsFail(name: string, plan: AwsFaultPlan) {
    const { instance, node } = await target(name);
    const before = proxy.callsOf('PutEvents').length;
    proxy.setPlan(plan);
    const output = captureOutput();
    const started = Date.now();
    try {
      const report = await app().handle(
        sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
        lambdaContext(`${name}-${randomUUID()}`),
      );
      return {
        report,
        node,
        tookMs: Date.now() - started,
        attempts: proxy.callsOf('PutEvents').length - before,
        lines: output.jsonLines,
      };
    } finally {
      output.stop();
      proxy.setPlan(() => undefined);
    }
  }

  it('drains, then gives up on a PutEvents that never answers: logged and counted, never thrown', async () => {
    // Act
    const run = await drainWhileEventsFail('events-stalled', (call) =>
      call.operation === 'PutEvents' ? 'stall' : undefined,
    );

    // Assess
    const warning = run.lines.find((l) => l.message === 'outcome events failed');
    const emf = run.lines.find((l) => '_aws' in l && 'OutcomeEventsFailed' in l);
    measured('aws PutEvents stalled', { outcome: outcomeOf(run.report.notices[0]), tookMs: run.tookMs });
    expect(outcomeOf(run.report.notices[0])).toBe('drained');
    expect(await podsStillOn(admin.core, run.node.name, namespace)).toEqual([]);
    expect(run.attempts).toBeGreaterThan(0);
    expect(warning).toMatchObject({ sent: 0, failed: 1, detailTypes: ['Node Drained'] });
    expect(emf).toMatchObject({ OutcomeEventsSent: 0, OutcomeEventsFailed: 1 });
  });

  it('sends a throttled PutEvents again, and the event is put', async () => {
    // Act
    const run = await drainWhileEventsFail('events-throttled', failFirst('PutEvents', 1, 'throttle'));

    // Assess
    const emf = run.lines.find((l) => '_aws' in l && 'OutcomeEventsSent' in l);
    expect(outcomeOf(run.report.notices[0])).toBe('drained');
    expect(run.attempts).toBe(2);
    expect(run.lines.filter((l) => l.message === 'outcome events failed')).toEqual([]);
    expect(emf).toMatchObject({ OutcomeEventsSent: 1, OutcomeEventsFailed: 0 });
  });
});
