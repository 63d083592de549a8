/**
 * Auto Scaling launch lifecycle hooks (`autoscaling:EC2_INSTANCE_LAUNCHING`): Auto Scaling holds a new
 * instance in Pending:Wait until its hook is completed. For an instance of a managed cluster, the
 * action is completed CONTINUE once its node has joined and its kubelet is Ready since the launch
 * (aws-node-termination-handler's `--complete-lifecycle-action-on-launch`), so the group counts the
 * instance InService only when it can take pods (an instance refresh or a scale-out waits for that).
 *
 * No record goes on the node: the hook's whole state is Auto Scaling's, and the invocation that
 * waits is the only actor. Waiting is bounded by LAUNCH_READY_WAIT_SECONDS from the launch event;
 * heartbeats keep the hook alive meanwhile. If the invocation must return first (its own timeout),
 * it sends a heartbeat and fails with a TransientError: Lambda's retry of the event waits on. Once
 * the bound is over, LAUNCH_HOOK_ON_TIMEOUT says: `leave` (the hook times out with its own default
 * result) or `abandon` (ABANDON: Auto Scaling terminates the instance and launches another).
 *
 * Instances of clusters this function does not manage (or without MANAGED_TAG), and nodes labelled
 * eks-spot-drainer/exclude=true, are left alone: their hook may be another tool's. The event is trusted for nothing Auto Scaling does not check: the action is addressed by
 * its token, which Auto Scaling accepts only while that very action is pending.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import {
  completeLifecycleAction,
  type LifecycleCallOutcome,
  LifecycleResult,
  recordLifecycleHeartbeat,
  startHeartbeats,
} from '../aws/asg-lifecycle.js';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import { defaultLaunchHookConfig, type LaunchHookConfig, LaunchTimeoutAction } from '../config.js';
import { TransientError } from '../errors.js';
import { readySinceLaunch } from '../interruption/reasons.js';
import { nodeFacts } from '../interruption/world.js';
import { httpStatusOf } from '../kube/api-errors.js';
import { belongsTo } from '../kube/node-lookup.js';
import { retryKube } from '../kube/retry-kube.js';
import { describeError } from '../observability/redact.js';
import type { InstanceInfo, ParseOutcome } from '../types.js';
import type { AppDeps, Invocation } from './app-types.js';
import { kubeletPollMs } from './handle-running.js';
import { optOutLabel } from './resolve-target.js';

/** Kept back from the invocation's deadline for the call after the wait: a completion or a heartbeat. */
const wrapUpMs = 3_000;

export type LaunchEvent = Extract<ParseOutcome, { status: 'launch' }>;

export interface LaunchReport {
  instanceId: string;
  /**
   * `continued`: completed CONTINUE, the node Ready; `already-ended`: Auto Scaling had no such action
   * pending any more (completed by an earlier delivery, timed out); `abandoned` / `left`: the node was
   * not Ready within the bound (LAUNCH_HOOK_ON_TIMEOUT). The others: the hook is not ours to complete.
   */
  status:
    | 'off'
    | 'no-aws'
    | 'instance-gone'
    | 'not-managed'
    /** The node that joined is labelled eks-spot-drainer/exclude=true: its hook is its owner's. */
    | 'opted-out'
    | 'continued'
    | 'already-ended'
    | 'abandoned'
    | 'left';
  why: string;
  cluster?: string;
  node?: string;
}

/** Completes the launch hook of a managed cluster's instance once its node is Ready; see the module's comment. */
export async function handleLaunch(
  event: LaunchEvent,
  deps: AppDeps & { launchHooks?: LaunchHookConfig },
  invocation: Invocation,
): Promise<LaunchReport> {
  const log = deps.logger.createChild();
  log.appendKeys({
    eventId: event.eventId,
    instanceId: event.instanceId,
    kind: 'asg-launch',
    hook: event.lifecycleAction.lifecycleHookName,
  });
  const report = await settleLaunch(event, deps, deps.launchHooks ?? defaultLaunchHookConfig, invocation);
  const fields = { status: report.status, why: report.why, cluster: report.cluster, node: report.node };
  if (report.status === 'abandoned' || report.status === 'left')
    log.warn('launch hook: node not Ready', fields);
  else if (report.status === 'continued' || report.status === 'already-ended')
    log.info('launch hook', fields);
  else log.debug('launch hook left alone', fields);
  return report;
}

