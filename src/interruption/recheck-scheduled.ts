/**
 * Before the reconcile drains a node for a Health scheduled change it recorded days ago, EC2 is asked
 * again whether it still lists that change (DescribeInstanceStatus): a change EC2 cancelled or
 * never had (a forged notice that got past an EC2 that lagged) must not drain a node. Called from
 * the reconcile's due-drain path only; the notice's own check is src/app/confirm-notice.ts.
 */
import type * as k8s from '@kubernetes/client-node';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import { confirmScheduledChanges, type ScheduledEventSource } from '../aws/scheduled-events.js';
import { NoticeKind } from '../types.js';
import { type Reason, recordOn } from './record.js';
import { instanceIdOf } from './world.js';

/** Why a due drain is held back: the `rejected` metric's reason, and how, in a sentence. */
export interface HeldBack {
  reason: 'no-scheduled-event';
  detail: string;
}

/**
 * Undefined when the node's due drain may go ahead: a reason that is not a Health change holds it
 * (that notice was confirmed as it came), or EC2 still lists at least one of its due Health changes.
 * Otherwise what EC2 says instead: the drain waits, the record stays, and the next pass asks again
 * (a Health `closed` takes the change back; EC2 listing it again lets the drain go ahead).
 */
export async function heldBackDueChange(
  node: k8s.V1Node,
  source: ScheduledEventSource,
  now: number,
  call: AwsCallOptions,
): Promise<HeldBack | undefined> {
  const record = recordOn(node);
  const instanceId = instanceIdOf(node);
  if (!record || !instanceId) return undefined;
  const drains = record.reasons.filter((r) => r.action === 'drain');
  if (drains.some((r) => r.kind !== NoticeKind.ScheduledChange || !r.scheduled)) return undefined;
  const due = drains.filter((r) => Date.parse(r.scheduled!.drainAt) <= now);
  if (due.length === 0) return undefined;
  const standings = await confirmScheduledChanges(source, due.map(claimOf(instanceId)), call);
  if (standings.some((s) => s.standing !== 'unconfirmed')) return undefined;
  return { reason: 'no-scheduled-event', detail: standings.map((s) => s.detail).join('; ') };
}

function claimOf(instanceId: string) {
  return (reason: Reason) => ({
    instanceId,
    eventTypeCode: reason.detail,
    start: new Date(reason.scheduled!.start),
  });
}
