import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import { completeLifecycleAction, LifecycleResult, startHeartbeats } from '../aws/lifecycle.js';
import type { HookHandler } from '../drain/drain-node.js';
import type { HookRecord } from '../drain/lease.js';
import { describeError } from '../observability/redact.js';
import type { InterruptionNotice } from '../types.js';

/** The hook a notice carries, as the lease records it. */
export function hookOf(notice: InterruptionNotice): HookRecord | undefined {
  if (!notice.lifecycle) return undefined;
  return {
    autoScalingGroupName: notice.lifecycle.autoScalingGroupName,
    lifecycleHookName: notice.lifecycle.lifecycleHookName,
    instanceId: notice.instanceId,
  };
}

export function hookKey(hook: HookRecord): string {
  return `${hook.autoScalingGroupName}/${hook.lifecycleHookName}/${hook.instanceId}`;
}

export interface AutoScalingHooks extends HookHandler {
  /** Hooks this handler completed (or found already ended), by key. */
  readonly completed: Map<string, 'completed' | 'already-ended'>;
  stop(): void;
}

/**
 * Completes (CONTINUE) and keeps alive (heartbeats) the lifecycle hooks recorded on a node's lease,
 * whichever notice recorded them. A hook whose token this invocation knows (its own notice's) is
 * addressed by token, the others by instance id, which CompleteLifecycleAction accepts just as well.
 * A hook that cannot be completed is left on the lease, for a retry or the reconcile.
 */
export function autoScalingHooks(
  asg: AutoScalingClient | undefined,
  call: AwsCallOptions,
  log: Logger,
  heartbeatMs: number,
  known: InterruptionNotice[] = [],
): AutoScalingHooks {
  const tokens = new Map(
    known.flatMap((n) => {
      const hook = hookOf(n);
      return hook && n.lifecycle ? [[hookKey(hook), n.lifecycle.lifecycleActionToken] as const] : [];
    }),
  );
  const ref = (hook: HookRecord) => {
    const token = tokens.get(hookKey(hook));
    return {
      autoScalingGroupName: hook.autoScalingGroupName,
      lifecycleHookName: hook.lifecycleHookName,
      ...(token ? { lifecycleActionToken: token } : {}),
    };
  };
  const beating = new Map<string, { stop(): void }>();
  const completed = new Map<string, 'completed' | 'already-ended'>();
  return {
    completed,
    async complete(hooks) {
      if (!asg) return [];
      const results = await Promise.all(
        hooks.map(async (hook) => {
          const key = hookKey(hook);
          beating.get(key)?.stop();
          beating.delete(key);
          try {
            const outcome = await completeLifecycleAction(
              asg,
              ref(hook),
              hook.instanceId,
              LifecycleResult.Continue,
              call,
            );
            completed.set(key, outcome === 'done' ? 'completed' : 'already-ended');
            log.info('lifecycle action completed', {
              hook: hook.lifecycleHookName,
              instance: hook.instanceId,
              outcome,
            });
            return hook;
          } catch (error) {
            log.warn('lifecycle action not completed; it stays on the node for a retry or the reconcile', {
              hook: hook.lifecycleHookName,
              instance: hook.instanceId,
              error: describeError(error),
            });
            return undefined;
          }
        }),
      );
      return results.filter((h): h is HookRecord => h !== undefined);
    },
    onHooks(hooks) {
      if (!asg || heartbeatMs <= 0) return;
      for (const hook of hooks) {
        const key = hookKey(hook);
        if (beating.has(key) || completed.has(key)) continue;
        beating.set(
          key,
          startHeartbeats(asg, ref(hook), hook.instanceId, heartbeatMs, {
            onError: (error) => log.warn('lifecycle heartbeat failed', { error: describeError(error) }),
          }),
        );
      }
    },
    stop() {
      for (const beat of beating.values()) beat.stop();
      beating.clear();
    },
  };
}
