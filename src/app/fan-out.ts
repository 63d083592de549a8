/**
 * A Health event that names several instances is handed on, one instance per invocation, after one
 * batched look at EC2 spends no invocation on an instance of no managed cluster.
 */
import { resolveManagedCluster } from '../aws/instance-tags.js';
import { eventForInstance } from '../events/scheduled-change.js';
import { describeError } from '../observability/redact.js';
import { decideAction } from '../policy.js';
import { type InstanceInfo, type InterruptionNotice, NoticeKind } from '../types.js';
import type { AppDeps, Invocation, NoticeReport } from './app-types.js';

/** Hands a one-instance copy of an event to another invocation of the function (in Lambda: an asynchronous self-invoke). */
export type HandOn = (
  event: unknown,
  call: { deadline: number; signal?: AbortSignal; qualifier?: string },
) => Promise<void>;

/** What handing instances on needs of the function's dependencies. */
type FanOutDeps = AppDeps & { fanOut?: HandOn };

/** How long handing the instances of an event to invocations of their own may take. */
const handOffBudgetMs = 5_000;

/**
 * A Health event that names several instances: each gets an invocation of its own (its own timeout,
 * deadline, retries and dead-letter queue), instead of sharing this one's time and connection pool.
 * An instance that could not be handed on is handled here: nothing is lost.
 */
export async function fanOut(
  raw: unknown,
  acted: InterruptionNotice[],
  deps: FanOutDeps,
  invocation: Invocation,
): Promise<{ delegated: NoticeReport[]; local: InterruptionNotice[] }> {
  if (!deps.fanOut || acted.length < 2 || acted[0]?.kind !== NoticeKind.ScheduledChange) {
    return { delegated: [], local: acted };
  }
  // A few seconds at most: an instance that cannot be handed on must still have time to be drained here.
  const now = deps.now ?? Date.now;
  const call = {
    deadline: Math.min(invocation.deadline, now() + handOffBudgetMs),
    ...(invocation.signal ? { signal: invocation.signal } : {}),
  };
  const { ours, notOurs } = await managedOnly(acted, deps, call);
  // Through the alias this invocation came by (provisioned concurrency): its warm instances, retries
  // and dead-letter queue are the alias's.
  const target = invocation.qualifier ? { ...call, qualifier: invocation.qualifier } : call;
  const handedOn = await Promise.allSettled(
    ours.map((notice) =>
      deps.fanOut!(eventForInstance(raw as Record<string, unknown>, notice.instanceId), target),
    ),
  );
  const delegated: NoticeReport[] = [...notOurs];
  const local: InterruptionNotice[] = [];
  handedOn.forEach((outcome, index) => {
    const notice = ours[index]!;
    if (outcome.status === 'fulfilled') {
      delegated.push({
        kind: notice.kind,
        instanceId: notice.instanceId,
        action: decideAction(notice, deps.config.policy),
        status: 'delegated',
      });
    } else {
      deps.logger.warn('could not hand the instance to an invocation of its own; handling it here', {
        eventId: notice.eventId,
        instanceId: notice.instanceId,
        error: describeError(outcome.reason),
      });
      local.push(notice);
    }
  });
  deps.metrics.fannedOut(delegated.length - notOurs.length);
  deps.logger.info('event fanned out: one invocation per instance', {
    eventId: acted[0]?.eventId,
    delegated: delegated.length - notOurs.length,
    here: local.length,
    notOurs: notOurs.length,
  });
  return { delegated, local };
}

/**
 * The notices whose instance EC2 puts in a managed cluster, found in one batched call before any
 * invocation is spent on them; the others are reported as skipped here, as their own invocation
 * would report them. If EC2 cannot be asked now, every notice is handed on as it came.
 */
async function managedOnly(
  notices: InterruptionNotice[],
  deps: FanOutDeps,
  call: { deadline: number; signal?: AbortSignal },
): Promise<{ ours: InterruptionNotice[]; notOurs: NoticeReport[] }> {
  const { source } = deps;
  if (source.kind !== 'ec2-tags') return { ours: notices, notOurs: [] };
  let known: Map<string, InstanceInfo>;
  try {
    known = await source.instances.getMany(
      notices.map((n) => n.instanceId),
      call,
    );
  } catch (error) {
    deps.logger.warn('could not ask EC2 about the instances before handing them on', {
      eventId: notices[0]?.eventId,
      error: describeError(error),
    });
    return { ours: notices, notOurs: [] };
  }
  const ours: InterruptionNotice[] = [];
  const notOurs: NoticeReport[] = [];
  for (const notice of notices) {
    const info = known.get(notice.instanceId);
    const skipped = (reason: string, detail: string) =>
      notOurs.push({
        kind: notice.kind,
        instanceId: notice.instanceId,
        action: decideAction(notice, deps.config.policy),
        status: 'skipped',
        reason,
        detail,
      });
    if (!info) skipped('instance-gone', 'EC2 no longer knows the instance (or it is terminated)');
    else if (!resolveManagedCluster(info, source.managedClusters, source.managedTag)) {
      const tagged = info.clusterNames.length > 0 ? info.clusterNames.join(', ') : 'no cluster tag';
      skipped('not-managed', `instance belongs to ${tagged}`);
    } else ours.push(notice);
  }
  return { ours, notOurs };
}
