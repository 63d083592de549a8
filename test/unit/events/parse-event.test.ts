import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withEnvelope } from './fixtures.js';

describe('parseEvent', () => {
  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [42, 'number'],
    ['{"id":"x"}', 'string'],
    [[loadFixture('spot-interruption')], 'array'],
    [true, 'boolean'],
    [() => 1, 'function'],
    [new Date(), 'object'],
  ])('refuses %j as not an event object', (raw, what) => {
    expect(parseEvent(raw)).toEqual({
      status: 'invalid',
      eventId: undefined,
      reason: `event: expected an object, got ${what}`,
    });
  });

  it.each([
    ['id', undefined],
    ['id', ''],
    ['id', 'has space'],
    ['id', 'a/b'],
    ['id', 'x'.repeat(129)],
    ['id', 7],
    ['source', undefined],
    ['source', ''],
    ['detail-type', undefined],
    ['detail-type', ['EC2 Spot Instance Interruption Warning']],
    ['account', undefined],
    ['account', '12345678901'],
    ['account', '1234567890123'],
    ['account', '12345678901a'],
    ['account', 123456789012],
    ['account', '[instance owner Account ID]'],
    ['time', undefined],
    ['time', 'yyyy-mm-ddThh:mm:ssZ'],
    ['time', '2021-02-30T00:00:00Z'],
    ['time', 1_717_570_800],
    ['region', undefined],
    ['region', 'US-EAST-1'],
    ['region', 'us-east'],
    ['region', '[region]'],
    ['region', 'us-east-1; curl evil'],
    ['detail', undefined],
    ['detail', null],
    ['detail', []],
    ['detail', '{"instance-id":"i-0123456789abcdef0"}'],
  ])('refuses envelope field %s = %j, naming it', (field, value) => {
    const outcome = parseEvent(withEnvelope(loadFixture('spot-interruption'), { [field]: value }));

    expect(outcome.status).toBe('invalid');
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(new RegExp(`^event\\.${field}: `));
  });

  it('keeps a well-formed event id on an invalid outcome so it can be correlated', () => {
    const event = withEnvelope(loadFixture('spot-interruption'), { account: 'nope' });

    expect(parseEvent(event)).toMatchObject({ status: 'invalid', eventId: event.id });
  });

  it('names the unknown source and detail-type', () => {
    const event = withEnvelope(loadFixture('spot-interruption'), {
      source: 'aws.s3',
      'detail-type': 'Object Created',
    });

    expect(parseEvent(event)).toEqual({
      status: 'invalid',
      eventId: event.id,
      reason: 'no parser for source "aws.s3" detail-type "Object Created"',
    });
  });

  it('does not echo a huge unknown source or detail-type back', () => {
    const event = withEnvelope(loadFixture('spot-interruption'), {
      source: `aws.${'s'.repeat(1_000_000)}`,
      'detail-type': `\u001b[31m${'d'.repeat(1_000_000)}`,
    });

    const outcome = parseEvent(event);

    expect(outcome.status).toBe('invalid');
    expect(outcome.status === 'invalid' && outcome.reason.length).toBeLessThan(200);
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(/^[\x20-\x7e]+$/);
  });

  it('refuses a huge id without echoing it', () => {
    const outcome = parseEvent(withEnvelope(loadFixture('spot-interruption'), { id: 'a'.repeat(5_000_000) }));

    expect(outcome).toEqual({
      status: 'invalid',
      eventId: undefined,
      reason: 'event.id: is not a valid event id',
    });
  });

  it('is not fooled by __proto__ keys and pollutes nothing', () => {
    const raw = JSON.parse(`{
      "__proto__": { "polluted": true, "instance-id": "i-0123456789abcdef0" },
      "id": "1e5527d7-bb36-4607-3370-4164db56a40e", "source": "aws.ec2",
      "detail-type": "EC2 Instance Rebalance Recommendation", "account": "123456789012",
      "time": "2025-06-05T07:00:00Z", "region": "us-east-1",
      "detail": { "__proto__": { "instance-id": "i-0123456789abcdef0" }, "constructor": { "prototype": { "polluted": true } } }
    }`);

    const outcome = parseEvent(raw);

    expect(outcome.status).toBe('invalid');
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(/^detail\.instance-id: /);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('instance-id');
  });

  it('turns throwing getters and proxies into invalid outcomes', () => {
    const getter = { ...loadFixture('spot-interruption') };
    Object.defineProperty(getter, 'detail', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        getPrototypeOf() {
          throw new Error('boom');
        },
      },
    );

    expect(parseEvent(getter)).toMatchObject({ status: 'invalid', reason: 'event: unreadable input' });
    expect(parseEvent(proxy)).toEqual({
      status: 'invalid',
      eventId: undefined,
      reason: 'event: unreadable input',
    });
  });

  it('ignores unknown extra fields in the envelope and the detail', () => {
    const event = withEnvelope(loadFixture('rebalance-recommendation'), {
      extra: { deep: [1, 2, { x: null }] },
    });

    expect(parseEvent(event).status).toBe('notices');
  });

  it('survives deeply nested junk in the detail', () => {
    let junk: unknown = 'i-0123456789abcdef0';
    for (let i = 0; i < 10_000; i += 1) junk = { a: junk, b: [junk] };
    const event = loadFixture('spot-interruption');
    event.detail.junk = junk;

    expect(parseEvent(event).status).toBe('notices');
  });
});
