/**
 * aws.ec2 "EC2 Spot Instance Interruption Warning": EC2 reclaims the instance two minutes after this.
 *
 * detail: { "instance-id": "i-…", "instance-action": "terminate" | "stop" | "hibernate" }
 */
import { NoticeKind } from '../types.js';
import * as z from '../zod.js';
import { instanceIdSchema } from './envelope.js';
import { type EventParser, invalidDetail, noticeBase, notices, TWO_MINUTES_MS } from './parser.js';

const detailSchema = z.object({
  'instance-id': instanceIdSchema,
  'instance-action': z.enum(['terminate', 'stop', 'hibernate'], {
    error: 'expected terminate, stop or hibernate',
  }),
});

/** Parses Spot interruption warnings. Hibernation starts at once, but the notice keeps the nominal 2 minutes. */
export const spotInterruptionParser: EventParser = {
  source: 'aws.ec2',
  detailType: 'EC2 Spot Instance Interruption Warning',
  parse(event) {
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    return notices({
      kind: NoticeKind.SpotInterruption,
      instanceId: result.data['instance-id'],
      ...noticeBase(event),
      deadline: new Date(event.time.getTime() + TWO_MINUTES_MS),
      detail: result.data['instance-action'],
    });
  },
};
