import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { type AwsCallOptions, callAws } from './aws-retry.js';

/** What EC2 says about an instance now, enough to tell whether it still runs and since when. */
export interface InstanceState {
  /** pending, running, stopping, stopped, shutting-down, terminated; `gone` when EC2 no longer knows it. */
  state: string;
  /** When it was last started: a stop and start moves it. */
  launchTime?: Date;
}

/** States in which the instance's kubelet cannot be running. */
export const notRunningStates: ReadonlySet<string> = new Set([
  'stopping',
  'stopped',
  'shutting-down',
  'terminated',
  'gone',
]);

/** Reads the state of many instances at once: what the reconcile and the out-of-service check need. */
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
    // DescribeInstances takes at most 200 values per filter.
    for (let start = 0; start < unique.length; start += 200) {
      const batch = unique.slice(start, start + 200);
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
          states.set(instance.InstanceId, {
            state: instance.State?.Name ?? 'pending',
            ...(instance.LaunchTime ? { launchTime: new Date(instance.LaunchTime) } : {}),
          });
        }
        nextToken = output.NextToken;
      } while (nextToken);
    }
    for (const id of unique) if (!states.has(id)) states.set(id, { state: 'gone' });
    return states;
  };
}
