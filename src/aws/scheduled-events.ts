/**
 * What EC2 says is scheduled for instances (DescribeInstanceStatus's Events), and whether an AWS
 * Health scheduled change about an instance agrees with it. One batch call for many instances, so
 * the reconcile can re-check the changes it recorded as well as a notice can be checked as it comes.
 */
import { DescribeInstanceStatusCommand, type EC2Client, type InstanceStatusEvent } from '@aws-sdk/client-ec2';
import { type AwsCallOptions, callAws } from './aws-retry.js';

/** EC2's scheduled event codes (InstanceStatusEvent.Code). */
export type Ec2EventCode =
  | 'instance-reboot'
  | 'system-reboot'
  | 'system-maintenance'
  | 'instance-retirement'
  | 'instance-stop';

/** One scheduled event EC2 lists for an instance. */
export interface ScheduledEvent {
  code: string;
  notBefore?: Date;
  notAfter?: Date;
  /** How late the owner may reschedule it to. */
  notBeforeDeadline?: Date;
  description?: string;
}

/** EC2's scheduled events of many instances; an instance EC2 no longer knows maps to none. */
export type ScheduledEventSource = (
  instanceIds: string[],
  options: AwsCallOptions,
) => Promise<Map<string, ScheduledEvent[]>>;

/** DescribeInstanceStatus takes at most 100 instance ids. */
const idsPerCall = 100;
const instanceGoneCodes = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

/**
 * The scheduled events EC2 lists for each instance (DescribeInstanceStatus, IncludeAllInstances so a
 * stopped instance's events are listed too), 100 ids a call, paged. EC2 refuses a whole call that
 * names an instance it no longer knows: that batch is then asked one id at a time, and the unknown
 * ones have no events. IAM: `ec2:DescribeInstanceStatus` (Resource "*").
 */
export function ec2ScheduledEvents(ec2: EC2Client): ScheduledEventSource {
  return async (instanceIds, options) => {
    const events = new Map<string, ScheduledEvent[]>();
    const unique = [...new Set(instanceIds)];
    for (let start = 0; start < unique.length; start += idsPerCall) {
      const batch = unique.slice(start, start + idsPerCall);
      try {
        await describeInto(ec2, batch, events, options);
      } catch (error) {
        if (!isInstanceGone(error)) throw error;
        // One unknown id fails the whole call: each is asked alone, and an unknown one has no events.
        if (batch.length > 1) {
          for (const id of batch) {
            try {
              await describeInto(ec2, [id], events, options);
            } catch (single) {
              if (!isInstanceGone(single)) throw single;
            }
          }
        }
      }
    }
    for (const id of unique) if (!events.has(id)) events.set(id, []);
    return events;
  };
}

