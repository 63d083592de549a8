/**
 * The `running` state change on its cheap paths: what it costs when there is nothing of ours to give
 * back (no EC2 call when switched off, no cluster request for an unmanaged instance, one GET for an
 * unmarked node). Giving a marked node back is shown on the real control plane
 * (test/integration/interruption/instance-running.test.ts).
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { handleEvent } from '../../../src/app/handle-event.js';
import { defaultInterruptionConfig } from '../../../src/config.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { ec2Instance, knowInstances, managedCluster, testDeps } from '../../support/app-deps.js';
import { eksNode } from '../../support/fake-kube.js';

const ec2Mock = mockClient(EC2Client);
const instance = ec2Instance('i-0123456789abcdef0', managedCluster);
const nodeName = instance.PrivateDnsName!;
const invocation = () => ({ id: 'request-1', deadline: Date.now() + 30_000 });
const running = () => sampleEvent('state-change-running', { instanceId: instance.InstanceId! });

afterEach(() => {
  ec2Mock.reset();
});

describe('an instance running again', () => {
  it('is ignored without a call to EC2 when RELEASE_ON_RUNNING is off', async () => {
    // Prepare
    const t = testDeps([eksNode(nodeName, instance.InstanceId!)]);
    t.deps.config.interruption = { ...defaultInterruptionConfig, releaseOnRunning: false };
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(running(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'ignored', reason: 'RELEASE_ON_RUNNING is false' });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(t.connect).not.toHaveBeenCalled();
    expect(t.metrics.ignoredEvent).toHaveBeenCalledTimes(1);
  });

  it('asks no cluster about an instance of a cluster this function does not manage', async () => {
    // Prepare
    const t = testDeps();
    knowInstances(ec2Mock, [{ ...instance, Tags: [{ Key: 'aws:eks:cluster-name', Value: 'other' }] }]);

    // Act
    const report = await handleEvent(running(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'handled', running: { status: 'not-managed' } });
    expect(t.connect).not.toHaveBeenCalled();
  });

  it('asks no cluster when EC2 says the instance stopped again since the event', async () => {
    // Prepare
    const t = testDeps();
    knowInstances(ec2Mock, [{ ...instance, State: { Name: 'stopped', Code: 80 } }]);

    // Act
    const report = await handleEvent(running(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'handled', running: { status: 'not-running' } });
    expect(t.connect).not.toHaveBeenCalled();
  });

  it('costs one GET of the node when this project did not mark it, and changes nothing', async () => {
    // Prepare
    const node = eksNode(nodeName, instance.InstanceId!);
    const t = testDeps([node]);
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(running(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({
      status: 'handled',
      running: { status: 'not-marked', cluster: managedCluster, node: nodeName },
    });
    expect(t.kube.calls.map((c) => c.method)).toEqual(['readNode']);
    expect(t.kube.nodes.get(nodeName)).toEqual(node);
    expect(t.metrics.instanceRunning).toHaveBeenCalledWith({ marked: false, released: false });
    expect(t.outcomes.events).toEqual([]);
  });

  it('leaves a node of the same name but another instance alone', async () => {
    // Prepare: the name was reused by a node of another instance.
    const t = testDeps([
      eksNode(nodeName, 'i-0fedcba9876543210', { labels: { 'eks-spot-drainer/state': 'drained' } }),
    ]);
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(running(), t.deps, invocation());

    // Assess
    expect(report).toMatchObject({ status: 'handled', running: { status: 'node-not-found' } });
    expect(t.kube.calls.map((c) => c.method)).toEqual(['readNode']);
  });

  it("drops another account's event untouched", async () => {
    // Prepare
    const t = testDeps();
    knowInstances(ec2Mock, [instance]);

    // Act
    const report = await handleEvent(running(), t.deps, {
      ...invocation(),
      account: '210987654321',
      region: 'us-east-1',
    });

    // Assess
    expect(report).toMatchObject({ status: 'rejected' });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });
});
