import { describe, expect, it } from 'vitest';
import { parseEnvelope, parseHealthTime, parseIsoTime, safeText } from '../../../src/events/envelope.js';
import { loadFixture } from './fixtures.js';

describe('parseIsoTime', () => {
  it.each([
    ['2025-06-05T07:00:00Z', '2025-06-05T07:00:00.000Z'],
    ['2025-06-05T07:00:00.123Z', '2025-06-05T07:00:00.123Z'],
    ['2025-06-05T07:00:00.123456789Z', '2025-06-05T07:00:00.123Z'],
    ['2025-06-05T09:30:00+02:30', '2025-06-05T07:00:00.000Z'],
    ['2025-06-05T02:00:00-05:00', '2025-06-05T07:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseIsoTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    'yyyy-mm-ddThh:mm:ssZ',
    '2025-06-05',
    '2025-06-05 07:00:00Z',
    '2025-06-05T07:00:00',
    '2021-02-29T00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2025-06-05T24:00:00Z',
    '2025-06-05T07:00:00+25:00',
    'Sat, 05 Jun 2021 07:00:00 GMT',
    `2025-06-05T07:00:00Z${' '.repeat(100)}`,
    1_717_570_800_000,
    null,
  ])('refuses %j', (value) => {
    expect(parseIsoTime(value)).toBeUndefined();
  });
});

describe('parseHealthTime', () => {
  it.each([
    ['Sat, 05 Jun 2021 07:00:00 GMT', '2021-06-05T07:00:00.000Z'],
    ['Tue, 1 Feb 2022 23:59:59 GMT', '2022-02-01T23:59:59.000Z'],
    ['05 Jun 2021 07:00:00 UTC', '2021-06-05T07:00:00.000Z'],
    ['2021-06-05T07:00:00Z', '2021-06-05T07:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseHealthTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '1',
    'June 5 2021',
    'Sat, 05 Jun 2021 07:00:00 PST',
    'Sat, 32 Jun 2021 07:00:00 GMT',
    '',
    undefined,
  ])('refuses %j, which Date.parse might accept', (value) => {
    expect(parseHealthTime(value)).toBeUndefined();
  });
});

describe('safeText', () => {
  it('truncates long text and masks non-printable characters', () => {
    const text = safeText(`a\nb\u0000c${'x'.repeat(100)}`, 10);

    expect(text).toBe('a?b?cxxxxx...');
  });

  it('names the type of a non-string', () => {
    expect(safeText(42)).toBe('number');
  });
});

describe('parseEnvelope', () => {
  it('returns the typed envelope of a valid event', () => {
    const event = loadFixture('spot-interruption');

    const result = parseEnvelope(event);

    expect(result).toEqual({
      ok: true,
      envelope: {
        id: event.id,
        source: 'aws.ec2',
        detailType: 'EC2 Spot Instance Interruption Warning',
        account: '123456789012',
        region: 'us-east-1',
        time: new Date('2025-06-05T07:00:00Z'),
        detail: event.detail,
      },
    });
  });

  it('accepts a null-prototype object', () => {
    const event = Object.assign(Object.create(null), loadFixture('spot-interruption'));

    expect(parseEnvelope(event).ok).toBe(true);
  });

  it('refuses an object with a class prototype it could inherit fields from', () => {
    const event = Object.assign(Object.create({ inherited: true }), loadFixture('spot-interruption'));

    expect(parseEnvelope(event)).toMatchObject({
      ok: false,
      reason: 'event: expected an object, got object',
    });
  });
});
