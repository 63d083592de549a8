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
import * as z from '../zod.js';
import { instanceIdSchema } from './envelope.js';
import { type EventParser, ignored, invalidDetail, noticeBase, notices } from './parser.js';

/** The transition Auto Scaling sends to check that a notification target works. */
export const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';
const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';

// Names go back to the Auto Scaling API verbatim: printable, no control characters, API length limits.
const nameSchema = z
  .string({ error: 'expected a string' })
  .check(
    z.minLength(1, { error: 'is empty' }),
    z.maxLength(255, { error: 'is longer than 255 characters' }),
    z.regex(/^\P{Cc}+$/u, { error: 'contains control characters' }),
  );

const detailSchema = z.object({
  EC2InstanceId: instanceIdSchema,
  LifecycleHookName: nameSchema,
  AutoScalingGroupName: nameSchema,
  LifecycleActionToken: z
    .string({ error: 'expected a string' })
    .check(z.regex(/^[0-9A-Za-z-]{36}$/, { error: 'is not a lifecycle action token (36 characters)' })),
  LifecycleTransition: z.literal(TERMINATING, { error: `expected ${TERMINATING}` }),
});

function isTestNotification(detail: Record<string, unknown>): boolean {
  const own = (key: string) => (Object.hasOwn(detail, key) ? detail[key] : undefined);
  return own('Event') === TEST_NOTIFICATION || own('LifecycleTransition') === TEST_NOTIFICATION;
}

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
