/**
 * Drains longer than one invocation: a holder about to reach its invocation's end hands the drain on
 * (its record says so, src/interruption/on-holder.ts) and sends this function an event naming the
 * node; the invocation that gets it looks at the node and takes the drain over at once. A lost event
 * loses nothing: the record stays handed off, and the reconcile's next look takes the drain.
 */
import { handOffEvent } from '../events/drain-hand-off.js';
import type { AppDeps, ContinueDrain } from './app-types.js';
import type { HandOn } from './fan-out.js';
import { countsOf } from './notice-result.js';
import type { ClusterReconcileReport } from './reconcile-all.js';

/** How long sending the hand-off may take: it is sent in the last seconds of the invocation. */
const sendBudgetMs = 5_000;

/**
 * Hand-offs sent as asynchronous self-invokes, through the alias this invocation came by, so the new
 * invocation has the same warm instances, retries and dead-letter queue.
 */
export function continueBySelfInvoke(
  invoke: HandOn,
  region: string,
  now: () => number = Date.now,
): ContinueDrain {
  return async (target, invocation) => {
    if (!invocation.account) throw new Error('hand-off needs the invocation account (the function ARN)');
    const event = handOffEvent(
      target,
      { invocationId: invocation.id, account: invocation.account, region: invocation.region ?? region },
      new Date(now()),
    );
    await invoke(event, {
      deadline: Math.min(invocation.deadline, now() + sendBudgetMs),
      ...(invocation.signal ? { signal: invocation.signal } : {}),
      ...(invocation.qualifier ? { qualifier: invocation.qualifier } : {}),
    });
  };
}

/**
 * The webhook's "drain finished" for the drains a taken-over hand-off ended: the notice's own
 * invocation sent "started" and, handing the drain on, nothing more.
 */
export async function notifyDrainsEnded(
  reports: readonly ClusterReconcileReport[],
  deps: Pick<AppDeps, 'notifier' | 'logger'>,
  now: number,
): Promise<void> {
  const sends = reports.flatMap(({ cluster, nodes }) =>
    nodes.flatMap((node) => {
      const moved = node.report;
      if (!moved?.drain || moved.node !== 'ended' || !node.heldBy) return [];
      const deadline = moved.deadline !== undefined ? new Date(moved.deadline) : undefined;
      const info = {
        clusterName: cluster,
        nodeName: node.node,
        instanceId: node.instanceId ?? '',
        kind: node.heldBy.kind,
        eventId: node.heldBy.eventId,
        deadline,
      };
      const summary = {
        outcome: moved.drain.outcome,
        ...countsOf(moved.drain.counts),
        durationMs: moved.drain.timings.totalMs,
        timeLeftMs: deadline ? deadline.getTime() - now : undefined,
      };
      return [deps.notifier.drainFinished(info, summary)];
    }),
  );
  for (const status of await Promise.all(sends)) {
    if (status.status === 'failed') deps.logger.warn('notification failed', { reason: status.reason });
  }
}
