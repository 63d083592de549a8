/**
 * AppDeps for unit tests of src/app: a real InstanceCache over an EC2 client that aws-sdk-client-mock
 * answers, a ClusterAccess that hands out the fake node API of fake-kube.ts, recording metrics,
 * notifier and outcome publisher, and a silent Powertools logger. Nothing leaves the process.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  type InstanceStatusEvent,
} from '@aws-sdk/client-ec2';
import * as k8s from '@kubernetes/client-node';
import type { AwsStub } from 'aws-sdk-client-mock';
import { type Mock, vi } from 'vitest';
import type { AppDeps } from '../../src/app/app-types.js';
import { autoScalingInstances } from '../../src/aws/autoscaling-instances.js';
import { InstanceCache } from '../../src/aws/instance-lookup.js';
import { lazyClient } from '../../src/aws/lazy-client.js';
import { ec2ScheduledEvents } from '../../src/aws/scheduled-events.js';
import { defaultInterruptionConfig } from '../../src/config.js';
import { defaultDrainOptions } from '../../src/drain/options.js';
import type { KubeApis } from '../../src/kube/connection.js';
import type { OutcomeEvent } from '../../src/notify/outcome-events.js';
import type { OutcomePublisher } from '../../src/notify/outcome-publisher.js';
import type { Notifier } from '../../src/notify/types.js';
import type { MetricsSink } from '../../src/observability/metrics.js';
import { defaultPolicyConfig } from '../../src/policy.js';
import { apiError, type FakeNodeApi, fakeNodeApi } from './fake-kube.js';

export const managedCluster = 'prod';

/** An EC2 instance as DescribeInstances returns it, tagged for `cluster` (none: untagged). */
export function ec2Instance(instanceId: string, cluster: string | undefined, az = 'us-east-1a'): Instance {
  const octet = Number.parseInt(instanceId.slice(-2), 16);
  return {
    InstanceId: instanceId,
    PrivateDnsName: `ip-10-0-0-${octet}.ec2.internal`,
    Placement: { AvailabilityZone: az },
    State: { Name: 'running', Code: 16 },
    // Spot, as the nodes of these tests are: a Spot warning about anything else is refused.
    InstanceLifecycle: 'spot',
    Tags: cluster ? [{ Key: 'aws:eks:cluster-name', Value: cluster }] : [],
  };
}

/** Makes the mocked EC2 know these instances; any other id is InvalidInstanceID.NotFound. */
// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stub types are generic over the client.
export function knowInstances(ec2Mock: AwsStub<any, any, any>, instances: Instance[]): void {
  ec2Mock.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const found = instances.filter((i) => input.InstanceIds?.includes(i.InstanceId!));
    if (found.length === 0) {
      throw Object.assign(new Error(`The instance ID '${input.InstanceIds?.join(',')}' does not exist`), {
        name: 'InvalidInstanceID.NotFound',
        $metadata: { httpStatusCode: 400 },
      });
    }
    return { Reservations: [{ Instances: found }] };
  });
}

/**
 * Makes the mocked Auto Scaling list these instances (group, lifecycle state), as
 * DescribeAutoScalingInstances does; any other id is in no group.
 */
export function knowAutoScaling(
  // biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stub types are generic over the client.
  asgMock: AwsStub<any, any, any>,
  instances: Record<string, { group: string; state: string }>,
): void {
  asgMock.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
    AutoScalingInstances: (input.InstanceIds ?? [])
      .filter((id) => Object.hasOwn(instances, id))
      .map((id) => ({
        InstanceId: id,
        AutoScalingGroupName: instances[id]!.group,
        LifecycleState: instances[id]!.state,
      })),
  }));
}

