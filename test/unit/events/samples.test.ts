import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { parseEvent } from '../../../src/events/parse-event.js';
import { type SampleKind, sampleEvent, sampleKinds } from '../../../src/events/samples.js';
import { loadFixture } from './fixtures.js';

const expected: Record<SampleKind, { status: string; kind?: string }> = {
  'spot-interruption': { status: 'notices', kind: 'spot-interruption' },
  'rebalance-recommendation': { status: 'notices', kind: 'rebalance-recommendation' },
  'state-change-stopping': { status: 'notices', kind: 'state-change' },
  'state-change-running': { status: 'running' },
  'scheduled-change': { status: 'notices', kind: 'scheduled-change' },
  'asg-terminate': { status: 'notices', kind: 'asg-terminate' },
  'asg-test-notification': { status: 'ignored' },
  'capacity-reservation-interruption': { status: 'notices', kind: 'capacity-reservation-interruption' },
  'asg-launch': { status: 'launch' },
};

describe('sampleEvent', () => {
  it.each(sampleKinds)('%s equals its fixture once id and time are pinned', (kind) => {
    const fixture = loadFixture(kind);

    const sample = sampleEvent(kind, { id: fixture.id as string, time: fixture.time as string });

    expect(sample).toEqual(fixture);
  });

  it.each(sampleKinds)('%s and its fixture parse to the same outcome', (kind) => {
    const fixture = loadFixture(kind);

    const fromSample = parseEvent(
      sampleEvent(kind, { id: fixture.id as string, time: fixture.time as string }),
    );
    const fromFixture = parseEvent(fixture);

    expect(fromSample).toEqual(fromFixture);
    expect(fromFixture.status).toBe(expected[kind].status);
    if (fromFixture.status === 'notices') {
      expect(fromFixture.notices.every((n) => n.kind === expected[kind].kind)).toBe(true);
    }
  });

  it('dates a default sample now, so a Spot deadline lies ahead', () => {
    const before = Date.now();

    const outcome = parseEvent(sampleEvent('spot-interruption'));

    const deadline = outcome.status === 'notices' ? outcome.notices[0]?.deadline?.getTime() : undefined;
    expect(deadline).toBeGreaterThan(before + 110_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 120_000);
  });

  it('gives every sample a fresh id and a fresh object', () => {
    const a = sampleEvent('rebalance-recommendation');
    const b = sampleEvent('rebalance-recommendation');
    a.detail['instance-id'] = 'changed';

    expect(a.id).not.toBe(b.id);
    expect(b.detail['instance-id']).toBe('i-0123456789abcdef0');
  });

  it('applies overrides', () => {
    const event = sampleEvent('scheduled-change', {
      instanceIds: ['i-0aaaaaaaaaaaaaaaa'],
      region: 'eu-west-1',
      account: '210987654321',
      startTime: new Date('2030-01-01T00:00:00Z'),
    });

    const outcome = parseEvent(event);

    expect(outcome.status === 'notices' && outcome.notices).toEqual([
      expect.objectContaining({
        instanceId: 'i-0aaaaaaaaaaaaaaaa',
        region: 'eu-west-1',
        account: '210987654321',
        deadline: new Date('2030-01-01T00:00:00Z'),
      }),
    ]);
  });

  it('can build a deliberately broken sample', () => {
    const event = sampleEvent('spot-interruption', {
      time: 'not a time',
      detail: { 'instance-action': 'explode' },
    });

    expect(parseEvent(event).status).toBe('invalid');
  });

  it('throws a UsageError listing the kinds for an unknown kind', () => {
    expect(() => sampleEvent('spot')).toThrow(UsageError);
    expect(() => sampleEvent('spot')).toThrow(/known kinds: spot-interruption, rebalance-recommendation/);
  });
});
