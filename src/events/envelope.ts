/**
 * The EventBridge envelope every event shares, and the small value checks the parsers reuse.
 * Nothing here throws for bad input: the checks return results the parsers turn into outcomes.
 */
import * as z from '../zod.js';

/** An EC2 instance id: `i-` and 8 (old style) or 17 lowercase hex digits. */
export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** An AWS account id: exactly 12 digits. */
export const ACCOUNT_PATTERN = /^\d{12}$/;

/** An AWS region name such as us-east-1, us-gov-west-1, cn-north-1 or eusc-de-east-1. */
export const REGION_PATTERN = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

/**
 * An EventBridge event id. Real ids are UUIDs; the pattern is wider (test tools send others) but
 * stays safe to log and to use as a key: no spaces, quotes, slashes or control characters.
 */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The schema of an EC2 instance id field. */
export const instanceIdSchema = z
  .string({ error: 'expected an EC2 instance id string' })
  .check(
    z.maxLength(19, { error: 'is not an EC2 instance id (i- and 8 or 17 hex digits)' }),
    z.regex(INSTANCE_ID_PATTERN, { error: 'is not an EC2 instance id (i- and 8 or 17 hex digits)' }),
  );

/** The parts of an EventBridge event that every parser reads, already validated. */
export interface EventEnvelope {
  id: string;
  source: string;
  detailType: string;
  account: string;
  region: string;
  time: Date;
  detail: Record<string, unknown>;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// AWS Health writes times like "Sat, 05 Jun 2021 07:00:00 GMT" (RFC 1123); the weekday is optional here.
const RFC1123_TIME =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)$/;

/** Date.UTC silently rolls over (Feb 30 -> Mar 2); a time is only valid if its fields survive the trip. */
function utcDate(y: number, mo: number, d: number, h: number, mi: number, s: number): Date | undefined {
  const date = new Date(Date.UTC(y, mo, d, h, mi, s));
  const exact =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return exact ? date : undefined;
}

/** Parses an ISO 8601 UTC or offset time (`2021-06-05T07:00:00Z`); undefined when malformed. */
export function parseIsoTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value.length > 40) return undefined;
  const m = ISO_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const date = utcDate(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!date || !zone) return undefined;
  let ms = date.getTime() + (fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0);
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const [zh, zm] = zone.slice(1).split(':').map(Number);
    if (zh === undefined || zm === undefined || zh > 23 || zm > 59) return undefined;
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  return new Date(ms);
}

/** Parses the times AWS Health writes (RFC 1123, "Sat, 05 Jun 2021 07:00:00 GMT") or an ISO time. */
export function parseHealthTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value.length > 40) return undefined;
  const m = RFC1123_TIME.exec(value);
  if (!m) return parseIsoTime(value);
  const [, d, mon, y, h, mi, s] = m;
  return utcDate(Number(y), MONTHS.indexOf(mon ?? ''), Number(d), Number(h), Number(mi), Number(s));
}

/** Makes a value safe to put in a log line: printable characters only, at most `max` of them. */
export function safeText(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : typeof value;
  const head = text.length > max ? `${text.slice(0, max)}...` : text;
  return head.replace(/[^\x20-\x7e]/g, '?');
}

/** Turns the first zod issue into a short reason such as `detail.instance-id: is not an EC2 instance id`. */
export function issueReason(error: z.core.$ZodError, prefix: string): string {
  const issue = error.issues[0];
  if (!issue) return `${prefix}: invalid`;
  const path = [prefix, ...issue.path.map((p) => safeText(String(p), 40))].join('.');
  return safeText(`${path}: ${issue.message}`, 200);
}

/** A plain JSON-like object: not null, not an array, no exotic prototype to inherit fields from. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const envelopeSchema = z.object({
  id: z
    .string({ error: 'expected a string' })
    .check(
      z.maxLength(128, { error: 'is not a valid event id' }),
      z.regex(EVENT_ID_PATTERN, { error: 'is not a valid event id' }),
    ),
  source: z.string({ error: 'expected a string' }).check(z.minLength(1, { error: 'is empty' })),
  'detail-type': z.string({ error: 'expected a string' }).check(z.minLength(1, { error: 'is empty' })),
  account: z
    .string({ error: 'expected a string' })
    .check(
      z.maxLength(12, { error: 'expected 12 digits' }),
      z.regex(ACCOUNT_PATTERN, { error: 'expected 12 digits' }),
    ),
  region: z
    .string({ error: 'expected a string' })
    .check(
      z.maxLength(32, { error: 'is not an AWS region' }),
      z.regex(REGION_PATTERN, { error: 'is not an AWS region' }),
    ),
  time: z
    .string({ error: 'expected a string' })
    .check(z.refine((t) => parseIsoTime(t) !== undefined, { error: 'expected an ISO 8601 time' })),
  // z.custom keeps the original reference: the parsers validate detail with their own schemas.
  detail: z.custom<Record<string, unknown>>(isPlainObject, { error: 'expected an object' }),
});

/** The result of checking the envelope: the typed envelope, or a short reason. */
export type EnvelopeResult =
  | { ok: true; envelope: EventEnvelope }
  | { ok: false; eventId: string | undefined; reason: string };

/** Validates the common EventBridge envelope (id, source, detail-type, account, time, region, detail). */
export function parseEnvelope(raw: unknown): EnvelopeResult {
  if (!isPlainObject(raw)) {
    const what = Array.isArray(raw) ? 'array' : raw === null ? 'null' : typeof raw;
    return { ok: false, eventId: undefined, reason: `event: expected an object, got ${what}` };
  }
  const result = envelopeSchema.safeParse(raw);
  if (!result.success) {
    return { ok: false, eventId: eventIdOf(raw), reason: issueReason(result.error, 'event') };
  }
  const { id, source, account, region, time, detail } = result.data;
  return {
    ok: true,
    // parseIsoTime cannot fail here: the schema refined the same string.
    envelope: {
      id,
      source,
      detailType: result.data['detail-type'],
      account,
      region,
      time: parseIsoTime(time)!,
      detail,
    },
  };
}

/** The event id of a raw event when it is well-formed, so even a rejection can be correlated. */
export function eventIdOf(raw: unknown): string | undefined {
  if (!isPlainObject(raw) || !Object.hasOwn(raw, 'id')) return undefined;
  const id = raw.id;
  return typeof id === 'string' && id.length <= 128 && EVENT_ID_PATTERN.test(id) ? id : undefined;
}
