/**
 * aws.ec2 "EC2 Instance Rebalance Recommendation": the Spot instance is at elevated risk of
 * interruption; no deadline is set.
 *
 * detail: { "instance-id": "i-…" }
 */
import { NoticeKind } from '../types.js';
import * as z from '../zod.js';
import { instanceIdSchema } from './envelope.js';
import { type EventParser, invalidDetail, noticeBase, notices } from './parser.js';

const detailSchema = z.object({ 'instance-id': instanceIdSchema });

/** Parses rebalance recommendations. */
export const rebalanceRecommendationParser: EventParser = {
  source: 'aws.ec2',
  detailType: 'EC2 Instance Rebalance Recommendation',
  parse(event) {
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    return notices({
      kind: NoticeKind.RebalanceRecommendation,
      instanceId: result.data['instance-id'],
      ...noticeBase(event),
      deadline: undefined,
    });
  },
};
