/**
 * Sample EventBridge events of every kind, shaped like the examples in the AWS documentation.
 * The CLI prints them (`events <kind>`), the demo sends them, and test/fixtures/events/*.json are
 * these samples with a pinned id and time (a unit test keeps the two in step).
 */
import { randomUUID } from 'node:crypto';
import { UsageError } from '../errors.js';

/** The sample kinds; each is also the name of a fixture file in test/fixtures/events/. */
export const sampleKinds = [
  'spot-interruption',
  'rebalance-recommendation',
  'state-change-stopping',
  'state-change-running',
  'scheduled-change',
  'asg-terminate',
  'asg-test-notification',
  'capacity-reservation-interruption',
  'asg-launch',
] as const;
export type SampleKind = (typeof sampleKinds)[number];

/** What a caller may pin or change in a sample. Values are used verbatim, valid or not. */
export interface SampleOverrides {
  /** The event id (default: a fresh UUID). */
  id?: string;
  /** The event time (default: now, to the second), so Spot deadlines lie ahead. */
  time?: Date | string;
  /** The instance (default i-0123456789abcdef0). */
  instanceId?: string;
  /** scheduled-change only: the affected instances (default: instanceId and i-0fedcba9876543210). */
  instanceIds?: string[];
  /** The event's region (default us-east-1, the test bed's): the function drops events of other regions. */
  region?: string;
  /** The event's account (default 123456789012, moto's and the test bed's): the function drops other accounts'. */
  account?: string;
  /** state-change kinds: the EC2 state. */
  state?: string;
  /** spot-interruption: the instance-action (default terminate). */
  instanceAction?: string;
  /** scheduled-change: the maintenance start (default: one hour after the event time). */
  startTime?: Date | string;
  /** Fields merged over the sample's detail last, e.g. to break one on purpose in a test. */
  detail?: Record<string, unknown>;
}

/** A sample EventBridge event: a plain JSON object, as Lambda hands it to the handler. */
export type SampleEvent = Record<string, unknown> & { detail: Record<string, unknown> };

export const SAMPLE_INSTANCE_ID = 'i-0123456789abcdef0';
export const SECOND_SAMPLE_INSTANCE_ID = 'i-0fedcba9876543210';
const LIFECYCLE_ACTION_TOKEN = '87654321-4321-4321-4321-210987654321';
const ASG_NAME = 'eks-spot-workers';
const HOOK_NAME = 'eks-spot-drainer';
const LAUNCH_HOOK_NAME = 'eks-spot-drainer-launch';

