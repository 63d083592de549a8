/**
 * What every event parser is and shares: the (source, detail-type) it answers, one parse function,
 * and the helpers that build outcomes so no parser formats them its own way.
 */
import type { InterruptionNotice, ParseOutcome } from '../types.js';
import type * as z from '../zod.js';
import { type EventEnvelope, issueReason } from './envelope.js';

/** One kind of EventBridge event: the key it is registered under and how to read its detail. */
export interface EventParser {
  source: string;
  detailType: string;
  /** Reads an envelope already checked by parseEnvelope; never throws for bad detail. */
  parse(event: EventEnvelope): ParseOutcome;
}

/** Spot and capacity-reservation warnings come two minutes before EC2 acts. */
export const TWO_MINUTES_MS = 120_000;

/** The fields of a notice that come from the envelope. */
export function noticeBase(
  event: EventEnvelope,
): Pick<InterruptionNotice, 'region' | 'account' | 'eventId' | 'eventTime'> {
  return { region: event.region, account: event.account, eventId: event.id, eventTime: event.time };
}

/** A successful outcome. */
export function notices(...list: InterruptionNotice[]): ParseOutcome {
  return { status: 'notices', notices: list };
}

/** A well-formed event we deliberately do not act on. */
export function ignored(event: EventEnvelope, reason: string): ParseOutcome {
  return { status: 'ignored', eventId: event.id, reason };
}

/** A malformed detail: the reason names the first bad field. */
export function invalidDetail(event: EventEnvelope, error: z.core.$ZodError): ParseOutcome {
  return { status: 'invalid', eventId: event.id, reason: issueReason(error, 'detail') };
}
