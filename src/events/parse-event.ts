/**
 * The one entry point from raw EventBridge input to typed notices.
 */
import type { InterruptionNotice, ParseOutcome } from '../types.js';
import { eventIdOf, parseEnvelope, safeText } from './envelope.js';
import { findParser } from './registry.js';

/**
 * Reads one raw EventBridge event. Never throws, whatever the input: malformed or unknown events
 * come back as `invalid` (log and drop: a retry cannot fix them), events that need nothing as
 * `ignored`, and the rest as one or more notices (AWS Health may name several instances).
 *
 * @example
 * const outcome = parseEvent(event);
 * if (outcome.status !== 'notices') logger.info('dropped', { status: outcome.status, reason: outcome.reason });
 */
export function parseEvent(raw: unknown): ParseOutcome {
  try {
    const checked = parseEnvelope(raw);
    if (!checked.ok) return { status: 'invalid', eventId: checked.eventId, reason: checked.reason };
    const { envelope } = checked;
    const parser = findParser(envelope.source, envelope.detailType);
    if (!parser) {
      return {
        status: 'invalid',
        eventId: envelope.id,
        reason: `no parser for source "${safeText(envelope.source)}" detail-type "${safeText(envelope.detailType)}"`,
      };
    }
    return parser.parse(envelope);
  } catch {
    // Only exotic objects (throwing getters, proxies) get here; JSON from EventBridge cannot.
    let eventId: string | undefined;
    try {
      eventId = eventIdOf(raw);
    } catch {
      eventId = undefined;
    }
    return { status: 'invalid', eventId, reason: 'event: unreadable input' };
  }
}

/**
 * The idempotency key of a notice: one AWS Health event yields several notices that share the
 * event id, so the key pairs it with the instance.
 */
export function noticeKey(notice: Pick<InterruptionNotice, 'eventId' | 'instanceId'>): string {
  return `${notice.eventId}/${notice.instanceId}`;
}
