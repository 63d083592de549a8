import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type EventDeps, handleEvent } from '../../../src/app/handle-event.js';
import { TransientError } from '../../../src/errors.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { powertoolsMetrics } from '../../../src/observability/metrics.js';
import {
  ec2Instance,
  knowAutoScaling,
  knowInstances,
  knowScheduledEvents,
  managedCluster,
  testDeps,
} from '../../support/app-deps.js';
import { eksNode } from '../../support/fake-kube.js';
import { liveEvent } from '../../support/live-event.js';
import { loadFixture, withDetail } from '../events/fixtures.js';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);

const first = ec2Instance('i-0123456789abcdef0', managedCluster);
const second = ec2Instance('i-0fedcba9876543210', managedCluster);
const invocation = () => ({ id: 'request-1', deadline: Date.now() + 30_000 });
/** An invocation of the function in the samples' account and region. */
const here = () => ({ ...invocation(), account: '123456789012', region: 'us-east-1' });

afterEach(() => {
  ec2Mock.reset();
  asgMock.reset();
  vi.restoreAllMocks();
});

describe('handleEvent', () => {
  it.each([
    ['a malformed event', { id: 'evil', source: 'aws.ec2', 'detail-type': 'nope' }, 'evil'],
    [
      'an unknown detail-type',
      { ...loadFixture('spot-interruption'), 'detail-type': 'EC2 Fleet Error' },
      '1e5527d7-bb36-4607-3370-4164db56a40e',
    ],
    [
      'a Spot warning without an instance id',
      withDetail(loadFixture('spot-interruption'), { 'instance-id': undefined }),
      '1e5527d7-bb36-4607-3370-4164db56a40e',
    ],
    ['something that is not an event', 'hello', undefined],
  ])('drops %s as invalid without touching AWS or a cluster', async (_, raw, eventId) => {
    // Prepare
    const t = testDeps();

    // Act
    const report = await handleEvent(raw, t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ eventId, status: 'invalid', notices: [] });
    expect(report.reason).toEqual(expect.any(String));
    expect(t.metrics.invalidEvent).toHaveBeenCalledTimes(1);
    expect(t.metrics.ignoredEvent).not.toHaveBeenCalled();
    expect(t.metrics.noticeReceived).not.toHaveBeenCalled();
    expect(t.connect).not.toHaveBeenCalled();
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it.each([
    ['an Auto Scaling test notification', 'asg-test-notification', '3a9c8e21-5f0b-4d6e-b1a7-c2d4e6f80912'],
  ] as const)('ignores %s', async (_, kind, eventId) => {
    // Prepare
    const t = testDeps();

    // Act
    const report = await handleEvent(loadFixture(kind), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ eventId, status: 'ignored', notices: [] });
    expect(t.metrics.ignoredEvent).toHaveBeenCalledTimes(1);
    expect(t.metrics.invalidEvent).not.toHaveBeenCalled();
    expect(t.connect).not.toHaveBeenCalled();
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  it('handles every instance of a Health event and reports each', async () => {
    // Prepare: both instances belong to a cluster we do not manage.
    knowInstances(ec2Mock, [
      ec2Instance(first.InstanceId!, 'other'),
      ec2Instance(second.InstanceId!, 'other'),
    ]);
    const t = testDeps();

    // Act
    const report = await handleEvent(liveEvent('scheduled-change', []), t.deps, invocation());

    // Assess
    expect(report.status).toBe('handled');
    expect(report.eventId).toBe('7fb65329-1628-4cf3-a740-95f1457b1402');
    expect(report.notices.map((n) => [n.instanceId, n.kind, n.status])).toEqual([
      [first.InstanceId, 'scheduled-change', 'skipped'],
      [second.InstanceId, 'scheduled-change', 'skipped'],
    ]);
    expect(t.metrics.noticeReceived).toHaveBeenCalledTimes(2);
  });

  it('tries every notice, then throws a TransientError naming the instance that failed', async () => {
    // Prepare: the second instance is ours, and its cluster cannot be reached.
    knowInstances(ec2Mock, [ec2Instance(first.InstanceId!, 'other'), second]);
    knowScheduledEvents(ec2Mock, { [second.InstanceId!]: [{ Code: 'instance-retirement' }] });
    const t = testDeps();
    t.connect.mockRejectedValue(new Error('connect ETIMEDOUT 10.0.0.1:443'));
    const logged = vi.spyOn(t.logger, 'error');

    // Act
    const handling = handleEvent(liveEvent('scheduled-change', []), t.deps, invocation());

    // Assess
    const error = await handling.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe(
      `event 7fb65329-1628-4cf3-a740-95f1457b1402: 1 of 2 notices failed: ${second.InstanceId}: Error: connect ETIMEDOUT 10.0.0.1:443`,
    );
    expect(t.metrics.error).toHaveBeenCalledTimes(1);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
    expect(logged).toHaveBeenCalledWith('notice failed; the event will be retried', {
      eventId: '7fb65329-1628-4cf3-a740-95f1457b1402',
      kind: 'scheduled-change',
      instanceId: second.InstanceId,
      error: { name: 'Error', message: 'connect ETIMEDOUT 10.0.0.1:443' },
    });
  });

  it('never puts a token from a failure into the error it throws', async () => {
    // Prepare
    knowInstances(ec2Mock, [first]);
    const t = testDeps();
    t.connect.mockRejectedValue(new Error('401 for Authorization: Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMu'));

    // Act
    const error = (await handleEvent(liveEvent('spot-interruption', []), t.deps, invocation()).catch(
      (e: unknown) => e,
    )) as Error;

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain(first.InstanceId);
    expect(error.message).not.toContain('aHR0cHM6Ly9zdHMu');
  });

  it('completes the lifecycle action of a managed instance when policy says none', async () => {
    // Prepare
    knowInstances(ec2Mock, [first]);
    knowAutoScaling(asgMock, {
      [first.InstanceId!]: { group: 'eks-spot-workers', state: 'Terminating:Wait' },
    });
    asgMock.on(CompleteLifecycleActionCommand).resolves({});
    const t = testDeps();
    t.deps.config.policy.asgLifecycle = false;

    // Act
    const report = await handleEvent(liveEvent('asg-terminate', []), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({
      status: 'handled',
      notices: [{ action: 'none', status: 'no-action', lifecycleAction: 'completed' }],
    });
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)[0]?.args[0].input).toMatchObject({
      LifecycleActionResult: 'CONTINUE',
      LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
    });
  });

  it.each([
    ['an invalid event', () => ({ id: 'evil' }), () => {}],
    ['an ignored event', () => loadFixture('asg-test-notification'), () => {}],
    [
      "a notice about another cluster's instance",
      () => liveEvent('spot-interruption', []),
      () => knowInstances(ec2Mock, [ec2Instance(first.InstanceId!, 'other')]),
    ],
    [
      'a notice about an instance EC2 no longer knows',
      () => liveEvent('spot-interruption', []),
      () => knowInstances(ec2Mock, []),
    ],
    [
      'a notice about a managed instance whose node is gone',
      () => liveEvent('rebalance-recommendation', []),
      () => knowInstances(ec2Mock, [first]),
    ],
  ])(
    'leaves a metric to publish after %s, so Powertools never warns of an empty publish',
    async (_, raw, world) => {
      // Prepare: the handler publishes once per invocation; an empty publish writes a plain-text warning.
      world();
      const metrics = new Metrics({ namespace: 'EksSpotDrainerTest', serviceName: 'eks-spot-drainer' });
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const t = testDeps([]);
      t.deps.metrics = powertoolsMetrics(metrics);

      // Act
      await handleEvent(raw(), t.deps, invocation());

      // Assess
      expect(metrics.hasStoredMetrics()).toBe(true);
    },
  );
});

describe('handleEvent: checks before anything is touched', () => {
  it.each([
    ['another account', sampleEvent('spot-interruption', { account: '999999999999' }), 'wrong-account'],
    ['another region', sampleEvent('spot-interruption', { region: 'ap-south-1' }), 'wrong-region'],
    [
      'a Spot warning whose two minutes are over',
      sampleEvent('spot-interruption', { time: new Date(Date.now() - 135_000) }),
      'stale',
    ],
    ['a Spot warning from 2020', sampleEvent('spot-interruption', { time: '2020-01-01T00:00:00Z' }), 'stale'],
    [
      'an Auto Scaling hook older than any hook lives',
      sampleEvent('asg-terminate', { time: new Date(Date.now() - 3 * 3_600_000) }),
      'stale',
    ],
    [
      'a Health event dated tomorrow',
      sampleEvent('scheduled-change', { time: new Date(Date.now() + 86_400_000) }),
      'from-the-future',
    ],
  ])('drops %s untouched, with its id', async (_, event, reason) => {
    // Prepare
    knowInstances(ec2Mock, [first, second]);
    const t = testDeps();
    const warned = vi.spyOn(t.logger, 'warn');

    // Act
    const report = await handleEvent(event, t.deps, here());

    // Assess
    expect(report).toMatchObject({ eventId: event.id, status: 'rejected', notices: [] });
    expect(report.reason).toMatch(new RegExp(`^${reason}: `));
    expect(t.metrics.rejected).toHaveBeenCalledWith(reason, event.source === 'aws.health' ? 2 : 1);
    expect(t.metrics.noticeReceived).not.toHaveBeenCalled();
    expect(t.connect).not.toHaveBeenCalled();
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    expect(warned).toHaveBeenCalledWith(
      `event dropped: ${reason}`,
      expect.objectContaining({ eventId: event.id, reason, detail: expect.any(String) }),
    );
  });

  it('checks no account or region it was not told (a local run), but still the age', async () => {
    // Prepare
    knowInstances(ec2Mock, []);
    const t = testDeps();

    // Act
    const foreign = await handleEvent(
      sampleEvent('spot-interruption', { account: '999999999999', region: 'ap-south-1' }),
      t.deps,
      invocation(),
    );
    const stale = await handleEvent(
      sampleEvent('spot-interruption', { time: '2020-01-01T00:00:00Z' }),
      t.deps,
      invocation(),
    );

    // Assess
    expect(foreign.status).toBe('handled');
    expect(stale.status).toBe('rejected');
  });

  it('acts on the first MAX_INSTANCES_PER_EVENT instances and reports the rest by id', async () => {
    // Prepare: a Health event about five instances, three of them too many; none is ours.
    const ids = Array.from({ length: 5 }, (_, i) => `i-0${String(i).repeat(16)}`);
    knowInstances(
      ec2Mock,
      ids.map((id) => ec2Instance(id, 'other')),
    );
    const t = testDeps();
    const deps: EventDeps = { ...t.deps, checks: { maxInstancesPerEvent: 2 } };
    const warned = vi.spyOn(t.logger, 'warn');

    // Act
    const report = await handleEvent(sampleEvent('scheduled-change', { instanceIds: ids }), deps, here());

    // Assess
    expect(report.status).toBe('handled');
    expect(report.notices.map((n) => n.instanceId)).toEqual(ids.slice(0, 2));
    expect(report.leftAlone).toEqual(ids.slice(2));
    expect(
      ec2Mock.commandCalls(DescribeInstancesCommand).flatMap((call) => call.args[0].input.InstanceIds),
    ).toEqual(ids.slice(0, 2));
    expect(t.metrics.rejected).toHaveBeenCalledWith('too-many-instances', 3);
    expect(warned).toHaveBeenCalledWith(
      'instances left alone: the event names more than MAX_INSTANCES_PER_EVENT',
      expect.objectContaining({ limit: 2, leftAloneCount: 3, instanceIds: ids.slice(2) }),
    );
  });

  it('drops a Spot warning about an On-Demand instance after one more look at EC2, touching nothing', async () => {
    // Prepare
    knowInstances(ec2Mock, [{ ...first, InstanceLifecycle: undefined }]);
    const t = testDeps();
    const warned = vi.spyOn(t.logger, 'warn');
    const event = sampleEvent('spot-interruption', { instanceId: first.InstanceId! });

    // Act
    const report = await handleEvent(event, t.deps, here());

    // Assess
    expect(report.notices).toMatchObject([{ status: 'skipped', reason: 'ec2-disagrees' }]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
    expect(t.connect).not.toHaveBeenCalled();
    expect(t.metrics.rejected).toHaveBeenCalledWith('ec2-disagrees', 1);
    expect(warned).toHaveBeenCalledWith(
      'notice dropped: ec2-disagrees',
      expect.objectContaining({
        reason: 'ec2-disagrees',
        eventId: event.id,
        instanceId: first.InstanceId,
        detail: expect.stringMatching(/on-demand/),
      }),
    );
  });

  it('acts on a Spot warning once EC2, first behind, agrees on the second look', async () => {
    // Prepare: the first answer lacks the lifecycle (EC2 is eventually consistent), the second has it.
    let calls = 0;
    ec2Mock.on(DescribeInstancesCommand).callsFake(() => {
      calls++;
      return {
        Reservations: [{ Instances: [calls === 1 ? { ...first, InstanceLifecycle: undefined } : first] }],
      };
    });
    const t = testDeps();

    // Act
    const report = await handleEvent(
      sampleEvent('spot-interruption', { instanceId: first.InstanceId! }),
      t.deps,
      here(),
    );

    // Assess: the node lookup ran (and found no node in the empty fake cluster).
    expect(report.notices).toMatchObject([{ status: 'skipped', reason: 'node-not-found' }]);
    expect(calls).toBe(2);
    expect(t.connect).toHaveBeenCalledTimes(1);
    expect(t.metrics.rejected).not.toHaveBeenCalled();
  });

  it('takes no second look when EC2 agrees at once', async () => {
    // Prepare
    knowInstances(ec2Mock, [first]);
    const t = testDeps();

    // Act
    await handleEvent(
      sampleEvent('rebalance-recommendation', { instanceId: first.InstanceId! }),
      t.deps,
      here(),
    );

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
    expect(t.connect).toHaveBeenCalledTimes(1);
  });
});

describe('handleEvent: outcome events', () => {
  const nodeOfInstance = (instance: typeof first) => eksNode(instance.PrivateDnsName!, instance.InstanceId!);

  it('puts one for a node it cordoned, naming the cluster, node and notice', async () => {
    // Prepare
    knowInstances(ec2Mock, [first]);
    const t = testDeps([nodeOfInstance(first)]);
    const event = sampleEvent('rebalance-recommendation', { instanceId: first.InstanceId! });

    // Act
    await handleEvent(event, t.deps, here());

    // Assess
    expect(t.outcomes.events).toEqual([
      {
        detailType: 'Node Cordoned',
        time: expect.any(Date),
        detail: expect.objectContaining({
          outcome: 'cordoned',
          cluster: managedCluster,
          node: first.PrivateDnsName,
          instanceId: first.InstanceId,
          kind: 'rebalance-recommendation',
          eventId: event.id,
          action: 'cordon',
          by: 'notice',
          invocationId: 'request-1',
        }),
      },
    ]);
    expect(t.metrics.outcomeEvents).toHaveBeenCalledWith({ sent: 1, failed: 0 });
  });

  it('puts none for a duplicate of a notice it acted on', async () => {
    // Prepare
    knowInstances(ec2Mock, [first]);
    const t = testDeps([nodeOfInstance(first)]);
    const event = sampleEvent('rebalance-recommendation', { instanceId: first.InstanceId! });
    await handleEvent(event, t.deps, here());

    // Act
    await handleEvent(event, t.deps, here());

    // Assess
    expect(t.outcomes.events.map((e) => e.detailType)).toEqual(['Node Cordoned']);
  });

  it('puts one rejection per notice of a forged event, no more than one event may act on', async () => {
    // Prepare: a Health event about three instances, from another account.
    const ids = [first.InstanceId!, second.InstanceId!, 'i-0aaaaaaaaaaaaaaaa'];
    const event = sampleEvent('scheduled-change', { instanceIds: ids, account: '999999999999' });
    const t = testDeps();
    const deps: EventDeps = { ...t.deps, checks: { maxInstancesPerEvent: 2 } };

    // Act
    const report = await handleEvent(event, deps, here());

    // Assess
    expect(report.status).toBe('rejected');
    expect(t.outcomes.events.map((e) => [e.detailType, e.detail.instanceId, e.detail.reason])).toEqual([
      ['Notice Rejected', ids[0], 'wrong-account'],
      ['Notice Rejected', ids[1], 'wrong-account'],
    ]);
    expect(t.outcomes.events[0]?.detail).toMatchObject({
      cluster: null,
      node: null,
      kind: 'scheduled-change',
      eventId: event.id,
      why: expect.stringMatching(/999999999999/),
    });
  });

  it('puts a rejection for a notice EC2 contradicts', async () => {
    // Prepare
    knowInstances(ec2Mock, [{ ...first, InstanceLifecycle: undefined }]);
    const t = testDeps();

    // Act
    await handleEvent(sampleEvent('spot-interruption', { instanceId: first.InstanceId! }), t.deps, here());

    // Assess
    expect(t.outcomes.events).toMatchObject([
      { detailType: 'Notice Rejected', detail: { reason: 'ec2-disagrees', instanceId: first.InstanceId } },
    ]);
  });

  it('puts the events of the notices done before it throws for the one that failed', async () => {
    // Prepare: a Health change due now, cordon only; the second instance's cluster cannot be reached.
    const elsewhere = ec2Instance(second.InstanceId!, 'prod-b');
    knowInstances(ec2Mock, [first, elsewhere]);
    const retiring = [{ Code: 'instance-retirement' as const }];
    knowScheduledEvents(ec2Mock, { [first.InstanceId!]: retiring, [second.InstanceId!]: retiring });
    const t = testDeps([nodeOfInstance(first)]);
    t.deps.config.policy.cordonOnly = true;
    t.deps.config.interruption.scheduledDrainLeadMs = 7 * 86_400_000;
    if (t.deps.source.kind === 'ec2-tags') {
      t.deps.source = { ...t.deps.source, managedClusters: [managedCluster, 'prod-b'] };
    }

    // Act
    const error = await handleEvent(liveEvent('scheduled-change', []), t.deps, here()).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(t.outcomes.events.map((e) => [e.detailType, e.detail.instanceId])).toEqual([
      ['Node Cordoned', first.InstanceId],
    ]);
  });

  it('goes on when the events cannot be put', async () => {
    // Prepare
    knowInstances(ec2Mock, [first]);
    const t = testDeps([nodeOfInstance(first)]);
    t.outcomes.publish.mockResolvedValue({
      status: 'failed',
      sent: 0,
      failed: 1,
      reason: 'timed out after 3000 ms',
    });
    const warned = vi.spyOn(t.logger, 'warn');

    // Act
    const report = await handleEvent(
      sampleEvent('rebalance-recommendation', { instanceId: first.InstanceId! }),
      t.deps,
      here(),
    );

    // Assess
    expect(report.notices).toMatchObject([{ status: 'done', result: { outcome: 'cordoned' } }]);
    expect(t.metrics.outcomeEvents).toHaveBeenCalledWith({ sent: 0, failed: 1 });
    expect(warned).toHaveBeenCalledWith(
      'outcome events failed',
      expect.objectContaining({ reason: 'timed out after 3000 ms' }),
    );
  });
});
