/**
 * aws.autoscaling "EC2 Instance-terminate Lifecycle Action": Auto Scaling holds the instance in
 * Terminating:Wait until the lifecycle action is completed (or the hook times out).
 *
 * detail: { EC2InstanceId, LifecycleHookName, LifecycleActionToken, AutoScalingGroupName,
 *           LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING" }
 *
 * Auto Scaling's test message (`Event` or `LifecycleTransition` = "autoscaling:TEST_NOTIFICATION")
 * carries no instance and is ignored.
 */
import { NoticeKind } from '../types.js';
import { isTestNotification, lifecycleDetailSchema } from './lifecycle-detail.js';
import { type EventParser, ignored, invalidDetail, noticeBase, notices } from './parser.js';

export { TEST_NOTIFICATION } from './lifecycle-detail.js';

const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
const detailSchema = lifecycleDetailSchema(TERMINATING);

/** Parses terminate lifecycle actions into a notice that carries the lifecycle action to complete. */
export const asgTerminateParser: EventParser = {
  source: 'aws.autoscaling',
  detailType: 'EC2 Instance-terminate Lifecycle Action',
  parse(event) {
    if (isTestNotification(event.detail)) return ignored(event, 'Auto Scaling test notification');
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const d = result.data;
    return notices({
      kind: NoticeKind.AsgTerminate,
      instanceId: d.EC2InstanceId,
      ...noticeBase(event),
      deadline: undefined,
      detail: d.LifecycleHookName,
      lifecycleAction: {
        autoScalingGroupName: d.AutoScalingGroupName,
        lifecycleHookName: d.LifecycleHookName,
        lifecycleActionToken: d.LifecycleActionToken,
        lifecycleTransition: d.LifecycleTransition,
      },
    });
  },
};
