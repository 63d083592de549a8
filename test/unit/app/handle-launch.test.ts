/**
 * Launch lifecycle hooks through handleEvent, with EC2 and Auto Scaling mocked and an in-memory node
 * store: CONTINUE once the node is Ready, the timeout param after the bound, a heartbeat and a
 * retryable failure when the invocation must return first, and nothing at all for what is not ours.
 * On the real control plane with moto: test/integration/interruption/launch-hooks.test.ts.
 */
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type * as k8s from '@kubernetes/client-node';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EventDeps, handleEvent } from '../../../src/app/handle-event.js';
import { defaultLaunchHookConfig, type LaunchHookConfig } from '../../../src/config.js';
import { TransientError } from '../../../src/errors.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { ec2Instance, knowInstances, managedCluster, testDeps } from '../../support/app-deps.js';
import { eksNode } from '../../support/fake-kube.js';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const launchedAt = new Date(Date.now() - 60_000);
const instance = { ...ec2Instance('i-0123456789abcdef0', managedCluster), LaunchTime: launchedAt };
const nodeName = instance.PrivateDnsName!;
const invocation = (ms = 30_000) => ({ id: 'request-1', deadline: Date.now() + ms });
const launch = (time = new Date()) => sampleEvent('asg-launch', { instanceId: instance.InstanceId!, time });

/** The instance's node, its kubelet Ready since `since` (or NotReady). */
function node(ready: boolean, since = new Date()): k8s.V1Node {
  const n = eksNode(nodeName, instance.InstanceId!);
  n.status = {
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: since } as k8s.V1NodeCondition,
    ],
  };
  return n;
}

function depsWith(nodes: k8s.V1Node[], launchHooks: Partial<LaunchHookConfig> = {}) {
  const t = testDeps(nodes);
  const deps: EventDeps = { ...t.deps, launchHooks: { ...defaultLaunchHookConfig, ...launchHooks } };
  return { ...t, deps };
}

const completions = () => asgMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input);

beforeEach(() => {
  asgMock.on(CompleteLifecycleActionCommand).resolves({});
  asgMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
});
afterEach(() => {
  ec2Mock.reset();
  asgMock.reset();
});

describe('a launch lifecycle hook', () => {
  it('is completed CONTINUE, with its token, when the node is Ready since the launch', async () => {
    // Prepare
    const t = depsWith([node(true)]);
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(launch(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({
      status: 'handled',
      launch: { status: 'continued', cluster: managedCluster, node: nodeName },
    });
    expect(completions()).toEqual([
      {
        AutoScalingGroupName: 'eks-spot-workers',
        LifecycleHookName: 'eks-spot-drainer-launch',
        LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
        LifecycleActionResult: 'CONTINUE',
        InstanceId: instance.InstanceId,
      },
    ]);
    expect(t.kube.calls.filter((c) => c.method !== 'readNode')).toEqual([]);
    expect(t.metrics.launchHook).toHaveBeenCalledWith('continued');
  });

  it('is left to its timeout when the node is not Ready within the bound (leave)', async () => {
    // Prepare: the event is older than the bound
    const t = depsWith([node(false)], { readyWaitMs: 1_000 });
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(launch(new Date(Date.now() - 10_000)), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'handled', launch: { status: 'left' } });
    expect(completions()).toEqual([]);
    expect(t.metrics.launchHook).toHaveBeenCalledWith('not-ready');
  });

  it('is abandoned when the node is not Ready within the bound and the param says abandon', async () => {
    // Prepare: no node joined at all
    const t = depsWith([], { readyWaitMs: 1_000, onTimeout: 'abandon' });
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(launch(new Date(Date.now() - 10_000)), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'handled', launch: { status: 'abandoned' } });
    expect(completions().map((c) => c.LifecycleActionResult)).toEqual(['ABANDON']);
  });

  it('does not count a node of the same name that was Ready before the launch', async () => {
    // Prepare: a kubelet Ready since before the instance launched is another machine's
    const t = depsWith([node(true, new Date(launchedAt.getTime() - 60_000))], { readyWaitMs: 1_000 });
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(launch(new Date(Date.now() - 10_000)), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ launch: { status: 'left' } });
    expect(completions()).toEqual([]);
  });

  it('sends a heartbeat and fails for a retry when the invocation must return before the bound', async () => {
    // Prepare
    const t = depsWith([node(false)]);
    knowInstances(ec2Mock, [instance]);

    // Act
    const handling = handleEvent(launch(), t.deps, invocation(100));

    // Assess
    await expect(handling).rejects.toBeInstanceOf(TransientError);
    expect(t.metrics.launchHook).toHaveBeenCalledWith('retried');
    expect(asgMock.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(1);
    expect(completions()).toEqual([]);
  });

  it('reports a hook Auto Scaling no longer holds as already ended', async () => {
    // Prepare
    const t = depsWith([node(true)]);
    knowInstances(ec2Mock, [instance]);
    asgMock.on(CompleteLifecycleActionCommand).rejects(
      Object.assign(new Error('No active Lifecycle Action found with instance ID i-0123456789abcdef0'), {
        name: 'ValidationError',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // Act
    const report = await handleEvent(launch(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'handled', launch: { status: 'already-ended' } });
  });

  it('is left alone, with no cluster asked, for an instance of a cluster this function does not manage', async () => {
    // Prepare
    const t = depsWith([]);
    knowInstances(ec2Mock, [{ ...instance, Tags: [{ Key: 'aws:eks:cluster-name', Value: 'other' }] }]);

    // Act
    const report = await handleEvent(launch(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'ignored', launch: { status: 'not-managed' } });
    expect(t.connect).not.toHaveBeenCalled();
    expect(asgMock.calls()).toHaveLength(0);
  });

  it('is left alone when the node that joins is labelled eks-spot-drainer/exclude=true', async () => {
    // Prepare
    const optedOut = node(true);
    optedOut.metadata!.labels = { ...optedOut.metadata!.labels, 'eks-spot-drainer/exclude': 'true' };
    const t = depsWith([optedOut]);
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(launch(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'ignored', launch: { status: 'opted-out' } });
    expect(asgMock.calls()).toHaveLength(0);
  });

  it('is left alone without a call to EC2 when ENABLE_ASG_LAUNCH_HOOKS is off', async () => {
    // Prepare
    const t = depsWith([node(true)], { enabled: false });
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(launch(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'ignored', reason: 'ENABLE_ASG_LAUNCH_HOOKS is false' });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(asgMock.calls()).toHaveLength(0);
  });

  it('is dropped untouched when it comes from another account', async () => {
    // Prepare
    const t = depsWith([node(true)]);
    knowInstances(ec2Mock, [instance]);
    const event = sampleEvent('asg-launch', { instanceId: instance.InstanceId!, account: '210987654321' });

    // Act
    const report = await handleEvent(event, t.deps, { ...invocation(), account: '123456789012' });

    // Assess
    expect(report.status).toBe('rejected');
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(asgMock.calls()).toHaveLength(0);
  });

  it('is left alone, with no retry, for an instance EC2 does not know', async () => {
    // Prepare
    const t = depsWith([]);
    knowInstances(ec2Mock, []);

    // Act
    const report = await handleEvent(launch(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'ignored', launch: { status: 'instance-gone' } });
    expect(t.connect).not.toHaveBeenCalled();
    expect(asgMock.calls()).toHaveLength(0);
  });
});
