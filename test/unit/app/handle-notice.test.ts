import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstanceStatusCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Invocation } from '../../../src/app/app-types.js';
import { handleNotice } from '../../../src/app/handle-notice.js';
import { recordAnnotation, recordOn } from '../../../src/interruption/record.js';
import { type InterruptionNotice, NoticeKind } from '../../../src/types.js';
import {
  ec2Instance,
  knowAutoScaling,
  knowInstances,
  managedCluster,
  testDeps,
} from '../../support/app-deps.js';
import { eksNode } from '../../support/fake-kube.js';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);

const ours = ec2Instance('i-0123456789abcdef0', managedCluster);
const foreign = ec2Instance('i-0fedcba9876543210', 'someone-elses');
const nodeOf = (instance: typeof ours) => eksNode(instance.PrivateDnsName!, instance.InstanceId!);
const lifecycle = {
  autoScalingGroupName: 'eks-spot-workers',
  lifecycleHookName: 'eks-spot-drainer',
  lifecycleActionToken: '87654321-4321-4321-4321-210987654321',
  lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
};

function notice(
  kind: InterruptionNotice['kind'],
  instanceId: string,
  change: Partial<InterruptionNotice> = {},
) {
  const eventTime = new Date();
  return {
    kind,
    instanceId,
    region: 'us-east-1',
    account: '123456789012',
    eventId: `event-${kind}`,
    eventTime,
    deadline: kind === NoticeKind.SpotInterruption ? new Date(eventTime.getTime() + 120_000) : undefined,
    ...(kind === NoticeKind.AsgTerminate ? { lifecycleAction: lifecycle } : {}),
    ...change,
  } satisfies InterruptionNotice;
}

const invocation = (): Invocation => ({ id: 'request-1', deadline: Date.now() + 30_000 });

/** Auto Scaling holds both instances in the hook's group, terminating: their hooks are genuine. */
function terminating(state = 'Terminating:Wait', group = lifecycle.autoScalingGroupName): void {
  knowAutoScaling(asgMock, {
    [ours.InstanceId!]: { group, state },
    [foreign.InstanceId!]: { group, state },
  });
}

beforeEach(() => terminating());
afterEach(() => {
  ec2Mock.reset();
  asgMock.reset();
});

