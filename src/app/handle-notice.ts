import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { type InstanceStateSource, notRunningStates } from '../aws/instance-states.js';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import { completeLifecycleAction, LifecycleResult } from '../aws/lifecycle.js';
import type { Config } from '../config.js';
import { type DrainContext, type DrainProgress, type DrainRequest, drainNode } from '../drain/drain-node.js';
import { isNodeReady } from '../drain/lease.js';
import { removeHooks } from '../drain/lease-store.js';
import { type DrainResult, drainResult, noTimings } from '../drain/result.js';
import { TransientError } from '../errors.js';
import type { ClusterAccess } from '../kube/cluster-access.js';
import type { KubeApis } from '../kube/connection.js';
import { freePodsOfGoneNode } from '../lifecycle/out-of-service.js';
import { closeScheduledChange } from '../lifecycle/scheduled.js';
import type { Notifier } from '../notify/types.js';
import type { MetricsSink } from '../observability/metrics.js';
import { decideAction } from '../policy.js';
import { Action, type DrainTarget, type InterruptionNotice, NoticeKind } from '../types.js';
import { drainDeadline } from './deadline.js';
import { autoScalingHooks, hookKey, hookOf } from './lifecycle-hooks.js';
import { type ClusterSource, resolveTarget } from './resolve-target.js';

export interface AppDeps {
  config: Pick<Config, 'policy' | 'drain' | 'lifecycleHeartbeatMs' | 'lifecycle'>;
  source: ClusterSource;
  access: ClusterAccess;
  /** Undefined where no Auto Scaling is reachable (local runs): lifecycle actions are then left alone. */
  autoScaling: AutoScalingClient | undefined;
  /**
   * EC2's current state of instances, uncached: an instance is treated as gone (its pods freed with
   * the out-of-service taint) only when EC2 says so. Undefined where EC2 is not reachable (local runs).
   */
  instanceStates?: InstanceStateSource;
  notifier: Notifier;
  logger: Logger;
  metrics: MetricsSink;
  now?: () => number;
  onProgress?: (notice: InterruptionNotice, progress: DrainProgress) => void;
  /** Lease renewal and takeover timing (tests shorten it). */
  timing?: DrainContext['timing'];
}

/** One invocation: who it is, and when it must have returned (the Lambda timeout minus a reserve). */
export interface Invocation {
  id: string;
  deadline: number;
  signal?: AbortSignal;
  /** The function's own account and region (from its ARN): events from elsewhere are dropped. Unset: not checked (local runs). */
  account?: string;
  region?: string;
}

export type LifecycleStatus =
  | 'completed'
  | 'already-ended'
  | 'left-to-lease-holder'
  | 'completed-by-lease-holder'
  | 'not-ours';

export type NoticeReport = {
  kind: NoticeKind;
  instanceId: string;
  action: Action;
  lifecycle?: LifecycleStatus;
} & (
  | { status: 'no-action' }
  /** Handed to an invocation of its own (a Health event naming several instances is fanned out). */
  | { status: 'delegated' }
  | { status: 'skipped'; reason: string; detail: string }
  | { status: 'done'; target: DrainTarget; result: DrainResult }
);

const kindTitles: Record<NoticeKind, string> = {
  'spot-interruption': 'EC2 Spot Instance Interruption Warning',
  'rebalance-recommendation': 'EC2 Instance Rebalance Recommendation',
  'state-change': 'EC2 Instance State-change Notification',
  'scheduled-change': 'AWS Health scheduled change',
  'asg-terminate': 'Auto Scaling terminate lifecycle action',
  'capacity-reservation-interruption': 'EC2 Capacity Reservation Instance Interruption Warning',
};

type Call = { deadline: number; signal?: AbortSignal };

/**
 * Acts on one notice: policy, cluster and node, then what the notice means for the node's
 * interruption (drain it, record a scheduled change, undo a closed one, free the pods of an instance
 * that is gone), then the lifecycle action. Returns what happened; throws when something failed that
 * a retry of the event may fix.
 */
