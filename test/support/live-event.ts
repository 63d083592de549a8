/**
 * EventBridge fixtures made live: about instances that exist in the test bed, and happening now,
 * so deadlines lie ahead as they do when AWS sends the event.
 */
import { SAMPLE_INSTANCE_ID, type SampleKind, SECOND_SAMPLE_INSTANCE_ID } from '../../src/events/samples.js';
import { loadFixture } from '../unit/events/fixtures.js';

/** Detail fields that hold times, moved together with the event time. */
const timeFields = ['instance-termination-time', 'startTime', 'Time'];

/**
 * test/fixtures/events/<kind>.json with its instance ids replaced by `instanceIds` (in order: the
 * sample's first, then its second instance) and every time moved by the same amount, to now.
 */
export function liveEvent(kind: SampleKind, instanceIds: string[]): Record<string, unknown> {
  let text = JSON.stringify(loadFixture(kind));
  [SAMPLE_INSTANCE_ID, SECOND_SAMPLE_INSTANCE_ID].forEach((id, i) => {
    if (instanceIds[i]) text = text.replaceAll(id, instanceIds[i]);
  });
  const event = JSON.parse(text) as { time: string; detail: Record<string, unknown> };
  const now = Math.floor(Date.now() / 1000) * 1000;
  const shift = (value: unknown) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) return value;
    const moved = new Date(Date.parse(value) + now - Date.parse(event.time));
    return value.endsWith('GMT') ? moved.toUTCString() : moved.toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  for (const key of timeFields) {
    if (key in event.detail) event.detail[key] = shift(event.detail[key]);
  }
  event.time = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return event;
}
