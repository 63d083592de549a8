import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import { completeLifecycleAction, LifecycleResult, startHeartbeats } from '../aws/lifecycle.js';
import type { Config } from '../config.js';
import { type DrainProgress, drainNode } from '../drain/drain-node.js';
import type { DrainResult } from '../drain/result.js';
import type { ClusterAccess } from '../kube/cluster-access.js';
import type { Notifier } from '../notify/types.js';
import type { MetricsSink } from '../observability/metrics.js';
import { describeError } from '../observability/redact.js';
import { decideAction } from '../policy.js';
import { Action, type DrainTarget, type InterruptionNotice, NoticeKind } from '../types.js';
import { drainDeadline } from './deadline.js';
import { type ClusterSource, resolveTarget } from './resolve-target.js';

export interface AppDeps {
  config: Pick<Config, 'policy' | 'drain' | 'lifecycleHeartbeatMs'>;
  source: ClusterSource;
  access: ClusterAccess;
  /** Undefined where no Auto Scaling is reachable (local runs): lifecycle actions are then left alone. */
  autoScaling: AutoScalingClient | undefined;
  notifier: Notifier;
  logger: Logger;
  metrics: MetricsSink;
  now?: () => number;
  onProgress?: (notice: InterruptionNotice, progress: DrainProgress) => void;
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

export type LifecycleStatus = 'completed' | 'already-ended' | 'left-to-lease-holder' | 'not-ours';

export type NoticeReport = {
  kind: NoticeKind;
  instanceId: string;
  action: Action;
  lifecycle?: LifecycleStatus;
} & (
  | { status: 'no-action' }
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

/**
 * Acts on one notice: policy, cluster and node, drain, then the lifecycle action. Returns what
 * happened; throws when something failed that a retry of the event may fix.
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
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };

  if (action === Action.None) {
    log.info('notice needs no action by policy', { detail: notice.detail });
    const owner = notice.lifecycle ? await ownerOf(notice, deps.source, call) : 'not-ours';
    const lifecycle = await finishLifecycle(notice, deps, log, call, owner);
    return { ...base, action, status: 'no-action', ...(lifecycle ? { lifecycle } : {}) };
  }

  const resolution = await resolveTarget(notice, deps.source, deps.access, call);
  if (resolution.status === 'skipped') {
    if (resolution.clusterName) log.appendKeys({ cluster: resolution.clusterName });
    log.info('nothing to drain', { reason: resolution.reason, detail: resolution.detail });
    // An instance of ours whose node is already gone may go; someone else's hook is theirs to end.
    const ours = resolution.reason === 'node-not-found' ? 'ours' : 'not-ours';
    const lifecycle = await finishLifecycle(notice, deps, log, call, ours);
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
  log.info('node found', { via: resolution.via, action, deadline: new Date(deadline).toISOString() });

  const info = {
    ...target,
    kind: notice.kind,
    eventId: notice.eventId,
    deadline: new Date(deadline),
    action,
    dryRun: deps.config.drain.dryRun,
  };
  const started: Promise<unknown>[] = [];
  const heartbeats =
    notice.lifecycle && deps.autoScaling && deps.config.lifecycleHeartbeatMs > 0
      ? startHeartbeats(
          deps.autoScaling,
          notice.lifecycle,
          notice.instanceId,
          deps.config.lifecycleHeartbeatMs,
          {
            onError: (error) => log.warn('lifecycle heartbeat failed', { error: describeError(error) }),
          },
        )
      : undefined;
  let result: DrainResult;
  try {
    result = await drainNode(
      {
        nodeName: target.nodeName,
        kind: notice.kind,
        eventId: notice.eventId,
        action,
        deadline,
        holder: invocation.id,
        node: resolution.node,
        noticeMessage: `${kindTitles[notice.kind]}${notice.detail ? ` (${notice.detail})` : ''} for ${notice.instanceId} at ${notice.eventTime.toISOString()}; event ${notice.eventId}`,
      },
      {
        apis,
        options: deps.config.drain,
        now,
        ...(invocation.signal ? { signal: invocation.signal } : {}),
        onProgress: (progress) => {
          if (progress.type === 'phase' && progress.phase === 'list') {
            log.info('drain started');
            started.push(deps.notifier.drainStarted(info));
          }
          if (progress.type === 'pod' && (progress.status === 'blocked' || progress.status === 'failed')) {
            log.info(`pod ${progress.status}`, { pod: progress.pod, detail: progress.detail });
          }
          deps.onProgress?.(notice, progress);
        },
      },
    );
  } finally {
    heartbeats?.stop();
  }

  logResult(log, result);
  deps.metrics.drainFinished({
    outcome: result.outcome,
    podsEvicted: result.counts.evicted,
    podsBlocked: result.counts.blocked + result.counts['still-terminating'],
    podsFailed: result.counts.failed,
    durationMs: result.timings.totalMs,
    timeLeftMs: result.timeLeftMs,
  });
  if (started.length > 0) {
    const summary = {
      outcome: result.outcome,
      evicted: result.counts.evicted + result.counts['already-terminating'],
      skipped: result.counts.skipped,
      blocked: result.counts.blocked + result.counts['still-terminating'],
      failed: result.counts.failed,
      durationMs: result.timings.totalMs,
      timeLeftMs: result.timeLeftMs,
    };
    const statuses = await Promise.all([...started, deps.notifier.drainFinished(info, summary)]);
    for (const status of statuses as { status: string; reason?: string }[]) {
      if (status.status === 'failed') log.warn('notification failed', { reason: status.reason });
    }
  }
  // The lease holder completes the hook once its drain ends; a duplicate must not end it early.
  const lifecycle =
    result.outcome === 'in-progress-elsewhere'
      ? notice.lifecycle
        ? ('left-to-lease-holder' as const)
        : undefined
      : await finishLifecycle(notice, deps, log, call, 'ours');
  return { ...base, action, status: 'done', target, result, ...(lifecycle ? { lifecycle } : {}) };
}

/** Whether the instance belongs to a cluster this deployment manages (its hook is then ours to end). */
async function ownerOf(
  notice: InterruptionNotice,
  source: ClusterSource,
  call: { deadline: number; signal?: AbortSignal },
): Promise<'ours' | 'not-ours'> {
  if (source.kind === 'fixed') return 'ours';
  const instance = await source.instances.get(notice.instanceId, call);
  return instance && resolveManagedCluster(instance, source.managedClusters) ? 'ours' : 'not-ours';
}

async function finishLifecycle(
  notice: InterruptionNotice,
  deps: AppDeps,
  log: Logger,
  call: { deadline: number; signal?: AbortSignal },
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
    .filter((p) => ['blocked', 'still-terminating', 'failed'].includes(p.outcome))
    .map((p) => ({ pod: `${p.namespace}/${p.name}`, outcome: p.outcome, pdb: p.pdb, reason: p.reason }));
  const fields = {
    outcome: result.outcome,
    counts: result.counts,
    timings: result.timings,
    timeLeftMs: result.timeLeftMs,
    ...(result.leaseHolder ? { leaseHolder: result.leaseHolder } : {}),
    ...(leftBehind.length > 0 ? { podsLeft: leftBehind } : {}),
  };
  if (leftBehind.length > 0) log.warn('drain finished with pods left', fields);
  else log.info('drain finished', fields);
}
