/**
 * aws.events "Scheduled Event": the stack's EventBridge schedule (param reconcileIntervalMinutes).
 * Not a notice: a trigger to reconcile every managed cluster's marked nodes. Forging one does no
 * harm: a reconcile only carries each node's interruption on from the world as it is.
 */
import type { EventParser } from './parser.js';

export const scheduledReconcileParser: EventParser = {
  source: 'aws.events',
  detailType: 'Scheduled Event',
  parse(event) {
    return {
      status: 'reconcile',
      eventId: event.id,
      account: event.account,
      region: event.region,
      time: event.time,
    };
  },
};
