/**
 * What AWS says about an instance besides DescribeInstances, set up on moto, so a notice the function
 * confirms with AWS (src/app/confirm-notice.ts) finds what AWS would say of a genuine one:
 * - Auto Scaling holds the instance in `Terminating:Wait` in the sample's group behind a terminate hook
 *   (AttachInstances, PutLifecycleHook, TerminateInstanceInAutoScalingGroup; moto_extensions.py makes
 *   moto hold it there as Auto Scaling does);
 * - EC2 lists a scheduled event for it (no API creates one: the bed's control API);
 * - it runs in a Capacity Reservation, or on a Dedicated Host (moto has neither: the control API).
 */
import {
  AttachInstancesCommand,
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  PutLifecycleHookCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ec2CodesOfHealthType, healthTypesWithoutInstanceEvent } from '../../src/aws/scheduled-events.js';
import { motoCredentials } from './moto.js';
import type { BedAws } from './testbed.js';

/** The group and hook of `sampleEvent('asg-terminate')` (src/events/samples.ts). */
export const sampleGroup = 'eks-spot-workers';
const sampleHook = 'eks-spot-drainer';
const launchTemplate = 'eks-spot-workers-template';

/** "Already there" is what a second test file finds: the group and template are shared. */
function alreadyThere(error: unknown): boolean {
  return error instanceof Error && /AlreadyExists|already exists/i.test(`${error.name} ${error.message}`);
}

async function ensure(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!alreadyThere(error)) throw error;
  }
}

/**
 * The instance in `group` (the sample's by default), held by its terminate hook: Auto Scaling lists it
 * as `Terminating:Wait`, as when it sends the hook's event.
 */
export async function terminatingInGroup(
  bed: Pick<BedAws, 'awsEndpoint' | 'region'>,
  instanceId: string,
  group = sampleGroup,
): Promise<void> {
  await inGroup(bed, instanceId, group);
  const asg = autoScalingClient(bed);
  try {
    await asg.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: instanceId,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
  } finally {
    asg.destroy();
  }
}

/** The instance in `group`, in service (no terminate under way). */
export async function inGroup(
  bed: Pick<BedAws, 'awsEndpoint' | 'region'>,
  instanceId: string,
  group = sampleGroup,
): Promise<void> {
  const ec2 = new EC2Client({ region: bed.region, endpoint: bed.awsEndpoint, credentials: motoCredentials });
  const asg = autoScalingClient(bed);
  try {
    await ensure(() =>
      ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: launchTemplate,
          LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 'm5.large' },
        }),
      ),
    );
    await ensure(() =>
      asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: group,
          LaunchTemplate: { LaunchTemplateName: launchTemplate },
          MinSize: 0,
          MaxSize: 10_000,
          DesiredCapacity: 0,
          AvailabilityZones: [`${bed.region}a`, `${bed.region}b`, `${bed.region}c`],
        }),
      ),
    );
    // PutLifecycleHook replaces a hook of the same name: safe to repeat.
    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: group,
        LifecycleHookName: sampleHook,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 300,
      }),
    );
    await asg.send(new AttachInstancesCommand({ AutoScalingGroupName: group, InstanceIds: [instanceId] }));
  } finally {
    ec2.destroy();
    asg.destroy();
  }
}

function autoScalingClient(bed: Pick<BedAws, 'awsEndpoint' | 'region'>): AutoScalingClient {
  return new AutoScalingClient({
    region: bed.region,
    endpoint: bed.awsEndpoint,
    credentials: motoCredentials,
  });
}

async function control(bed: Pick<BedAws, 'motoControlEndpoint'>, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${bed.motoControlEndpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`moto control ${path}: HTTP ${response.status} ${await response.text()}`);
}

/**
 * EC2 lists a scheduled event for the instance (DescribeInstanceStatus), as it does for the sample's
 * Health retirement: `instance-retirement` not before `notBefore`.
 */
export function scheduleEvent(
  bed: Pick<BedAws, 'motoControlEndpoint'>,
  instanceId: string,
  notBefore: Date,
  code = 'instance-retirement',
): Promise<void> {
  return control(bed, '/ec2/scheduled-event', {
    instanceId,
    code,
    notBefore: notBefore.toISOString(),
    description: 'The instance is running on degraded hardware',
  });
}

/** EC2 cancelled the instance's scheduled events: listed a while longer, marked `[Canceled]`. */
export function cancelScheduledEvents(
  bed: Pick<BedAws, 'motoControlEndpoint'>,
  instanceId: string,
): Promise<void> {
  return control(bed, '/ec2/scheduled-event/cancel', { instanceId });
}

/** The instance runs in a Capacity Reservation, as one a capacity-reservation warning is about. */
export function inCapacityReservation(
  bed: Pick<BedAws, 'motoControlEndpoint'>,
  instanceId: string,
  capacityReservationId = 'cr-0123456789abcdef0',
): Promise<void> {
  return control(bed, '/ec2/capacity-reservation', { instanceId, capacityReservationId });
}

/** The instance runs on a Dedicated Host, as one a Dedicated Host's Health event is about. */
export function onDedicatedHost(
  bed: Pick<BedAws, 'motoControlEndpoint'>,
  instanceId: string,
  hostId = 'h-0123456789abcdef0',
): Promise<void> {
  return control(bed, '/ec2/dedicated-host', { instanceId, hostId });
}

/**
 * What AWS says of the instances of a genuine event, set up for `event` (an EventBridge event as
 * delivered): a terminate hook's instance in `Terminating:Wait` in its group, a Health change's
 * event listed by EC2 for each instance, a capacity-reservation warning's instance in a reservation.
 * Other events (a launch hook's too: Auto Scaling checks its token) need nothing beyond DescribeInstances.
 */
export async function awsSaysSo(bed: BedAws, event: Record<string, unknown>): Promise<void> {
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const text = (key: string) => (typeof detail[key] === 'string' ? (detail[key] as string) : undefined);
  const terminating = event['detail-type'] === 'EC2 Instance-terminate Lifecycle Action';
  if (terminating && text('EC2InstanceId') && text('AutoScalingGroupName')) {
    await terminatingInGroup(bed, text('EC2InstanceId')!, text('AutoScalingGroupName'));
  } else if (event.source === 'aws.health' && text('startTime')) {
    const type = text('eventTypeCode') ?? '';
    const entities = Array.isArray(detail.affectedEntities)
      ? (detail.affectedEntities as { entityValue?: unknown }[])
      : [];
    const ids = entities.flatMap(({ entityValue: v }) =>
      typeof v === 'string' && v.startsWith('i-') ? [v] : [],
    );
    if (Object.hasOwn(healthTypesWithoutInstanceEvent, type)) {
      // EC2 lists a Dedicated Host's event for the host, not its instances: they run on one.
      for (const id of ids) await onDedicatedHost(bed, id);
      return;
    }
    const code = Object.hasOwn(ec2CodesOfHealthType, type)
      ? ec2CodesOfHealthType[type]![0]!
      : 'system-maintenance';
    for (const id of ids) await scheduleEvent(bed, id, new Date(text('startTime')!), code);
  } else if (
    event['detail-type'] === 'EC2 Capacity Reservation Instance Interruption Warning' &&
    text('instance-id')
  ) {
    await inCapacityReservation(bed, text('instance-id')!);
  }
}
