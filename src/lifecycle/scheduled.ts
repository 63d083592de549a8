import type * as k8s from '@kubernetes/client-node';
import { type DrainLease, hasMarks, isNodeReady, LeaseState, readLease } from '../drain/lease.js';
import { guardedUpdate, leaseOnlyPatch, releaseNode } from '../drain/lease-store.js';
import { NodeEventReason, NodeEventRecorder } from '../drain/node-events.js';
import type { KubeApis } from '../kube/connection.js';

/**
 * AWS Health closed a scheduled change (cancelled, or the maintenance is done): undo what it did to
 * the node. At once when nothing is under way and the node is Ready; otherwise the lease records the
 * closing and the reconcile releases the node once its drain is over and it is Ready again.
 */
export async function closeScheduledChange(
  apis: KubeApis,
  node: k8s.V1Node,
  eventArn: string,
  holder: string,
  now: () => number = Date.now,
): Promise<'released' | 'closed' | 'already-done'> {
  const name = node.metadata?.name ?? '';
  const ours = (lease: DrainLease | undefined): lease is DrainLease =>
    lease?.scheduled?.eventArn === eventArn;
  const lease = readLease(node);
  if (!ours(lease)) return 'already-done';
  const releasable = (current: DrainLease) =>
    ours(current) &&
    (current.state === LeaseState.Scheduled ||
      (current.state !== LeaseState.Draining &&
        current.state !== LeaseState.OutOfService &&
        isNodeReady(node)));
  if (releasable(lease)) {
    const released = await releaseNode(apis.core, name, releasable, node);
    if (released === 'released') {
      if (hasMarks(lease)) {
        const events = new NodeEventRecorder(apis.core, node, holder);
        events.record(NodeEventReason.Uncordon, `Health closed ${eventArn}: marks removed`);
        await events.flush();
      }
      return 'released';
    }
  }
  const marked = await guardedUpdate(apis.core, name, (current) => {
    const existing = readLease(current);
    if (!ours(existing) || !existing.scheduled || existing.scheduled.closed) {
      return { done: () => 'already-done' as const };
    }
    return {
      patch: leaseOnlyPatch({
        ...existing,
        scheduled: { ...existing.scheduled, closed: true },
        updatedAt: new Date(now()).toISOString(),
      }),
      done: () => 'closed' as const,
    };
  });
  return marked === 'node-gone' ? 'already-done' : marked;
}
