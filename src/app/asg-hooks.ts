import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { completeLifecycleAction, LifecycleResult, startHeartbeats } from '../aws/asg-lifecycle.js';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import type { LazyClient } from '../aws/lazy-client.js';
import { TransientError } from '../errors.js';
import type { HookHandler } from '../interruption/carry-out.js';
import { type HookRecord, hookKey } from '../interruption/record.js';
import { type MetricsSink, noMetrics } from '../observability/metrics.js';
import { describeError } from '../observability/redact.js';
import { type InterruptionNotice, NoticeKind } from '../types.js';
import type { AppDeps, LifecycleActionStatus } from './app-types.js';
import type { NoticeResult } from './notice-result.js';
import type { ClusterSource } from './resolve-target.js';

/** The hook a notice carries, as the node's record keeps it. */
export function hookOf(notice: InterruptionNotice): HookRecord | undefined {
  if (!notice.lifecycleAction) return undefined;
  return {
    autoScalingGroupName: notice.lifecycleAction.autoScalingGroupName,
    lifecycleHookName: notice.lifecycleAction.lifecycleHookName,
    instanceId: notice.instanceId,
    since: notice.eventTime.toISOString(),
  };
}

export { hookKey };

export interface AutoScalingHooks extends HookHandler {
  /** Hooks this handler completed (or found already ended), by key. */
  readonly completed: Map<string, 'completed' | 'already-ended'>;
  stop(): void;
}

/**
 * Completes (CONTINUE) and keeps alive (heartbeats) the lifecycle hooks recorded on a node's record,
 * whichever notice recorded them. A hook whose token this invocation knows (its own notice's) is
 * addressed by token, the others by instance id, which CompleteLifecycleAction accepts just as well.
 * A hook that cannot be completed is left on the record, for a retry or the reconcile.
 */