async function settleLaunch(
  event: LaunchEvent,
  deps: AppDeps,
  config: LaunchHookConfig,
  invocation: Invocation,
): Promise<LaunchReport> {
  const { instanceId } = event;
  const done = (status: LaunchReport['status'], why: string, more: Partial<LaunchReport> = {}) => ({
    instanceId,
    status,
    why,
    ...more,
  });
  if (!config.enabled) return done('off', 'ENABLE_ASG_LAUNCH_HOOKS is false');
  const { source, autoScaling } = deps;
  if (!source.instances || !autoScaling) return done('no-aws', 'EC2 and Auto Scaling cannot be asked here');
  const now = deps.now ?? Date.now;
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };
  // A future event time (a clock or a forgery) never lengthens the wait.
  const bound = Math.min(event.eventTime.getTime(), now()) + config.readyWaitMs;
  // Uncached: a new instance is what a cache may not hold yet, or hold from a moment too early.
  const info = await source.instances.refresh(instanceId, call);
  // Whose hook it is cannot be said: left alone, as any instance EC2 does not know (a forged id costs
  // one DescribeInstances, never a retry). By the time the event arrives, the instance has been
  // pending for seconds, and EC2 lists it.
  if (!info) return done('instance-gone', 'EC2 does not know the instance');
  if (info.state === 'shutting-down' || info.state === 'terminated') {
    return done('instance-gone', `EC2 says it is ${info.state}`);
  }
  const cluster =
    source.kind === 'fixed'
      ? source.clusterName
      : resolveManagedCluster(info, source.managedClusters, source.managedTag);
  if (!cluster) return done('not-managed', 'the instance is not in a managed cluster (or lacks MANAGED_TAG)');
  const name = info.privateDnsName || instanceId;
  const more = { cluster, node: name };
  const action = { ...event.lifecycleAction };
  const beats =
    deps.config.lifecycleActionHeartbeatMs > 0
      ? startHeartbeats(autoScaling, action, instanceId, deps.config.lifecycleActionHeartbeatMs, {
          onError: (error) =>
            deps.logger.warn('launch hook heartbeat failed', { error: describeError(error) }),
        })
      : undefined;
  let ready: Joined;
  try {
    const apis = await deps.access.connect(cluster, call);
    const until = Math.min(bound, invocation.deadline - wrapUpMs);
    ready = await waitForReady(apis.core, name, info, until, now, invocation);
  } finally {
    beats?.stop();
  }
  const complete = (result: LifecycleResult) =>
    completeLifecycleAction(autoScaling, action, instanceId, result, call);
  if (ready === 'opted-out') return done('opted-out', `the node is labelled ${optOutLabel}=true`, more);
  if (ready === 'ready') {
    const outcome = await complete(LifecycleResult.Continue);
    return done(ended(outcome, 'continued'), 'the node is Ready', more);
  }
  if (now() < bound) {
    // This invocation must return before the bound: the hook is kept alive for Lambda's retry.
    const outcome = await recordLifecycleHeartbeat(autoScaling, action, instanceId, call);
    if (outcome === 'not-active')
      return done('already-ended', 'Auto Scaling has no such action pending', more);
    throw new TransientError(`launch hook: node ${name} of ${instanceId} not Ready yet; the retry waits on`);
  }
  const why = `the node was not Ready within ${config.readyWaitMs / 1000} s of the launch`;
  if (config.onTimeout === LaunchTimeoutAction.Leave) return done('left', `${why}; left to time out`, more);
  const outcome = await complete(LifecycleResult.Abandon);
  return done(ended(outcome, 'abandoned'), why, more);
}

function ended<T extends LaunchReport['status']>(outcome: LifecycleCallOutcome, status: T) {
  return outcome === 'done' ? status : 'already-ended';
}

type Joined = 'ready' | 'not-ready' | 'opted-out';

/**
 * Reads the node by the name EKS, Karpenter and most AMIs give it until its kubelet is Ready since
 * the instance's launch, or until `until`. A node of that name but of another instance (a stale one
 * of a reused address) is not it.
 */
async function waitForReady(
  core: k8s.CoreV1Api,
  name: string,
  info: InstanceInfo,
  until: number,
  now: () => number,
  invocation: Invocation,
): Promise<Joined> {
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };
  const instance = {
    state: info.state ?? 'unknown',
    ...(info.launchTime ? { launchTime: info.launchTime.getTime() } : {}),
  };
  for (;;) {
    const node = await retryKube(() => readNode(core, name), call);
    const isReady =
      node !== undefined &&
      belongsTo(node, info.instanceId) &&
      readySinceLaunch({ node: nodeFacts(node, now() - Date.now()), instance, fresh: true });
    if (node && belongsTo(node, info.instanceId) && node.metadata?.labels?.[optOutLabel] === 'true') {
      return 'opted-out';
    }
    if (isReady) return 'ready';
    const left = until - now();
    if (left <= 0) return 'not-ready';
    // The last read falls on `until` itself: the bound is then over, or the invocation must wrap up.
    await sleep(
      Math.min(kubeletPollMs, left),
      undefined,
      invocation.signal ? { signal: invocation.signal } : {},
    );
  }
}

async function readNode(core: k8s.CoreV1Api, name: string): Promise<k8s.V1Node | undefined> {
  try {
    return await core.readNode({ name });
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}