export async function handleNotice(
  notice: InterruptionNotice,
  deps: AppDeps,
  invocation: Invocation,
): Promise<NoticeReport> {
  const now = deps.now ?? Date.now;
  const log = deps.logger.createChild();
  log.appendKeys({ eventId: notice.eventId, kind: notice.kind, instanceId: notice.instanceId });
  deps.metrics.noticeReceived(notice.kind);
  const base = { kind: notice.kind, instanceId: notice.instanceId };
  const action = decideAction(notice, deps.config.policy);
  const call: Call = {
    deadline: invocation.deadline,
    ...(invocation.signal ? { signal: invocation.signal } : {}),
  };

  if (action === Action.None) {
    log.info('notice needs no action by policy', { detail: notice.detail });
    const owner = notice.lifecycle ? await ownerOf(notice, deps.source, call) : 'not-ours';
    const lifecycle = await finishOwnLifecycle(notice, deps, log, call, owner);
    return { ...base, action, status: 'no-action', ...(lifecycle ? { lifecycle } : {}) };
  }

  const resolution = await resolveTarget(notice, deps.source, deps.access, call);
  if (resolution.status === 'skipped') {
    if (resolution.clusterName) log.appendKeys({ cluster: resolution.clusterName });
    log.info('nothing to drain', { reason: resolution.reason, detail: resolution.detail });
    // An instance of ours whose node is already gone may go; someone else's hook is theirs to end.
    const ours = resolution.reason === 'node-not-found' ? 'ours' : 'not-ours';
    const lifecycle = await finishOwnLifecycle(notice, deps, log, call, ours);
    return {
      ...base,
      action,
      status: 'skipped',
      reason: resolution.reason,
      detail: resolution.detail,
      ...(lifecycle ? { lifecycle } : {}),
    };
  }

  const { target, apis } = resolution;
  log.appendKeys({ cluster: target.clusterName, node: target.nodeName });
  const deadline = drainDeadline(notice, now(), deps.config.drain.noDeadlineBudgetMs, invocation.deadline);
  const hooks = autoScalingHooks(deps.autoScaling, call, log, deps.config.lifecycleHeartbeatMs, [notice]);
  const info = {
    ...target,
    kind: notice.kind,
    eventId: notice.eventId,
    deadline: new Date(deadline),
    action,
    dryRun: deps.config.drain.dryRun,
  };
  const started: Promise<unknown>[] = [];
  const request: DrainRequest = {
    nodeName: target.nodeName,
    kind: notice.kind,
    eventId: notice.eventId,
    action,
    deadline,
    holder: invocation.id,
    node: resolution.node,
    noticeMessage: `${kindTitles[notice.kind]}${notice.detail ? ` (${notice.detail})` : ''} for ${notice.instanceId} at ${notice.eventTime.toISOString()}; event ${notice.eventId}`,
    ...(notice.detail ? { detail: notice.detail } : {}),
    ...(hookOf(notice) ? { hook: hookOf(notice) } : {}),
    ...scheduledPart(notice, deps.config.lifecycle, now()),
  };
  const context: DrainContext = {
    apis,
    options: deps.config.drain,
    now,
    hooks,
    ...(invocation.signal ? { signal: invocation.signal } : {}),
    ...(deps.timing ? { timing: deps.timing } : {}),
    onProgress: (progress) => {
      if (progress.type === 'phase' && progress.phase === 'list') {
        log.info('drain started');
        started.push(deps.notifier.drainStarted(info));
      }
      if (progress.type === 'pod' && ['blocked', 'failed', 'stuck', 'returned'].includes(progress.status)) {
        log.info(`pod ${progress.status}`, { pod: progress.pod, detail: progress.detail });
      }
      if (progress.type === 'lease') log.info('lease', { detail: progress.detail });
      deps.onProgress?.(notice, progress);
    },
  };
  log.info('node found', { via: resolution.via, action, deadline: new Date(deadline).toISOString() });

  let result: DrainResult;
  try {
    result = await actOnNode(notice, request, context, apis, deps, log, call, resolution.node);
  } finally {
    hooks.stop();
  }

  logResult(log, result);
  deps.metrics.drainFinished({
    outcome: result.outcome,
    podsEvicted: result.counts.evicted,
    podsBlocked: result.counts.blocked + result.counts['still-terminating'],
    podsFailed: result.counts.failed + result.counts.stuck + result.counts.returned,
    durationMs: result.timings.totalMs,
    timeLeftMs: result.timeLeftMs,
  });
  if (started.length > 0) {
    const summary = {
      outcome: result.outcome,
      evicted: result.counts.evicted + result.counts['already-terminating'] + result.counts.gone,
      skipped: result.counts.skipped,
      blocked: result.counts.blocked + result.counts['still-terminating'],
      failed: result.counts.failed + result.counts.stuck + result.counts.returned,
      durationMs: result.timings.totalMs,
      timeLeftMs: result.timeLeftMs,
    };
    const statuses = await Promise.all([...started, deps.notifier.drainFinished(info, summary)]);
    for (const status of statuses as { status: string; reason?: string }[]) {
      if (status.status === 'failed') log.warn('notification failed', { reason: status.reason });
    }
  }
  const lifecycle = await settleLifecycle(
    notice,
    result,
    hooks.completed,
    apis,
    target.nodeName,
    deps,
    log,
    call,
  );
  return { ...base, action, status: 'done', target, result, ...(lifecycle ? { lifecycle } : {}) };
}

