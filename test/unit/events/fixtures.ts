/** Loads the EventBridge fixtures of test/fixtures/events and builds variants of them. */
import { readFileSync } from 'node:fs';
import type { SampleEvent, SampleKind } from '../../../src/events/samples.js';

const dir = new URL('../../fixtures/events/', import.meta.url);

/** A fresh copy of test/fixtures/events/<kind>.json. */
export function loadFixture(kind: SampleKind): SampleEvent {
  return JSON.parse(readFileSync(new URL(`${kind}.json`, dir), 'utf8')) as SampleEvent;
}

/** A copy of `event` with detail fields replaced; a field set to undefined is removed. */
export function withDetail(event: SampleEvent, patch: Record<string, unknown>): SampleEvent {
  const copy = structuredClone(event);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete copy.detail[key];
    else copy.detail[key] = value;
  }
  return copy;
}

/** A copy of `event` with envelope fields replaced; a field set to undefined is removed. */
export function withEnvelope(event: SampleEvent, patch: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(event);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete copy[key];
    else copy[key] = value;
  }
  return copy;
}
