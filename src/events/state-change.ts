/**
 * aws.ec2 "EC2 Instance State-change Notification": the instance is stopping or going away.
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
/** States that mean the instance is (re)starting: well-formed, nothing to do. */
export const STARTING_STATES = ['pending', 'running'] as const;

const detailSchema = z.object({
  'instance-id': instanceIdSchema,
  state: z.enum([...LEAVING_STATES, ...STARTING_STATES], {
    error: 'expected an EC2 instance state (pending, running, stopping, stopped, shutting-down, terminated)',
  }),
});

/** Parses instance state changes; pending and running are ignored. */
export const stateChangeParser: EventParser = {
  source: 'aws.ec2',
  detailType: 'EC2 Instance State-change Notification',
  parse(event) {
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const { state } = result.data;
    if (state === 'pending' || state === 'running') {
      return ignored(event, `instance state "${state}" needs no action`);
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