export function autoScalingHooks(
  asg: LazyClient<AutoScalingClient> | undefined,
  call: AwsCallOptions,
  log: Logger,
  heartbeat: HeartbeatPlan,
  known: InterruptionNotice[] = [],
  metrics: Pick<MetricsSink, 'hookWithVolumesAttached'> = noMetrics,
): AutoScalingHooks {
  const tokens = new Map(
    known.flatMap((n) => {
      const hook = hookOf(n);
      return hook && n.lifecycleAction
        ? [[hookKey(hook), n.lifecycleAction.lifecycleActionToken] as const]
        : [];
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
    async complete(hooks, volumesAttached = []) {
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
            if (volumesAttached.length > 0) {
              // The wait for them reached its bound: EC2 may force-detach, and the next pod wait for it.
              log.warn('lifecycle action completed with volumes still attached', {
                hook: hook.lifecycleHookName,
                instance: hook.instanceId,
                volumeAttachments: volumesAttached,
              });
              metrics.hookWithVolumesAttached();
            }
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
      if (!asg || heartbeat.intervalMs <= 0) return;
      for (const hook of hooks) {
        const key = hookKey(hook);
        if (beating.has(key) || completed.has(key)) continue;
        const until = heartbeatsUntil(hook, heartbeat);
        if (until !== undefined && until <= Date.now()) {
          log.warn('lifecycle heartbeats over: HEARTBEAT_UNTIL_SECONDS after the action began', {
            hook: hook.lifecycleHookName,
            instance: hook.instanceId,
          });
          beating.set(key, { stop() {} });
          continue;
        }
        beating.set(
          key,
          startHeartbeats(asg, ref(hook), hook.instanceId, heartbeat.intervalMs, {
            onError: (error) => log.warn('lifecycle heartbeat failed', { error: describeError(error) }),
            ...(until !== undefined ? { until } : {}),
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

/** How a drain keeps its hooks alive: a heartbeat every `intervalMs` (0: none), for `untilMs` after each began. */
export interface HeartbeatPlan {
  intervalMs: number;
  /** HEARTBEAT_UNTIL_SECONDS: then the hook ends at its own timeout, as aws-node-termination-handler's heartbeatUntil. */
  untilMs?: number;
}

/** The heartbeats of a drain's hooks, from the configuration. */
export function heartbeatPlan(config: AppDeps['config']): HeartbeatPlan {
  return {
    intervalMs: config.lifecycleActionHeartbeatMs,
    ...(config.lifecycleHeartbeatUntilMs !== undefined ? { untilMs: config.lifecycleHeartbeatUntilMs } : {}),
  };
}

/** When a hook's heartbeats end (epoch ms), if the hook says when its action began. */
function heartbeatsUntil(hook: HookRecord, plan: HeartbeatPlan): number | undefined {
  const since = Date.parse(hook.since ?? '');
  return plan.untilMs !== undefined && Number.isFinite(since) ? since + plan.untilMs : undefined;
}

/**
 * The notice's own lifecycle action, once the node is dealt with: completed by this invocation's
 * drain (or when the node was already drained, or out of service), left to the holder draining the
 * node, or completed here (its node is gone, or the notice left the record alone). A hook recorded
 * that could not be completed fails the invocation, so the event is retried (and kept in the
 * dead-letter queue). `owner` says whether the instance belongs to a managed cluster; `ask` finds out.
 */
export async function settleLifecycleAction(
  notice: InterruptionNotice,
  deps: Pick<AppDeps, 'autoScaling' | 'source'>,
  log: Logger,
  call: AwsCallOptions,
  owner: 'ours' | 'not-ours' | 'ask',
  result: NoticeResult | undefined,
  completed: Map<string, 'completed' | 'already-ended'>,
): Promise<{ lifecycleAction?: LifecycleActionStatus }> {
  const hook = hookOf(notice);
  if (!hook || !notice.lifecycleAction || notice.kind !== NoticeKind.AsgTerminate) return {};
  const done = completed.get(hookKey(hook));
  if (done) return { lifecycleAction: done };
  // Another holder drains, or will once the drain handed on here is taken: it completes the hook.
  if (result?.node === 'in-progress-elsewhere' || result?.node === 'handed-off')
    return { lifecycleAction: 'left-to-holder' };
  const failed = [...(result?.hooksPending ?? []), ...(result?.hooksFailed ?? [])];
  if (failed.some((h) => hookKey(h) === hookKey(hook))) {
    throw new TransientError(
      `lifecycle action ${hook.lifecycleHookName} for ${hook.instanceId} not completed`,
    );
  }
  // Recorded with the node's drain, and neither pending nor completed here: its holder completed it.
  if (result && recordedOutcomes.has(result.node)) return { lifecycleAction: 'completed-by-holder' };
  const ours = owner === 'ask' ? await ownerOf(notice, deps.source, call) : owner;
  if (ours === 'not-ours' || !deps.autoScaling) return { lifecycleAction: 'not-ours' };
  const outcome = await completeLifecycleAction(
    deps.autoScaling,
    notice.lifecycleAction,
    notice.instanceId,
    LifecycleResult.Continue,
    call,
  );
  log.info('lifecycle action completed', { hook: hook.lifecycleHookName, outcome });
  return { lifecycleAction: outcome === 'done' ? 'completed' : 'already-ended' };
}

/** Node outcomes after which a notice's hook was recorded with the node's drain. */
const recordedOutcomes: ReadonlySet<string> = new Set(['already-done', 'ended', 'taken-over']);

/** Whether the instance belongs to a cluster this deployment manages (its hook is then ours to end). */
async function ownerOf(
  notice: InterruptionNotice,
  source: ClusterSource,
  call: AwsCallOptions,
): Promise<'ours' | 'not-ours'> {
  if (source.kind === 'fixed') return 'ours';
  const instance = await source.instances.get(notice.instanceId, call);
  return instance && resolveManagedCluster(instance, source.managedClusters) ? 'ours' : 'not-ours';
}