/** Makes the mocked EC2 list these scheduled events (DescribeInstanceStatus); other ids have none. */
export function knowScheduledEvents(
  // biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stub types are generic over the client.
  ec2Mock: AwsStub<any, any, any>,
  events: Record<string, InstanceStatusEvent[]>,
): void {
  ec2Mock.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds?: string[] }) => ({
    InstanceStatuses: (input.InstanceIds ?? []).map((id) => ({ InstanceId: id, Events: events[id] ?? [] })),
  }));
}

export interface TestDeps {
  deps: AppDeps;
  kube: FakeNodeApi;
  connect: Mock<(clusterName: string) => Promise<KubeApis>>;
  metrics: { [K in keyof MetricsSink]: Mock<MetricsSink[K]> };
  notifier: { [K in keyof Notifier]: Mock<Notifier[K]> };
  /** A publisher that keeps what it is given, in order. */
  outcomes: { publish: Mock<OutcomePublisher['publish']>; events: OutcomeEvent[] };
  logger: Logger;
}

/** Deps whose cluster `prod` holds `nodes`; `change` overrides any field. */
export function testDeps(nodes: k8s.V1Node[] = [], change: Partial<AppDeps> = {}): TestDeps {
  const kube = fakeNodeApi(nodes);
  const apis: KubeApis = {
    kc: new k8s.KubeConfig(),
    core: kube.core,
    policy: {} as k8s.PolicyV1Api,
    apps: {} as k8s.AppsV1Api,
    coordination: {} as k8s.CoordinationV1Api,
    // No VolumeAttachments: a drained node's hooks are completed at once.
    storage: { listVolumeAttachment: async () => ({ items: [] }) } as unknown as k8s.StorageV1Api,
    close: () => {},
  };
  const connect = vi.fn(async (clusterName: string) => {
    if (clusterName !== managedCluster) throw apiError(401, 'Unauthorized');
    return apis;
  });
  const metrics: TestDeps['metrics'] = {
    noticeReceived: vi.fn(),
    invalidEvent: vi.fn(),
    ignoredEvent: vi.fn(),
    rejected: vi.fn(),
    drainFinished: vi.fn(),
    error: vi.fn(),
    fannedOut: vi.fn(),
    outcomeEvents: vi.fn(),
    reconciled: vi.fn(),
    instanceRunning: vi.fn(),
    hookWithVolumesAttached: vi.fn(),
    launchHook: vi.fn(),
  };
  const notifier: TestDeps['notifier'] = {
    drainStarted: vi.fn(async () => ({ status: 'disabled' as const })),
    drainFinished: vi.fn(async () => ({ status: 'disabled' as const })),
  };
  const published: OutcomeEvent[] = [];
  const outcomes: TestDeps['outcomes'] = {
    events: published,
    publish: vi.fn(async (events: OutcomeEvent[]) => {
      published.push(...events);
      return { status: 'sent' as const, sent: events.length };
    }),
  };
  const logger = new Logger({ serviceName: 'eks-spot-drainer-test', logLevel: 'SILENT' });
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const asg = lazyClient(async () => new AutoScalingClient({ region: 'us-east-1' }));
  const deps: AppDeps = {
    config: {
      policy: { ...defaultPolicyConfig },
      drain: { ...defaultDrainOptions },
      lifecycleActionHeartbeatMs: 0,
      // No budget: the fake API holds no Lease (budget.test.ts and disruption-budget.test.ts test it).
      interruption: { ...defaultInterruptionConfig, disruptionBudget: undefined },
    },
    source: {
      kind: 'ec2-tags',
      instances: new InstanceCache(ec2, { ttlMs: 0 }),
      witnesses: {
        autoScalingInstances: autoScalingInstances(asg),
        scheduledEvents: ec2ScheduledEvents(ec2),
      },
      managedClusters: [managedCluster],
      // EC2's second look comes at once: nothing here is eventually consistent but what a test makes so.
      recheckDelayMs: 0,
    },
    access: { connect },
    autoScaling: asg,
    notifier,
    outcomes,
    logger,
    metrics,
    ...change,
  };
  return { deps, kube, connect, metrics, notifier, outcomes, logger };
}
