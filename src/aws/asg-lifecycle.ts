/**
 * Auto Scaling lifecycle actions. The SDK package is imported on first use (src/aws/lazy-client.ts):
 * only notices that carry a lifecycle hook load it.
 */
import type {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import type { LifecycleAction } from '../types.js';
import { type AwsCallOptions, callAws } from './aws-retry.js';
import type { LazyClient } from './lazy-client.js';

/** The Auto Scaling client, and the package its commands come from, once both are loaded. */
async function loaded(asg: LazyClient<AutoScalingClient>) {
  const [client, sdk] = await Promise.all([asg(), import('@aws-sdk/client-auto-scaling')]);
  return { client, sdk };
}

export const LifecycleResult = {
  Continue: 'CONTINUE',
  Abandon: 'ABANDON',
} as const;
export type LifecycleResult = (typeof LifecycleResult)[keyof typeof LifecycleResult];

/** `done`: Auto Scaling took our call; `not-active`: the action had already ended (completed or timed out). */
export type LifecycleCallOutcome = 'done' | 'not-active';

/**
 * Tells Auto Scaling the instance may go (CONTINUE) or that the hook failed (ABANDON; for a terminate
 * hook the instance goes anyway). An action that is no longer active is not an error: someone,
 * perhaps an earlier delivery of the same event, already ended it. Throttling, 5xx and timeouts are
 * retried until the deadline, then thrown as a TransientError.
 */
/** A lifecycle action to act on: the token is optional, as the instance id identifies it too. */
export type LifecycleActionRef = Pick<LifecycleAction, 'autoScalingGroupName' | 'lifecycleHookName'> &
  Partial<Pick<LifecycleAction, 'lifecycleActionToken'>>;

export async function completeLifecycleAction(
  asg: LazyClient<AutoScalingClient>,
  lifecycle: LifecycleActionRef,
  instanceId: string,
  result: LifecycleResult,
  options: AwsCallOptions,
): Promise<LifecycleCallOutcome> {
  const { client, sdk } = await loaded(asg);
  const command = new sdk.CompleteLifecycleActionCommand({
    AutoScalingGroupName: lifecycle.autoScalingGroupName,
    LifecycleHookName: lifecycle.lifecycleHookName,
    ...(lifecycle.lifecycleActionToken ? { LifecycleActionToken: lifecycle.lifecycleActionToken } : {}),
    LifecycleActionResult: result,
    InstanceId: instanceId,
  });
  return callLifecycle(`CompleteLifecycleAction ${instanceId} ${result}`, client, command, options);
}

/** Extends the hook's heartbeat timeout while a drain runs. Same contract as completeLifecycleAction. */
export async function recordLifecycleHeartbeat(
  asg: LazyClient<AutoScalingClient>,
  lifecycle: LifecycleActionRef,
  instanceId: string,
  options: AwsCallOptions,
): Promise<LifecycleCallOutcome> {
  const { client, sdk } = await loaded(asg);
  const command = new sdk.RecordLifecycleActionHeartbeatCommand({
    AutoScalingGroupName: lifecycle.autoScalingGroupName,
    LifecycleHookName: lifecycle.lifecycleHookName,
    ...(lifecycle.lifecycleActionToken ? { LifecycleActionToken: lifecycle.lifecycleActionToken } : {}),
    InstanceId: instanceId,
  });
  return callLifecycle(`RecordLifecycleActionHeartbeat ${instanceId}`, client, command, options);
}

async function callLifecycle(
  description: string,
  asg: AutoScalingClient,
  command: CompleteLifecycleActionCommand | RecordLifecycleActionHeartbeatCommand,
  options: AwsCallOptions,
): Promise<LifecycleCallOutcome> {
  try {
    // The union of two commands does not narrow send's overloads; both outputs carry nothing we read.
    await callAws(
      description,
      (abortSignal) => asg.send(command as CompleteLifecycleActionCommand, { abortSignal }),
      options,
    );
    return 'done';
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return 'not-active';
    throw error;
  }
}

/** Auto Scaling's answer once an action has ended: ValidationError "No active Lifecycle Action found …". */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationError' &&
    /no active lifecycle action/i.test(error.message)
  );
}

export interface HeartbeatOptions {
  /** Called with each failed heartbeat; heartbeats go on until stop() or the action ends. */
  onError?: (error: unknown) => void;
  now?: () => number;
  /** No heartbeat is sent after this (epoch ms): the action then ends at its own heartbeat timeout. */
  until?: number;
}

/**
 * Sends a heartbeat every `intervalMs` until stopped, so a drain that outlasts the hook's heartbeat
 * timeout does not let Auto Scaling terminate the instance under it. Each heartbeat may retry for at
 * most one interval. Stops by itself once the action is no longer active.
 */
export function startHeartbeats(
  asg: LazyClient<AutoScalingClient>,
  lifecycle: LifecycleActionRef,
  instanceId: string,
  intervalMs: number,
  options: HeartbeatOptions = {},
): { stop(): void } {
  const now = options.now ?? Date.now;
  const stopped = new AbortController();
  let timer: NodeJS.Timeout | undefined;

  const beat = async () => {
    try {
      const outcome = await recordLifecycleHeartbeat(asg, lifecycle, instanceId, {
        deadline: now() + intervalMs,
        signal: stopped.signal,
      });
      if (outcome === 'not-active') stopped.abort();
    } catch (error) {
      if (!stopped.signal.aborted) options.onError?.(error);
    }
    schedule();
  };
  // A chain of timeouts, not an interval: a slow heartbeat never overlaps the next one.
  const schedule = () => {
    if (stopped.signal.aborted) return;
    if (options.until !== undefined && now() + intervalMs > options.until) return stopped.abort();
    timer = setTimeout(beat, intervalMs);
  };

  schedule();
  return {
    stop() {
      stopped.abort();
      clearTimeout(timer);
    },
  };
}
