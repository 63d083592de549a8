/**
 * eks-spot-drainer "Drain Handed Off": sent by this function to itself (an asynchronous self-invoke)
 * when a drain must outlast the invocation that holds it. Not a notice: a trigger to look at one node
 * of one cluster, as the reconcile would, so that the fresh invocation takes the drain over at once.
 * Forging one does no harm: a look only carries the node's interruption on from the world as it is,
 * and only a cluster this deployment manages is looked at.
 *
 * detail: { cluster, node, from: the request id of the invocation that handed the drain on }
 */
import * as z from '../zod.js';
import { type EventParser, invalidDetail } from './parser.js';

export const handOffSource = 'eks-spot-drainer';
export const handOffDetailType = 'Drain Handed Off';

// Cluster names are at most 100 characters; node names are DNS subdomains (253).
const detailSchema = z.object({
  cluster: z.string().check(z.minLength(1), z.maxLength(100), z.regex(/^[0-9A-Za-z][A-Za-z0-9_-]*$/)),
  node: z.string().check(z.minLength(1), z.maxLength(253), z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)),
  from: z.string().check(z.minLength(1), z.maxLength(128)),
});

export const drainHandOffParser: EventParser = {
  source: handOffSource,
  detailType: handOffDetailType,
  parse(event) {
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const { cluster, node, from } = result.data;
    return {
      status: 'hand-off',
      eventId: event.id,
      account: event.account,
      region: event.region,
      cluster,
      node,
      from,
    };
  },
};

/** The event a holder sends to hand its drain on (read back by drainHandOffParser). */
export function handOffEvent(
  target: { cluster: string; node: string },
  from: { invocationId: string; account: string; region: string },
  now: Date,
): Record<string, unknown> {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': handOffDetailType,
    source: handOffSource,
    account: from.account,
    time: now.toISOString(),
    region: from.region,
    resources: [],
    detail: { cluster: target.cluster, node: target.node, from: from.invocationId },
  };
}