/**
 * What the notice does to the node: undo a closed Health change, free the pods of an instance that
 * EC2 reports gone and whose kubelet stopped, or drain (or cordon, or record) through the lease.
 */
async function actOnNode(
  notice: InterruptionNotice,
  request: DrainRequest,
  context: DrainContext,
  apis: KubeApis,
  deps: AppDeps,
  log: Logger,
  call: Call,
  node: DrainRequest['node'] & object,
): Promise<DrainResult> {
  const now = deps.now ?? Date.now;
  if (notice.health?.status === 'closed') {
    const outcome = await closeScheduledChange(apis, node, notice.health.eventArn, request.holder, now);
    log.info('scheduled change closed', { eventArn: notice.health.eventArn, outcome });
    return plainResult(request, outcome, now);
  }
  const goneCheck = notice.kind === NoticeKind.StateChange && deps.config.lifecycle.outOfServiceTaint;
  const instanceGone = async () => {
    if (!deps.instanceStates) return undefined;
    const state = (await deps.instanceStates([notice.instanceId], call)).get(notice.instanceId)?.state;
    return state && notRunningStates.has(state) ? state : undefined;
  };
  const free = async (state: string) => {
    const freed = await freePodsOfGoneNode(
      apis,
      node,
      { ...request, reason: `EC2 says ${state} and the kubelet has stopped` },
      deps.config.drain,
      context.hooks,
      now,
    );
    log.info('instance gone', {
      state,
      outcome: freed.status,
      ...('podsBound' in freed ? { podsBound: freed.podsBound } : {}),
    });
    return plainResult(
      request,
      freed.status === 'tainted'
        ? 'out-of-service'
        : freed.status === 'node-gone'
          ? 'node-gone'
          : 'already-done',
      now,
    );
  };
  if (goneCheck && !isNodeReady(node)) {
    const state = await instanceGone();
    if (state) return free(state);
  }
  const result = await drainNode({ ...request, ...(goneCheck ? { stopWhenNotReady: true } : {}) }, context);
  if (result.outcome === 'node-not-ready') {
    // The kubelet stopped during the drain: the pods it evicted can no longer finish. Ask EC2 again.
    const state = await instanceGone();
    if (state) return { ...(await free(state)), pods: result.pods, counts: result.counts };
  }
  return result;
}

/** For Health notices: the scheduled change, and whether it is only recorded now (it is far ahead). */
function scheduledPart(
  notice: InterruptionNotice,
  lifecycle: AppDeps['config']['lifecycle'],
  now: number,
): Pick<DrainRequest, 'scheduled' | 'recordOnly'> {
  if (notice.kind !== NoticeKind.ScheduledChange || !notice.health || !notice.deadline) return {};
  const start = notice.deadline.getTime();
  const drainAt = start - lifecycle.scheduledDrainLeadMs;
  const scheduled = {
    eventArn: notice.health.eventArn,
    start: notice.deadline.toISOString(),
    drainAt: new Date(drainAt).toISOString(),
  };
  return drainAt > now
    ? { scheduled, recordOnly: { cordon: lifecycle.scheduledCordonAtNotice } }
    : { scheduled };
}

