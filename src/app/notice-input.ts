import type { Config } from '../config.js';
import type { View } from '../interruption/door.js';
import type { NoticeInput } from '../interruption/inputs.js';
import { Action, type InterruptionNotice, NoticeKind } from '../types.js';
import { hookOf } from './asg-hooks.js';
import { drainDeadline } from './deadline.js';
import type { DrainRequest } from './drain-node.js';
import type { Resolution } from './resolve-target.js';

const kindTitles: Record<NoticeKind, string> = {
  'spot-interruption': 'EC2 Spot Instance Interruption Warning',
  'rebalance-recommendation': 'EC2 Instance Rebalance Recommendation',
  'state-change': 'EC2 Instance State-change Notification',
  'scheduled-change': 'AWS Health scheduled change',
  'asg-terminate': 'Auto Scaling terminate lifecycle action',
  'capacity-reservation-interruption': 'EC2 Capacity Reservation Instance Interruption Warning',
};

/** The notice as the node's record takes it: its own deadline (not the invocation's), hook and Health change. */
export function noticeInput(
  notice: InterruptionNotice,
  action: Action,
  now: number,
  budgetMs: number,
): NoticeInput {
  const detail = notice.detail ? ` (${notice.detail})` : '';
  const hook = hookOf(notice);
  return {
    kind: notice.kind,
    action: action === Action.Drain ? 'drain' : 'cordon',
    eventId: notice.eventId,
    ...(notice.detail ? { detail: notice.detail } : {}),
    eventTime: notice.eventTime.getTime(),
    deadline: drainDeadline(notice, now, budgetMs, Number.POSITIVE_INFINITY),
    ...(hook && notice.kind === NoticeKind.AsgTerminate ? { hook } : {}),
    ...(notice.health
      ? {
          health: {
            eventArn: notice.health.eventArn,
            status: notice.health.status,
            ...(notice.deadline && notice.health.status !== 'closed'
              ? { start: notice.deadline.getTime() }
              : {}),
          },
        }
      : {}),
    message: `${kindTitles[notice.kind]}${detail} for ${notice.instanceId} at ${notice.eventTime.toISOString()}; event ${notice.eventId}`,
  };
}

/** The notice as a request for its node, with what resolving its target learnt of the node and the instance. */
export function drainRequestOf(
  notice: InterruptionNotice,
  action: Action,
  holder: string,
  resolution: Extract<Resolution, { status: 'resolved' }>,
  now: number,
  config: Pick<Config, 'drain'>,
): DrainRequest {
  const input = noticeInput(notice, action, now, config.drain.noDeadlineBudgetMs);
  const { message, action: _, ...rest } = input;
  return {
    ...rest,
    nodeName: resolution.target.nodeName,
    action,
    holder,
    noticeMessage: message,
    view: noticeView(notice, resolution),
  };
}

/** What resolving the notice's target learnt: the node as just read, and EC2's (possibly cached) view. */
export function noticeView(
  notice: InterruptionNotice,
  resolution: Extract<Resolution, { status: 'resolved' }>,
): View {
  const info = resolution.instance;
  return {
    node: resolution.node,
    instanceId: notice.instanceId,
    instance:
      info?.state === undefined
        ? 'unknown'
        : {
            state: info.state,
            ...(info.launchTime ? { launchTime: info.launchTime.getTime() } : {}),
            ...(info.stateReason ? { stateReason: info.stateReason } : {}),
            ...(info.tags['aws:autoscaling:groupName']
              ? { autoScalingGroup: info.tags['aws:autoscaling:groupName'] }
              : {}),
          },
  };
}
