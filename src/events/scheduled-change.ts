/**
 * aws.health "AWS Health Event": scheduled EC2 maintenance (retirement, reboot, network or power
 * maintenance). Only service EC2 with category scheduledChange is acted on.
 *
 * detail: { service: "EC2", eventTypeCategory: "scheduledChange", eventTypeCode: "AWS_EC2_…",
 *           startTime: "Sat, 05 Jun 2021 07:00:00 GMT", affectedEntities: [{ entityValue: "i-…" }, …] }
 *
 * One notice per affected instance. Every notice carries the EventBridge event id unchanged (a
 * redelivery stays recognisable in logs), so the idempotency key of a notice is (eventId, instanceId):
 * see noticeKey.
 */
import { type InterruptionNotice, NoticeKind } from '../types.js';
import * as z from '../zod.js';
import { INSTANCE_ID_PATTERN, isPlainObject, parseHealthTime } from './envelope.js';
import { type EventParser, ignored, invalidDetail, noticeBase, notices } from './parser.js';

const headSchema = z.object({
  service: z.string({ error: 'expected a string' }),
  eventTypeCategory: z.string({ error: 'expected a string' }),
});

const detailSchema = z.object({
  startTime: z
    .string({ error: 'expected a time string' })
    .check(
      z.refine((t) => parseHealthTime(t) !== undefined, { error: 'expected an RFC 1123 or ISO 8601 time' }),
    ),
  affectedEntities: z.array(z.unknown(), { error: 'expected an array' }),
  eventTypeCode: z.optional(z.unknown()),
});

const EVENT_TYPE_CODE = /^[A-Z0-9_]{1,100}$/;

/** The instance ids among the affected entities, first occurrence order, without duplicates. */
function affectedInstanceIds(entities: unknown[]): string[] {
  const ids = new Set<string>();
  for (const entity of entities) {
    if (!isPlainObject(entity) || !Object.hasOwn(entity, 'entityValue')) continue;
    const value = entity.entityValue;
    if (typeof value === 'string' && value.length <= 19 && INSTANCE_ID_PATTERN.test(value)) ids.add(value);
  }
  return [...ids];
}

/** Parses AWS Health scheduled changes for EC2 into one notice per affected instance. */
export const scheduledChangeParser: EventParser = {
  source: 'aws.health',
  detailType: 'AWS Health Event',
  parse(event) {
    const head = headSchema.safeParse(event.detail);
    if (!head.success) return invalidDetail(event, head.error);
    const { service, eventTypeCategory } = head.data;
    if (service !== 'EC2') return ignored(event, 'AWS Health event is not for service EC2');
    if (eventTypeCategory !== 'scheduledChange') {
      return ignored(event, 'AWS Health event is not a scheduledChange');
    }
    const result = detailSchema.safeParse(event.detail);
    if (!result.success) return invalidDetail(event, result.error);
    const instanceIds = affectedInstanceIds(result.data.affectedEntities);
    if (instanceIds.length === 0) return ignored(event, 'AWS Health event affects no EC2 instance');
    const deadline = parseHealthTime(result.data.startTime)!;
    const code = result.data.eventTypeCode;
    const detail = typeof code === 'string' && EVENT_TYPE_CODE.test(code) ? code : undefined;
    return notices(
      ...instanceIds.map(
        (instanceId): InterruptionNotice => ({
          kind: NoticeKind.ScheduledChange,
          instanceId,
          ...noticeBase(event),
          deadline: new Date(deadline.getTime()),
          ...(detail === undefined ? {} : { detail }),
        }),
      ),
    );
  },
};
