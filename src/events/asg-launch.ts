/**
 * aws.autoscaling "EC2 Instance-launch Lifecycle Action": Auto Scaling holds a new instance in
 * Pending:Wait until the lifecycle action is completed (or the hook times out). Not a notice: nothing
 * is going away. The function completes the action (CONTINUE) once the instance's node has joined its
 * cluster and is Ready (src/app/handle-launch.ts), as aws-node-termination-handler does with
 * `--complete-lifecycle-action-on-launch`.
 *
 * detail: { EC2InstanceId, LifecycleHookName, LifecycleActionToken, AutoScalingGroupName,
 *           LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING" }
 */
import { isTestNotification, lifecycleDetailSchema } from './lifecycle-detail.js';
import { type EventParser, ignored, invalidDetail } from './parser.js';

export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
const detailSchema = lifecycleDetailSchema(LAUNCHING);

/** Parses launch lifecycle actions into a `launch` outcome that carries the action to complete. */
export const asgLaunchParser: EventParser = {
  source: 'aws.autoscaling',
  detailType: 'EC2 Instance-launch Lifecycle Action',
  parse(event) {
    if (isTestNotification(event.detail)) return ignored(event, 'Auto Scaling test notification');
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const d = result.data;
    return {
      status: 'launch',
      eventId: event.id,
      account: event.account,
      region: event.region,
      eventTime: event.time,
      instanceId: d.EC2InstanceId,
      lifecycleAction: {
        autoScalingGroupName: d.AutoScalingGroupName,
        lifecycleHookName: d.LifecycleHookName,
        lifecycleActionToken: d.LifecycleActionToken,
        lifecycleTransition: d.LifecycleTransition,
      },
    };
  },
};
