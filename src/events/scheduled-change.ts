/**
 * aws.health "AWS Health Event": scheduled EC2 maintenance (retirement, reboot, network or power
 * maintenance). Only service EC2 with category scheduledChange is acted on.
 *
 * detail: { service: "EC2", eventTypeCategory: "scheduledChange", eventTypeCode: "AWS_EC2_…",
 *           startTime: "Sat, 05 Jun 2021 07:00:00 GMT", affectedEntities: [{ entityValue: "i-…" }, …] }
 *
 * detail.eventArn identifies the event across the republications Health makes as its statusCode
 * moves from upcoming to open to closed; each notice carries both (see HealthEventInfo).
 *
 * One notice per affected instance. Every notice carries the EventBridge event id unchanged (a
 * redelivery stays recognisable in logs), so the idempotency key of a notice is (eventId, instanceId):
 * see noticeKey.
 */
import { type HealthEventInfo, type InterruptionNotice, NoticeKind } from '../types.js';
import * as z from '../zod.js';
import { type EventEnvelope, INSTANCE_ID_PATTERN, isPlainObject, parseHealthTime } from './envelope.js';
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
  eventArn: z.optional(z.unknown()),
  statusCode: z.optional(z.unknown()),
  endTime: z.optional(z.unknown()),
});

const EVENT_ARN = /^arn:aws[a-z-]*:health:[a-z0-9-]*:\d{0,12}:event\/[A-Za-z0-9_/.-]{1,300}$/;
const STATUS_CODES = ['upcoming', 'open', 'closed'] as const;

/**
 * The Health event's identity across republications (its eventArn; the EventBridge id changes each
 * time) and its status. Health's examples always carry both; an event without a usable ARN is its
 * own identity.
 */
function healthInfo(
  event: EventEnvelope,
  detail: { eventArn?: unknown; statusCode?: unknown; endTime?: unknown },
): HealthEventInfo {
  const arn =
    typeof detail.eventArn === 'string' && EVENT_ARN.test(detail.eventArn) ? detail.eventArn : undefined;
  const status = STATUS_CODES.find((s) => s === detail.statusCode) ?? 'upcoming';
  const end = parseHealthTime(detail.endTime);
  return { eventArn: arn ?? `event/${event.id}`, status, ...(end ? { end } : {}) };
}

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
    const health = healthInfo(event, result.data);
    return notices(
      ...instanceIds.map(
        (instanceId): InterruptionNotice => ({
          kind: NoticeKind.ScheduledChange,
          instanceId,
          ...noticeBase(event),
          deadline: new Date(deadline.getTime()),
          ...(detail === undefined ? {} : { detail }),
          health: { ...health, ...(health.end ? { end: new Date(health.end.getTime()) } : {}) },
        }),
      ),
    );
  },
};

/**
 * The same Health event naming only `instanceId` (in affectedEntities and resources): what one
 * invocation of a fanned-out event receives. Everything else, the EventBridge id included, is kept,
 * so duplicates and republications stay recognisable on the node's lease.
 */
export function eventForInstance(
  event: Record<string, unknown>,
  instanceId: string,
): Record<string, unknown> {
  const detail = isPlainObject(event.detail) ? event.detail : {};
  const resources = Array.isArray(event.resources) ? event.resources : [];
  return {
    ...event,
    resources: resources.filter((r) => typeof r === 'string' && r.endsWith(`/${instanceId}`)),
    detail: { ...detail, affectedEntities: [{ entityValue: instanceId }] },
  };
}
