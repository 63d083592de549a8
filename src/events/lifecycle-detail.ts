/**
 * The detail Auto Scaling's lifecycle action events share, launch and terminate alike:
 * { EC2InstanceId, LifecycleHookName, LifecycleActionToken, AutoScalingGroupName, LifecycleTransition },
 * and the test message it sends to check a notification target.
 */
import * as z from '../zod.js';
import { instanceIdSchema } from './envelope.js';

/** The transition Auto Scaling sends to check that a notification target works. */
export const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';

// Names go back to the Auto Scaling API verbatim: printable, no control characters, API length limits.
const nameSchema = z
  .string({ error: 'expected a string' })
  .check(
    z.minLength(1, { error: 'is empty' }),
    z.maxLength(255, { error: 'is longer than 255 characters' }),
    z.regex(/^\P{Cc}+$/u, { error: 'contains control characters' }),
  );

/** The schema of a lifecycle action's detail whose transition must be `transition`. */
export function lifecycleDetailSchema<T extends string>(transition: T) {
  return z.object({
    EC2InstanceId: instanceIdSchema,
    LifecycleHookName: nameSchema,
    AutoScalingGroupName: nameSchema,
    LifecycleActionToken: z
      .string({ error: 'expected a string' })
      .check(z.regex(/^[0-9A-Za-z-]{36}$/, { error: 'is not a lifecycle action token (36 characters)' })),
    LifecycleTransition: z.literal(transition, { error: `expected ${transition}` }),
  });
}

/** Auto Scaling's test message (`Event` or `LifecycleTransition` = TEST_NOTIFICATION): no instance. */
export function isTestNotification(detail: Record<string, unknown>): boolean {
  const own = (key: string) => (Object.hasOwn(detail, key) ? detail[key] : undefined);
  return own('Event') === TEST_NOTIFICATION || own('LifecycleTransition') === TEST_NOTIFICATION;
}
