import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { type AwsCallOptions, callAws } from './aws-retry.js';

/** What EC2 says about an instance now, enough to tell whether it still runs and since when. */
export interface InstanceState {
  /** pending, running, stopping, stopped, shutting-down, terminated; `gone` when EC2 no longer knows it. */
  state: string;
  /** When it was last started: a stop and start moves it. */
  launchTime?: Date;
  /** EC2's reason for the last state change, e.g. Client.UserInitiatedHibernate. */
  stateReason?: string;
  /** The Auto Scaling group its tags name: a lifecycle hook of another group is not its own. */
  autoScalingGroup?: string;
}

/** Reads the state of many instances at once: what the reconcile and the node's record need. */
export type InstanceStateSource = (
  instanceIds: string[],
  options: AwsCallOptions,
) => Promise<Map<string, InstanceState>>;

/**
 * EC2's current state of each instance, uncached (a decision to free pods must not rest on a
 * 30-second-old answer). A filter rather than InstanceIds, so one unknown id does not fail the call:
 * EC2 forgets terminated instances after about an hour, and those come back as `gone`.
 */
export function ec2InstanceStates(ec2: EC2Client): InstanceStateSource {
  return async (instanceIds, options) => {
    const states = new Map<string, InstanceState>();
    const unique = [...new Set(instanceIds)];
    // DescribeInstances takes at most 200 values per filter; the batches go a few at a time, not one
    // after another: the reconcile of 1 000 nodes otherwise waits on five answers in turn.
    const batches: string[][] = [];
    for (let start = 0; start < unique.length; start += 200) batches.push(unique.slice(start, start + 200));
    const worker = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        for (const [id, state] of await describeBatch(ec2, batch, options)) states.set(id, state);
      }
    };
    await Promise.all(Array.from({ length: Math.min(batchesAtOnce, batches.length) }, worker));
    for (const id of unique) if (!states.has(id)) states.set(id, { state: 'gone' });
    return states;
  };
}

/** DescribeInstances batches in flight at once: well under EC2's request rate for Describe calls. */
const batchesAtOnce = 4;

/** EC2's state of up to 200 instances, every page of the answer. */
async function describeBatch(
  ec2: EC2Client,
  batch: string[],
  options: AwsCallOptions,
): Promise<Map<string, InstanceState>> {
  const states = new Map<string, InstanceState>();
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const output = await callAws(
      `DescribeInstances (${batch.length} instances)`,
      (abortSignal) =>
        ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: 'instance-id', Values: batch }],
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        ),
      options,
    );
    for (const instance of output.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
      if (!instance.InstanceId) continue;
      const group = instance.Tags?.find((t) => t.Key === 'aws:autoscaling:groupName')?.Value;
      states.set(instance.InstanceId, {
        state: instance.State?.Name ?? 'pending',
        ...(instance.LaunchTime ? { launchTime: new Date(instance.LaunchTime) } : {}),
        ...(instance.StateReason?.Code ? { stateReason: instance.StateReason.Code } : {}),
        ...(group ? { autoScalingGroup: group } : {}),
      });
    }
    nextToken = output.NextToken;
  } while (nextToken);
  return states;
}
