/** Event intake: raw EventBridge input -> typed InterruptionNotices. */
export { INSTANCE_ID_PATTERN, parseHealthTime, parseIsoTime } from './envelope.js';
export { noticeKey, parseEvent } from './parse-event.js';
export type { EventParser } from './parser.js';
export { eventParsers, findParser, registeredEventTypes } from './registry.js';
export {
  type SampleEvent,
  type SampleKind,
  type SampleOverrides,
  sampleEvent,
  sampleKinds,
} from './samples.js';
