import { describe, expect, it } from 'vitest';
import {
  batchEntries,
  EVENT_BUS_PATTERN,
  entrySize,
  maxBytesPerCall,
  maxEntriesPerCall,
  outcomeDetailFields,
  outcomeEntry,
  outcomeEventSource,
  type PutEventsEntry,
} from '../../../src/notify/outcome-events.js';
import { sampleOutcome } from './sample.js';

/** An entry whose detail makes it `bytes` long, as entrySize counts. */
function entryOf(bytes: number): PutEventsEntry {
  const entry = outcomeEntry(sampleOutcome(), 'default');
  return { ...entry, Detail: 'x'.repeat(bytes - entrySize({ ...entry, Detail: '' })) };
}

describe('outcomeEntry', () => {
  it('puts the detail as JSON, with our source, the detail-type, the bus and the time', () => {
    // Prepare
    const event = sampleOutcome();

    // Act
    const entry = outcomeEntry(event, 'drains');

    // Assess
    expect(entry).toEqual({
      Source: 'eks-spot-drainer',
      DetailType: 'Node Drained',
      Detail: JSON.stringify(event.detail),
      EventBusName: 'drains',
      Time: new Date('2025-03-01T12:00:40Z'),
    });
    expect(outcomeEventSource).toBe('eks-spot-drainer');
  });

  it('carries every documented field, and no other', () => {
    // Act
    const detail = JSON.parse(outcomeEntry(sampleOutcome(), 'default').Detail);

    // Assess
    expect(Object.keys(detail)).toEqual(outcomeDetailFields);
  });

  it('cuts a long sentence, so that an API answer cannot make the entry large', () => {
    // Act
    const entry = outcomeEntry(sampleOutcome({ why: 'y'.repeat(10_000) }), 'default');

    // Assess
    expect(JSON.parse(entry.Detail).why).toBe(`${'y'.repeat(500)}...`);
    expect(entrySize(entry)).toBeLessThan(2_000);
  });
});

describe('entrySize', () => {
  it('counts the time and the UTF-8 bytes of source, detail-type and detail, not the bus', () => {
    // Prepare
    const entry: PutEventsEntry = {
      Source: 'eks-spot-drainer',
      DetailType: 'Node Drained',
      Detail: '{"node":"é"}',
      EventBusName: 'a-long-bus-name-that-does-not-count',
      Time: new Date(),
    };

    // Act & Assess
    expect(entrySize(entry)).toBe(14 + 16 + 12 + 13);
  });
});

describe('batchEntries', () => {
  it('sends at most 10 entries per call, in order', () => {
    // Prepare
    const entries = Array.from({ length: 23 }, (_, i) => ({ ...entryOf(200), DetailType: `t${i}` }));

    // Act
    const { batches, tooLarge } = batchEntries(entries);

    // Assess
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat().map((e) => e.DetailType)).toEqual(entries.map((e) => e.DetailType));
    expect(tooLarge).toEqual([]);
    expect(maxEntriesPerCall).toBe(10);
  });

  it('starts a new call where the next entry would pass 256 KB', () => {
    // Prepare: 100 KB each, so two fit and a third does not.
    const entries = [entryOf(100_000), entryOf(100_000), entryOf(100_000), entryOf(62_144)];

    // Act
    const { batches } = batchEntries(entries);

    // Assess
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    for (const batch of batches) {
      expect(batch.reduce((sum, e) => sum + entrySize(e), 0)).toBeLessThanOrEqual(maxBytesPerCall);
    }
  });

  it('keeps apart an entry no call can carry, and sends the rest', () => {
    // Prepare
    const huge = entryOf(maxBytesPerCall + 1);
    const exact = entryOf(maxBytesPerCall);

    // Act
    const { batches, tooLarge } = batchEntries([entryOf(300), huge, exact]);

    // Assess
    expect(tooLarge).toEqual([huge]);
    expect(batches.map((b) => b.map(entrySize))).toEqual([[300], [maxBytesPerCall]]);
  });

  it('makes no call of nothing', () => {
    expect(batchEntries([])).toEqual({ batches: [], tooLarge: [] });
  });
});

describe('EVENT_BUS_PATTERN', () => {
  it.each([
    ['default', true],
    ['ops.drains_prod-1', true],
    ['arn:aws:events:eu-west-1:210987654321:event-bus/central', true],
    ['arn:aws-us-gov:events:us-gov-west-1:210987654321:event-bus/default', true],
    ['aws.partner/example.com/123/drains', false],
    ['has space', false],
    ['', false],
    ['a'.repeat(257), false],
    ['arn:aws:events:eu-west-1:210987654321:rule/central', false],
    ['arn:aws:sqs:eu-west-1:210987654321:event-bus/central', false],
  ])('%s: %s', (bus, valid) => {
    expect(EVENT_BUS_PATTERN.test(bus)).toBe(valid);
  });
});