/** A result for notices that drained nothing themselves (a closed change, an instance gone). */
function plainResult(request: DrainRequest, outcome: DrainResult['outcome'], now: () => number): DrainResult {
  return drainResult(request, outcome, [], noTimings(), request.deadline, now());
}

/**
 * The notice's own lifecycle hook, after the node: completed by the drain that ended (whoever ran
 * it), left to the running holder (recorded on its lease), or completed here. A hook that could not
 * be completed fails the invocation, so the event is retried (and kept in the dead-letter queue).
 */
async function settleLifecycle(
  notice: InterruptionNotice,
  result: DrainResult,
  completed: Map<string, 'completed' | 'already-ended'>,
  apis: KubeApis,
  nodeName: string,
  deps: AppDeps,
  log: Logger,
  call: Call,
): Promise<LifecycleStatus | undefined> {
  const hook = hookOf(notice);
  if (!hook || notice.kind !== NoticeKind.AsgTerminate) return undefined;
  const done = completed.get(hookKey(hook));
  if (done) return done;
  const pending = result.hooksPending?.some((h) => hookKey(h) === hookKey(hook)) ?? false;
  if (result.outcome === 'in-progress-elsewhere') {
    // Recorded on the holder's lease: it completes it when its drain ends (or a takeover does).
    if (result.leaseState === 'draining') return 'left-to-lease-holder';
    // This invocation stood by until the holder ended its drain, and the holder completed it.
    if (!pending) return 'completed-by-lease-holder';
  } else if (pending) {
    throw new TransientError(
      `lifecycle action ${hook.lifecycleHookName} for ${hook.instanceId} not completed`,
    );
  }
  // The drain is over (before, or by another invocation): complete it here, and take it off the lease.
  const lifecycle = await finishOwnLifecycle(notice, deps, log, call, 'ours');
  await removeHooks(apis.core, nodeName, [hook]).catch(() => {});
  return lifecycle;
}

/** Whether the instance belongs to a cluster this deployment manages (its hook is then ours to end). */
async function ownerOf(
  notice: InterruptionNotice,
  source: ClusterSource,
  call: Call,
): Promise<'ours' | 'not-ours'> {
  if (source.kind === 'fixed') return 'ours';
  const instance = await source.instances.get(notice.instanceId, call);
  return instance && resolveManagedCluster(instance, source.managedClusters) ? 'ours' : 'not-ours';
}

async function finishOwnLifecycle(
  notice: InterruptionNotice,
  deps: AppDeps,
  log: Logger,
  call: Call,
  owner: 'ours' | 'not-ours',
): Promise<LifecycleStatus | undefined> {
  if (!notice.lifecycle || notice.kind !== NoticeKind.AsgTerminate) return undefined;
  if (owner === 'not-ours' || !deps.autoScaling) return 'not-ours';
  const outcome = await completeLifecycleAction(
    deps.autoScaling,
    notice.lifecycle,
    notice.instanceId,
    LifecycleResult.Continue,
    call,
  );
  log.info('lifecycle action completed', { hook: notice.lifecycle.lifecycleHookName, outcome });
  return outcome === 'done' ? 'completed' : 'already-ended';
}

function logResult(log: Logger, result: DrainResult): void {
  const leftBehind = result.pods
    .filter((p) => ['blocked', 'still-terminating', 'failed', 'stuck', 'returned'].includes(p.outcome))
    .map((p) => ({ pod: `${p.namespace}/${p.name}`, outcome: p.outcome, pdb: p.pdb, reason: p.reason }));
  const fields = {
    outcome: result.outcome,
    counts: result.counts,
    timings: result.timings,
    timeLeftMs: result.timeLeftMs,
    ...(result.leaseHolder ? { leaseHolder: result.leaseHolder } : {}),
    ...(result.leaseState ? { leaseState: result.leaseState } : {}),
    ...(leftBehind.length > 0 ? { podsLeft: leftBehind } : {}),
  };
  if (leftBehind.length > 0) log.warn('drain finished with pods left', fields);
  else log.info('drain finished', fields);
}
