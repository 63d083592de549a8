import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { type AwsCallOptions, callAws } from './aws-retry.js';
import type { LazyClient } from './lazy-client.js';

/** Where Auto Scaling says an instance is: its group and its lifecycle state (e.g. `Terminating:Wait`). */
export interface AutoScalingInstance {
  autoScalingGroupName: string;
  lifecycleState: string;
}

/** Auto Scaling's view of many instances at once; an instance of no group is absent from the map. */
export type AutoScalingInstanceSource = (
  instanceIds: string[],
  options: AwsCallOptions,
) => Promise<Map<string, AutoScalingInstance>>;

/** DescribeAutoScalingInstances takes at most 50 instance ids, and answers 50 at most per page. */
const idsPerCall = 50;

/**
 * Auto Scaling's group and lifecycle state of each instance (DescribeAutoScalingInstances), paged,
 * 50 ids a call. An id Auto Scaling does not know is simply not in the answer (no error), as for an
 * instance that belongs to no group. IAM: `autoscaling:DescribeAutoScalingInstances`, which supports
 * no resource-level permissions (Resource "*"). The client and its package are loaded on first use
 * (lazy-client.ts): only a terminate hook's notice asks.
 */
export function autoScalingInstances(autoScaling: LazyClient<AutoScalingClient>): AutoScalingInstanceSource {
  return async (instanceIds, options) => {
    const [asg, { DescribeAutoScalingInstancesCommand }] = await Promise.all([
      autoScaling(),
      import('@aws-sdk/client-auto-scaling'),
    ]);
    const found = new Map<string, AutoScalingInstance>();
    const unique = [...new Set(instanceIds)];
    for (let start = 0; start < unique.length; start += idsPerCall) {
      const batch = unique.slice(start, start + idsPerCall);
      let nextToken: string | undefined;
      do {
        const token = nextToken;
        const output = await callAws(
          `DescribeAutoScalingInstances (${batch.length} instances)`,
          (abortSignal) =>
            asg.send(
              new DescribeAutoScalingInstancesCommand({
                InstanceIds: batch,
                MaxRecords: idsPerCall,
                ...(token ? { NextToken: token } : {}),
              }),
              { abortSignal },
            ),
          options,
        );
        for (const i of output.AutoScalingInstances ?? []) {
          if (!i.InstanceId || !i.AutoScalingGroupName || !i.LifecycleState) continue;
          found.set(i.InstanceId, {
            autoScalingGroupName: i.AutoScalingGroupName,
            lifecycleState: i.LifecycleState,
          });
        }
        nextToken = output.NextToken;
      } while (nextToken);
    }
    return found;
  };
}

/**
 * The states in which Auto Scaling is terminating an instance behind a terminate hook: `:Wait` while
 * the hook holds it, `:Proceed` once the hook was completed (by another handler, an earlier delivery)
 * or timed out, on its way to `Terminated` ("Warmed:" for an instance of the group's warm pool).
 * `:Proceed` is accepted: Auto Scaling still confirms the instance is going, so a drain still helps
 * its pods, and the hook's completion then only answers "no active lifecycle action".
 */
export const terminatingStates: ReadonlySet<string> = new Set([
  'Terminating:Wait',
  'Terminating:Proceed',
  'Warmed:Terminating:Wait',
  'Warmed:Terminating:Proceed',
]);

/** States on the way into the wait state: the hook's event may come before the API shows `:Wait`. */
const enteringStates: ReadonlySet<string> = new Set(['Terminating', 'Warmed:Terminating']);

/**
 * How Auto Scaling's answer stands to a terminate hook of `group`: `confirmed`; `not-yet` (the
 * instance is not listed, or only entering the wait state: perhaps not yet visible, worth one more
 * look); or `contradicted` (another group, or a state that is not terminating: no look changes that).
 */
export function terminateHookStanding(
  group: string,
  seen: AutoScalingInstance | undefined,
): { standing: 'confirmed' } | { standing: 'not-yet' | 'contradicted'; why: string } {
  if (!seen) return { standing: 'not-yet', why: 'Auto Scaling lists the instance in no group' };
  if (seen.autoScalingGroupName !== group) {
    return {
      standing: 'contradicted',
      why: `Auto Scaling lists the instance in group ${seen.autoScalingGroupName}, not ${group}`,
    };
  }
  if (terminatingStates.has(seen.lifecycleState)) return { standing: 'confirmed' };
  const why = `Auto Scaling lists the instance in ${group} as ${seen.lifecycleState}, not terminating`;
  return { standing: enteringStates.has(seen.lifecycleState) ? 'not-yet' : 'contradicted', why };
}
