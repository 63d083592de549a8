/**
 * aws.ec2 "EC2 Capacity Reservation Instance Interruption Warning": an interruptible Capacity
 * Reservation is being reclaimed; EC2 terminates the instance two minutes after this.
 *
 * detail: { "instance-id": "i-…", "instance-action": "terminate",
 *           "instance-termination-time": "2025-06-05T07:02:00Z", "azId": "use1-az1" }
 *
 * Only instance-id is required. The documented optional fields are tolerated: a readable
 * instance-termination-time is the deadline, otherwise time + 2 minutes (a real warning is never
 * dropped because an optional field is odd).
 */
import { NoticeKind } from '../types.js';
import * as z from '../zod.js';
import { instanceIdSchema, parseHealthTime } from './envelope.js';
import { type EventParser, invalidDetail, noticeBase, notices, TWO_MINUTES_MS } from './parser.js';

const detailSchema = z.object({
  'instance-id': instanceIdSchema,
  'instance-action': z.optional(z.unknown()),
  'instance-termination-time': z.optional(z.unknown()),
});

const INSTANCE_ACTION = /^[a-z][a-z-]{0,31}$/;

/** Parses capacity reservation interruption warnings. */
export const capacityReservationInterruptionParser: EventParser = {
  source: 'aws.ec2',
  detailType: 'EC2 Capacity Reservation Instance Interruption Warning',
  parse(event) {
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const action = result.data['instance-action'];
    const terminationTime = parseHealthTime(result.data['instance-termination-time']);
    return notices({
      kind: NoticeKind.CapacityReservationInterruption,
      instanceId: result.data['instance-id'],
      ...noticeBase(event),
      deadline: terminationTime ?? new Date(event.time.getTime() + TWO_MINUTES_MS),
      ...(typeof action === 'string' && INSTANCE_ACTION.test(action) ? { detail: action } : {}),
    });
  },
};