async function describeInto(
  ec2: EC2Client,
  batch: string[],
  into: Map<string, ScheduledEvent[]>,
  options: AwsCallOptions,
): Promise<void> {
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const output = await callAws(
      `DescribeInstanceStatus (${batch.length} instances)`,
      (abortSignal) =>
        ec2.send(
          new DescribeInstanceStatusCommand({
            InstanceIds: batch,
            IncludeAllInstances: true,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        ),
      options,
    );
    for (const status of output.InstanceStatuses ?? []) {
      if (!status.InstanceId) continue;
      into.set(status.InstanceId, (status.Events ?? []).flatMap(toScheduledEvent));
    }
    nextToken = output.NextToken;
  } while (nextToken);
}

function toScheduledEvent(event: InstanceStatusEvent): ScheduledEvent[] {
  if (!event.Code) return [];
  return [
    {
      code: event.Code,
      ...(event.NotBefore ? { notBefore: new Date(event.NotBefore) } : {}),
      ...(event.NotAfter ? { notAfter: new Date(event.NotAfter) } : {}),
      ...(event.NotBeforeDeadline ? { notBeforeDeadline: new Date(event.NotBeforeDeadline) } : {}),
      ...(event.Description ? { description: event.Description } : {}),
    },
  ];
}

function isInstanceGone(error: unknown): boolean {
  return error instanceof Error && instanceGoneCodes.has(error.name);
}

/**
 * The EC2 event codes an AWS Health event type about an instance appears as in EC2's own list (the
 * EC2 User Guide's "Scheduled events": instance stop, instance retirement, instance reboot, system
 * reboot, system maintenance). A retirement stops an EBS-backed instance, so it may be listed as a stop.
 */
export const ec2CodesOfHealthType: Readonly<Record<string, readonly Ec2EventCode[]>> = {
  AWS_EC2_INSTANCE_STOP_SCHEDULED: ['instance-stop'],
  AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED: ['instance-retirement', 'instance-stop'],
  AWS_EC2_INSTANCE_RETIREMENT_EXPEDITED: ['instance-retirement', 'instance-stop'],
  AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED: ['instance-retirement', 'instance-stop'],
  AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_EXPEDITED: ['instance-retirement', 'instance-stop'],
  AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED: ['instance-reboot'],
  AWS_EC2_INSTANCE_REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED: ['instance-reboot'],
  AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED: ['system-reboot'],
  AWS_EC2_SYSTEM_MAINTENANCE_EVENT: ['system-maintenance'],
  AWS_EC2_INSTANCE_NETWORK_MAINTENANCE_SCHEDULED: ['system-maintenance'],
  AWS_EC2_INSTANCE_POWER_MAINTENANCE_SCHEDULED: ['system-maintenance'],
  AWS_EC2_PERSISTENT_INSTANCE_POWER_MAINTENANCE_SCHEDULED: ['system-maintenance'],
};

const dedicatedHost =
  'a Dedicated Host event: EC2 schedules it for the host, and lists no event for the instances on it; ' +
  'what EC2 can confirm is that the instance runs on a Dedicated Host';

/**
 * Health event types about instances that EC2 does not list as instance events, and why each is
 * believed without that check. Any other type, named here or not, must find an EC2 event.
 */
export const healthTypesWithoutInstanceEvent: Readonly<Record<string, string>> = {
  AWS_EC2_DEDICATED_HOST_NETWORK_MAINTENANCE_SCHEDULED: dedicatedHost,
  AWS_EC2_DEDICATED_HOST_POWER_MAINTENANCE_SCHEDULED: dedicatedHost,
  AWS_EC2_DEDICATED_HOST_RETIREMENT_SCHEDULED: dedicatedHost,
  AWS_EC2_DEDICATED_HOST_ACCESSREVOKED_RETIREMENT_SCHEDULED: dedicatedHost,
};

/**
 * How far a Health change's start may lie from EC2's window and still be the same event: Health and
 * EC2 state the same start, and the day matters here, not the minute; a start much earlier than
 * EC2's window would drain a node before anything happens to it.
 */
export const startToleranceMs = 60 * 60_000;

/** A Health scheduled change as a notice or the node's record states it. */
export interface ScheduledChangeClaim {
  instanceId: string;
  /** Health's eventTypeCode; undefined when the event had none (or none readable). */
  eventTypeCode: string | undefined;
  start: Date;
}

export type ScheduledChangeStanding =
  | { standing: 'confirmed'; detail: string }
  /** Believed without EC2's list: the type is one EC2 lists no instance event for. */
  | { standing: 'unlisted-type'; detail: string }
  | { standing: 'unconfirmed'; detail: string };

/**
 * Whether EC2's scheduled events agree with a Health change: an event not yet completed or cancelled,
 * of a code the Health type maps to (any code for a type not in the table), whose window holds the
 * change's start (within {@link startToleranceMs}). Pure; table-tested.
 */
export function scheduledChangeStanding(
  claim: ScheduledChangeClaim,
  events: readonly ScheduledEvent[],
): ScheduledChangeStanding {
  const type = claim.eventTypeCode;
  if (type !== undefined && Object.hasOwn(healthTypesWithoutInstanceEvent, type)) {
    return { standing: 'unlisted-type', detail: healthTypesWithoutInstanceEvent[type]! };
  }
  const codes =
    type !== undefined && Object.hasOwn(ec2CodesOfHealthType, type) ? ec2CodesOfHealthType[type] : undefined;
  const pending = events.filter((e) => !isOver(e));
  const ofCode = codes ? pending.filter((e) => (codes as readonly string[]).includes(e.code)) : pending;
  const match = ofCode.find((e) => holdsStart(e, claim.start));
  if (match) {
    return {
      standing: 'confirmed',
      detail: `EC2 lists ${match.code} not before ${match.notBefore?.toISOString() ?? '(no time)'}`,
    };
  }
  const wanted = codes ? codes.join(' or ') : 'any code';
  const listed = pending.map((e) => `${e.code} not before ${e.notBefore?.toISOString() ?? '?'}`);
  return {
    standing: 'unconfirmed',
    detail:
      `EC2 lists no pending scheduled event (${wanted}) for ${claim.instanceId} around ` +
      `${claim.start.toISOString()}${listed.length > 0 ? `; it lists ${listed.join(', ')}` : ''}`,
  };
}

/** EC2 keeps a completed event described for up to a week, its description starting with "[Completed]". */
function isOver(event: ScheduledEvent): boolean {
  return /^\[(Completed|Canceled|Cancelled)\]/i.test(event.description ?? '');
}

function holdsStart(event: ScheduledEvent, start: Date): boolean {
  if (!event.notBefore) return true;
  const t = start.getTime();
  const latest = Math.max(
    event.notBefore.getTime(),
    event.notAfter?.getTime() ?? 0,
    event.notBeforeDeadline?.getTime() ?? 0,
  );
  return t >= event.notBefore.getTime() - startToleranceMs && t <= latest + startToleranceMs;
}

/**
 * Checks many recorded (or announced) Health changes against EC2 in one batch: one
 * DescribeInstanceStatus per 100 instances. The answers come in the claims' order.
 *
 * @example
 * // The reconcile, before it drains the changes it recorded:
 * const standings = await confirmScheduledChanges(ec2ScheduledEvents(ec2), claims, { deadline });
 */
export async function confirmScheduledChanges(
  source: ScheduledEventSource,
  claims: readonly ScheduledChangeClaim[],
  options: AwsCallOptions,
): Promise<ScheduledChangeStanding[]> {
  const toAsk = claims.filter((c) => scheduledChangeStanding(c, []).standing !== 'unlisted-type');
  const listed =
    toAsk.length > 0
      ? await source(
          toAsk.map((c) => c.instanceId),
          options,
        )
      : new Map<string, ScheduledEvent[]>();
  return claims.map((claim) => scheduledChangeStanding(claim, listed.get(claim.instanceId) ?? []));
}