/** AWS writes event times to the second: 2021-06-05T07:00:00Z. Strings pass through unchanged. */
function formatTime(time: Date | string): string {
  if (typeof time === 'string') return time;
  return Number.isNaN(time.getTime()) ? 'Invalid Date' : time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `time` shifted by `ms`, or `time` itself when it is not a readable time (a deliberately broken sample). */
function later(time: string, ms: number): Date | string {
  const base = new Date(time).getTime();
  return Number.isNaN(base) ? time : new Date(base + ms);
}

/** What a sample is made from: the event's time, place and instance, and what the caller changed. */
interface Setting {
  time: string;
  region: string;
  account: string;
  instanceId: string;
  overrides: SampleOverrides;
}

/** What tells the kinds apart: source, detail-type, resources and detail. */
interface Shape {
  source: string;
  detailType: string;
  resources: string[];
  detail: Record<string, unknown>;
}

const instanceArn = (s: Setting, id: string) => `arn:aws:ec2:${s.region}:${s.account}:instance/${id}`;
const asgArn = (s: Setting) =>
  `arn:aws:autoscaling:${s.region}:${s.account}:autoScalingGroup:8d3c1e0f-6c3a-4f3e-9d64-2b1f0e5a7c11:autoScalingGroupName/${ASG_NAME}`;

const ec2 = (s: Setting, detailType: string, detail: Record<string, unknown>): Shape => ({
  source: 'aws.ec2',
  detailType,
  resources: [instanceArn(s, s.instanceId)],
  detail: { 'instance-id': s.instanceId, ...detail },
});

const stateChange = (s: Setting, state: string): Shape =>
  ec2(s, 'EC2 Instance State-change Notification', { state: s.overrides.state ?? state });

function scheduledChange(s: Setting): Shape {
  const ids = s.overrides.instanceIds ?? [s.instanceId, SECOND_SAMPLE_INSTANCE_ID];
  const start = s.overrides.startTime ?? later(s.time, 3_600_000);
  const eventArn = `arn:aws:health:${s.region}::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_8f2b5c1d`;
  return {
    source: 'aws.health',
    detailType: 'AWS Health Event',
    resources: ids.map((id) => instanceArn(s, id)),
    detail: {
      eventArn,
      service: 'EC2',
      eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      eventTypeCategory: 'scheduledChange',
      eventScopeCode: 'ACCOUNT_SPECIFIC',
      // Health writes RFC 1123 times, which is what toUTCString produces.
      startTime:
        typeof start === 'string' || Number.isNaN(start.getTime()) ? String(start) : start.toUTCString(),
      eventDescription: [
        {
          language: 'en_US',
          latestDescription:
            'EC2 has detected degradation of the underlying hardware hosting your instances.',
        },
      ],
      affectedEntities: ids.map((id) => ({ entityValue: id })),
    },
  };
}

const autoScaling = (
  s: Setting,
  detail: Record<string, unknown>,
  detailType = 'EC2 Instance-terminate Lifecycle Action',
): Shape => ({
  source: 'aws.autoscaling',
  detailType,
  resources: [asgArn(s)],
  detail,
});

const shapes: Record<SampleKind, (s: Setting) => Shape> = {
  'spot-interruption': (s) =>
    ec2(s, 'EC2 Spot Instance Interruption Warning', {
      'instance-action': s.overrides.instanceAction ?? 'terminate',
    }),
  'rebalance-recommendation': (s) => ec2(s, 'EC2 Instance Rebalance Recommendation', {}),
  'state-change-stopping': (s) => stateChange(s, 'stopping'),
  'state-change-running': (s) => stateChange(s, 'running'),
  'scheduled-change': scheduledChange,
  'asg-terminate': (s) =>
    autoScaling(s, {
      LifecycleActionToken: LIFECYCLE_ACTION_TOKEN,
      AutoScalingGroupName: ASG_NAME,
      LifecycleHookName: HOOK_NAME,
      EC2InstanceId: s.instanceId,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    }),
  'asg-test-notification': (s) =>
    autoScaling(s, {
      AccountId: s.account,
      RequestId: '6d2f3b9a-1c4e-4b7a-9f0e-3a5c7e9b1d24',
      AutoScalingGroupARN: asgArn(s),
      AutoScalingGroupName: ASG_NAME,
      Service: 'AWS Auto Scaling',
      Event: 'autoscaling:TEST_NOTIFICATION',
      Time: s.time,
    }),
  'capacity-reservation-interruption': (s) =>
    ec2(s, 'EC2 Capacity Reservation Instance Interruption Warning', {
      'instance-action': 'terminate',
      'instance-termination-time': formatTime(later(s.time, 120_000)),
      azId: 'use1-az1',
    }),
  'asg-launch': (s) =>
    autoScaling(
      s,
      {
        LifecycleActionToken: LIFECYCLE_ACTION_TOKEN,
        AutoScalingGroupName: ASG_NAME,
        LifecycleHookName: LAUNCH_HOOK_NAME,
        EC2InstanceId: s.instanceId,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      },
      'EC2 Instance-launch Lifecycle Action',
    ),
};

/** Returns a fresh sample EventBridge event of `kind`; throws UsageError for an unknown kind. */
export function sampleEvent(kind: string, overrides: SampleOverrides = {}): SampleEvent {
  if (!(sampleKinds as readonly string[]).includes(kind)) {
    throw new UsageError(`unknown event kind "${kind}"; known kinds: ${sampleKinds.join(', ')}`);
  }
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const setting: Setting = {
    time: formatTime(overrides.time ?? now),
    region: overrides.region ?? 'us-east-1',
    account: overrides.account ?? '123456789012',
    instanceId: overrides.instanceId ?? SAMPLE_INSTANCE_ID,
    overrides,
  };
  const shape = shapes[kind as SampleKind](setting);
  return {
    version: '0',
    id: overrides.id ?? randomUUID(),
    'detail-type': shape.detailType,
    source: shape.source,
    account: setting.account,
    time: setting.time,
    region: setting.region,
    resources: shape.resources,
    detail: { ...shape.detail, ...overrides.detail },
  };
}
