import type { Logger } from '@aws-lambda-powertools/logger';
import { decideAction } from '../policy.js';
import { Action, type InterruptionNotice } from '../types.js';
import type { AppDeps, Invocation, NoticeReport } from './app-types.js';
import { autoScalingHooks, heartbeatPlan, settleLifecycleAction } from './asg-hooks.js';
import { confirmNotice } from './confirm-notice.js';
import { drainNode } from './drain-node.js';
import { drainRequestOf } from './notice-input.js';
import { logResult, type NoticeResult, recordMetrics, summaryOf } from './notice-result.js';
import { type Resolution, resolveTarget } from './resolve-target.js';

/**
 * Acts on one notice: AWS's confirmation, policy, cluster and node, then the node's record moves on
 * through its door (src/interruption), then the notice's own lifecycle action. A notice AWS does not
 * confirm touches nothing, its lifecycle action included (completing a forged hook's would end a real
 * one early). Returns what happened; throws when something failed that a retry of the event may fix.
 */
export async function handleNotice(
  notice: InterruptionNotice,
  deps: AppDeps,
  invocation: Invocation,
): Promise<NoticeReport> {
  const log = deps.logger.createChild();
  log.appendKeys({ eventId: notice.eventId, kind: notice.kind, instanceId: notice.instanceId });
  deps.metrics.noticeReceived(notice.kind);
  const action = decideAction(notice, deps.config.policy);
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };
  const base = { kind: notice.kind, instanceId: notice.instanceId, action };
  // A notice that touches nothing (off by policy, no hook to settle) needs no confirmation.
  const confirmed =
    action !== Action.None || notice.lifecycleAction
      ? await confirmNotice(notice, deps.source, call)
      : undefined;
  if (confirmed?.ok === false) {
    return { ...base, status: 'skipped', reason: confirmed.reason, detail: confirmed.detail };
  }
  const settle = (owner: 'ours' | 'not-ours' | 'ask', result?: NoticeResult) =>
    settleLifecycleAction(notice, deps, log, call, owner, result, hooks.completed);
  const hooks = autoScalingHooks(
    deps.autoScaling,
    call,
    log,
    heartbeatPlan(deps.config),
    [notice],
    deps.metrics,
  );
  try {
    if (action === Action.None) {
      log.info('notice needs no action by policy', { detail: notice.detail });
      return { ...base, status: 'no-action', ...(await settle('ask')) };
    }
    const resolution = await resolveTarget(notice, deps.source, deps.access, call, confirmed?.seen);
    if (resolution.status === 'skipped') {
      log.info('nothing to drain', {
        reason: resolution.reason,
        detail: resolution.detail,
        cluster: resolution.clusterName,
      });
      // An instance of ours whose node is already gone may go; someone else's hook is theirs to end.
      const owner = resolution.reason === 'node-not-found' ? 'ours' : 'not-ours';
      return {
        ...base,
        status: 'skipped',
        reason: resolution.reason,
        detail: resolution.detail,
        ...(await settle(owner)),
      };
    }
    log.appendKeys({ cluster: resolution.target.clusterName, node: resolution.target.nodeName });
    const result = await actOnNode(notice, action, resolution, deps, invocation, hooks, log);
    return { ...base, status: 'done', target: resolution.target, result, ...(await settle('ours', result)) };
  } finally {
    hooks.stop();
  }
}

async function actOnNode(
  notice: InterruptionNotice,
  action: Action,
  resolution: Extract<Resolution, { status: 'resolved' }>,
  deps: AppDeps,
  invocation: Invocation,
  hooks: ReturnType<typeof autoScalingHooks>,
  log: Logger,
): Promise<NoticeResult> {
  const now = deps.now ?? Date.now;
  const request = drainRequestOf(notice, action, invocation.id, resolution, now(), deps.config);
  const deadline = Math.min(request.deadline, invocation.deadline);
  log.info('node found', { via: resolution.via, action, deadline: new Date(deadline).toISOString() });
  const info = {
    ...resolution.target,
    kind: notice.kind,
    eventId: notice.eventId,
    deadline: new Date(deadline),
    action,
    dryRun: deps.config.drain.dryRun,
  };
  const started: Promise<unknown>[] = [];
  const result = await drainNode(request, {
    apis: resolution.apis,
    options: deps.config.drain,
    interruption: deps.config.interruption,
    now,
    invocationDeadline: invocation.deadline,
    hooks,
    ...(deps.instanceStates ? { instanceStates: deps.instanceStates } : {}),
    ...(invocation.signal ? { signal: invocation.signal } : {}),
    ...(deps.timing ? { timing: deps.timing } : {}),
    ...(deps.continueDrain
      ? {
          continueElsewhere: (node: string) =>
            deps.continueDrain!({ cluster: resolution.target.clusterName, node }, invocation),
        }
      : {}),
    onProgress: (progress) => {
      if (progress.type === 'phase' && progress.phase === 'list') {
        log.info('drain started');
        started.push(deps.notifier.drainStarted(info));
      }
      if (progress.type === 'pod' && ['blocked', 'failed', 'stuck', 'returned'].includes(progress.status)) {
        log.info(`pod ${progress.status}`, { pod: progress.pod, detail: progress.detail });
      }
      if (progress.type === 'record') log.info('record', { detail: progress.detail });
      deps.onProgress?.(notice, progress);
    },
  });
  logResult(log, result);
  recordMetrics(deps.metrics, result);
  if (started.length > 0) {
    // A drain handed on has not finished: the invocation that ends it sends that (hand-off.ts).
    const finished =
      result.node === 'handed-off' ? [] : [deps.notifier.drainFinished(info, summaryOf(result))];
    const statuses = await Promise.all([...started, ...finished]);
    for (const status of statuses as { status: string; reason?: string }[]) {
      if (status.status === 'failed') log.warn('notification failed', { reason: status.reason });
    }
  }
  return result;
}
