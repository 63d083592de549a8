/**
 * aws.ec2 "EC2 Instance State-change Notification": the instance is stopping or going away, or
 * runs again (a node this project marked then comes back into service at once).
 *
 * detail: { "instance-id": "i-…", "state": "pending" | "running" | "stopping" | "stopped" |
 *           "shutting-down" | "terminated" }
 */
import { NoticeKind } from '../types.js';
import * as z from '../zod.js';
import { instanceIdSchema } from './envelope.js';
import { type EventParser, ignored, invalidDetail, noticeBase, notices } from './parser.js';

/** States that mean the node is leaving: these become notices. */
export const LEAVING_STATES = ['stopping', 'stopped', 'shutting-down', 'terminated'] as const;
/** States that mean the instance is (re)starting: `running` may give a marked node back. */
export const STARTING_STATES = ['pending', 'running'] as const;

const detailSchema = z.object({
  'instance-id': instanceIdSchema,
  state: z.enum([...LEAVING_STATES, ...STARTING_STATES], {
    error: 'expected an EC2 instance state (pending, running, stopping, stopped, shutting-down, terminated)',
  }),
});

/** Parses instance state changes; pending is ignored (running follows it). */
export const stateChangeParser: EventParser = {
  source: 'aws.ec2',
  detailType: 'EC2 Instance State-change Notification',
  parse(event) {
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const { state } = result.data;
    if (state === 'pending') return ignored(event, 'instance state "pending" needs no action');
    if (state === 'running') {
      const { eventId, account, region } = noticeBase(event);
      return { status: 'running', eventId, instanceId: result.data['instance-id'], account, region };
    }
    return notices({
      kind: NoticeKind.StateChange,
      instanceId: result.data['instance-id'],
      ...noticeBase(event),
      deadline: undefined,
      detail: state,
    });
  },
};