describe('handleNotice', () => {
  it('completes the lifecycle action of a managed instance when policy says none', async () => {
    // Prepare
    knowInstances(ec2Mock, [ours]);
    asgMock.on(CompleteLifecycleActionCommand).resolves({});
    const t = testDeps();
    t.deps.config.policy.asgLifecycle = false;

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toEqual({
      kind: 'asg-terminate',
      instanceId: ours.InstanceId,
      action: 'none',
      status: 'no-action',
      lifecycleAction: 'completed',
    });
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([
      {
        AutoScalingGroupName: 'eks-spot-workers',
        LifecycleHookName: 'eks-spot-drainer',
        LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
        LifecycleActionResult: 'CONTINUE',
        InstanceId: ours.InstanceId,
      },
    ]);
    expect(t.connect).not.toHaveBeenCalled();
    expect(t.metrics.noticeReceived).toHaveBeenCalledWith('asg-terminate');
  });

  it("leaves the lifecycle action of another cluster's instance alone when policy says none", async () => {
    // Prepare
    knowInstances(ec2Mock, [foreign]);
    const t = testDeps();
    t.deps.config.policy.asgLifecycle = false;

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, foreign.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({ action: 'none', status: 'no-action', lifecycleAction: 'not-ours' });
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  it('leaves the lifecycle action alone when no Auto Scaling client is configured', async () => {
    // Prepare
    knowInstances(ec2Mock, [ours]);
    const t = testDeps([], { autoScaling: undefined });
    t.deps.config.policy.asgLifecycle = false;

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({ status: 'no-action', lifecycleAction: 'not-ours' });
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  it('does nothing, not even a lookup, for a notice switched off by policy', async () => {
    // Prepare
    const t = testDeps();
    t.deps.config.policy.spotInterruption = false;

    // Act
    const report = await handleNotice(
      notice(NoticeKind.SpotInterruption, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toEqual({
      kind: 'spot-interruption',
      instanceId: ours.InstanceId,
      action: 'none',
      status: 'no-action',
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(t.connect).not.toHaveBeenCalled();
  });

  it("skips another cluster's instance without completing its lifecycle action", async () => {
    // Prepare
    knowInstances(ec2Mock, [foreign]);
    const t = testDeps();

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, foreign.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toEqual({
      kind: 'asg-terminate',
      instanceId: foreign.InstanceId,
      action: 'drain',
      status: 'skipped',
      reason: 'not-managed',
      detail: 'instance belongs to someone-elses',
      lifecycleAction: 'not-ours',
    });
    expect(t.connect).not.toHaveBeenCalled();
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  it('skips an instance EC2 no longer knows', async () => {
    // Prepare
    knowInstances(ec2Mock, []);
    const t = testDeps();

    // Act
    const report = await handleNotice(
      notice(NoticeKind.SpotInterruption, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({ status: 'skipped', reason: 'instance-gone' });
    expect(report).not.toHaveProperty('lifecycleAction');
    expect(t.connect).not.toHaveBeenCalled();
  });

  it.each([
    ['in service', 'Terminating:Wait', 'InService', 1],
    ['in another group', 'another-group', 'Terminating:Wait', 1],
    ['in no group, on a second look too', undefined, undefined, 2],
  ])(
    'refuses a terminate hook for an instance %s: no lifecycle call, nothing touched',
    async (_, group, state, looks) => {
      // Prepare
      knowInstances(ec2Mock, [ours]);
      asgMock.reset();
      if (group === undefined) knowAutoScaling(asgMock, {});
      else if (group === 'another-group') terminating(state, group);
      else terminating(state);
      const node = nodeOf(ours);
      const t = testDeps([node]);
      t.deps.config.policy.asgLifecycle = false;

      // Act
      const report = await handleNotice(
        notice(NoticeKind.AsgTerminate, ours.InstanceId!),
        t.deps,
        invocation(),
      );

      // Assess
      expect(report).toMatchObject({ status: 'skipped', reason: 'auto-scaling-disagrees' });
      expect(report.lifecycleAction).toBeUndefined();
      expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
      expect(asgMock.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(looks);
      expect(t.connect).not.toHaveBeenCalled();
      expect(t.kube.calls).toEqual([]);
    },
  );

  it.each([
    ['an instance on default tenancy', 'default', 'no-scheduled-event'],
    // Believed: it goes on to look for the node (there is none here).
    ['an instance on a Dedicated Host', 'host', 'node-not-found'],
  ] as const)(
    "believes a Dedicated Host's Health change without EC2's list only for %s",
    async (_, tenancy, reason) => {
      // Prepare: EC2 lists no event for the instances of a host (nor is it asked).
      knowInstances(ec2Mock, [{ ...ours, Placement: { ...ours.Placement, Tenancy: tenancy } }]);
      const t = testDeps([]);
      const change = notice(NoticeKind.ScheduledChange, ours.InstanceId!, {
        detail: 'AWS_EC2_DEDICATED_HOST_RETIREMENT_SCHEDULED',
        deadline: new Date(Date.now() + 10 * 60_000),
      });

      // Act
      const report = await handleNotice(change, t.deps, invocation());

      // Assess
      expect(report).toMatchObject({ status: 'skipped', reason });
      expect(ec2Mock.commandCalls(DescribeInstanceStatusCommand)).toHaveLength(0);
    },
  );

  it('acts on a terminate hook once Auto Scaling, first behind, lists the instance on the second look', async () => {
    // Prepare: the first answer lists the instance as only entering the wait state.
    knowInstances(ec2Mock, [ours]);
    asgMock.reset();
    asgMock
      .on(DescribeAutoScalingInstancesCommand)
      .resolvesOnce({
        AutoScalingInstances: [
          {
            InstanceId: ours.InstanceId!,
            AutoScalingGroupName: 'eks-spot-workers',
            LifecycleState: 'Terminating',
          },
        ],
      } as never)
      .resolves({
        AutoScalingInstances: [
          {
            InstanceId: ours.InstanceId!,
            AutoScalingGroupName: 'eks-spot-workers',
            LifecycleState: 'Terminating:Wait',
          },
        ],
      } as never);
    asgMock.on(CompleteLifecycleActionCommand).resolves({});
    const t = testDeps([]);

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({
      status: 'skipped',
      reason: 'node-not-found',
      lifecycleAction: 'completed',
    });
    expect(asgMock.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(2);
  });

  it('completes the lifecycle action of a managed instance whose node is already gone', async () => {
    // Prepare
    knowInstances(ec2Mock, [ours]);
    asgMock.on(CompleteLifecycleActionCommand).resolves({});
    const t = testDeps([]);

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({
      status: 'skipped',
      reason: 'node-not-found',
      lifecycleAction: 'completed',
    });
    expect(t.connect).toHaveBeenCalledWith(
      managedCluster,
      expect.objectContaining({ deadline: expect.any(Number) }),
    );
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
  });

  it('cordons the node on a rebalance recommendation, and records it with no holder', async () => {
    // Prepare
    knowInstances(ec2Mock, [ours]);
    const node = nodeOf(ours);
    const t = testDeps([node]);
    const call = invocation();

    // Act
    const report = await handleNotice(
      notice(NoticeKind.RebalanceRecommendation, ours.InstanceId!),
      t.deps,
      call,
    );

    // Assess
    expect(report).toMatchObject({
      action: 'cordon',
      status: 'done',
      target: {
        clusterName: managedCluster,
        nodeName: node.metadata!.name,
        instanceId: ours.InstanceId,
        providerId: `aws:///us-east-1a/${ours.InstanceId}`,
      },
      result: { outcome: 'cordoned', action: 'cordon', eventId: 'event-rebalance-recommendation' },
    });
    const marked = t.kube.nodes.get(node.metadata!.name!)!;
    expect(marked.spec?.unschedulable).toBe(true);
    // A rebalance sets no deadline of its own: its reason holds DRAIN_TIMEOUT_SECONDS; a cordon has no holder.
    const record = recordOn(marked);
    expect(record).toMatchObject({
      state: 'cordoned',
      reasons: [{ kind: 'rebalance-recommendation', action: 'cordon' }],
    });
    expect(Date.parse(record!.reasons[0]!.deadline)).toBeGreaterThan(call.deadline);
    expect(recordOn(marked)?.holder).toBeUndefined();
    expect(t.kube.events.map((e) => e.reason)).toEqual(['RebalanceRecommendation', 'Cordon']);
    expect(t.metrics.drainFinished).toHaveBeenCalledWith(expect.objectContaining({ outcome: 'cordoned' }));
    // Notifications announce drains, not cordons.
    expect(t.notifier.drainStarted).not.toHaveBeenCalled();
  });

  it('leaves the lifecycle action to the invocation that drains the node', async () => {
    // Prepare
    knowInstances(ec2Mock, [ours]);
    const held = {
      v: 2,
      eventId: 'event-asg-terminate',
      kind: 'asg-terminate',
      action: 'drain',
      state: 'draining',
      holder: 'request-0',
      renewedAt: new Date().toISOString(),
      deadline: new Date(Date.now() + 60_000).toISOString(),
      since: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      marks: { cordoned: true, taints: [], lbLabel: false },
      hooks: [],
    };
    const t = testDeps([
      eksNode(ours.PrivateDnsName!, ours.InstanceId!, {
        annotations: { [recordAnnotation]: JSON.stringify(held) },
      }),
    ]);

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({
      status: 'done',
      result: { outcome: 'in-progress-elsewhere', holder: 'request-0' },
      lifecycleAction: 'left-to-holder',
    });
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    expect(asgMock.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(0);
  });

  it('completes the lifecycle action again for a duplicate of a finished drain', async () => {
    // Prepare: Lambda retried the event after the first invocation drained but failed to return.
    knowInstances(ec2Mock, [ours]);
    asgMock.on(CompleteLifecycleActionCommand).rejects(
      Object.assign(new Error(`No active Lifecycle Action found with instance ID ${ours.InstanceId}`), {
        name: 'ValidationError',
      }),
    );
    const done = {
      v: 2,
      eventId: 'event-asg-terminate',
      kind: 'asg-terminate',
      action: 'drain',
      state: 'drained',
      deadline: new Date(Date.now() + 60_000).toISOString(),
      since: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      marks: { cordoned: true, taints: [], lbLabel: false },
      hooks: [],
    };
    const t = testDeps([
      eksNode(ours.PrivateDnsName!, ours.InstanceId!, {
        annotations: { [recordAnnotation]: JSON.stringify(done) },
      }),
    ]);

    // Act
    const report = await handleNotice(
      notice(NoticeKind.AsgTerminate, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({ result: { outcome: 'already-done' }, lifecycleAction: 'already-ended' });
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
  });

  it('acts on the one fixed cluster without asking EC2', async () => {
    // Prepare: a kubeconfig context, no EC2 lookup; the node is named after the instance id.
    const t = testDeps([eksNode(ours.InstanceId!, ours.InstanceId!)], {
      source: { kind: 'fixed', clusterName: managedCluster },
    });

    // Act
    const report = await handleNotice(
      notice(NoticeKind.RebalanceRecommendation, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    expect(report).toMatchObject({ status: 'done', target: { nodeName: ours.InstanceId } });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('throws what a retry may fix', async () => {
    // Prepare
    knowInstances(ec2Mock, [ours]);
    const t = testDeps();
    t.connect.mockRejectedValue(new Error('DescribeCluster prod: ThrottlingException'));

    // Act
    const handling = handleNotice(
      notice(NoticeKind.SpotInterruption, ours.InstanceId!),
      t.deps,
      invocation(),
    );

    // Assess
    await expect(handling).rejects.toThrow('DescribeCluster prod: ThrottlingException');
  });
});
