import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('spotInterruptionParser', () => {
  it('turns the fixture into one spot-interruption notice due two minutes after the event', () => {
    // Prepare
    const event = loadFixture('spot-interruption');

    // Act
    const outcome = parseEvent(event);

    // Assess
    expect(outcome).toEqual({
      status: 'notices',
      notices: [
        {
          kind: 'spot-interruption',
          instanceId: 'i-0123456789abcdef0',
          region: 'us-east-1',
          account: '123456789012',
          eventId: event.id,
          eventTime: new Date('2025-06-05T07:00:00Z'),
          deadline: new Date('2025-06-05T07:02:00Z'),
          detail: 'terminate',
        },
      ],
    });
  });

  it.each(['terminate', 'stop', 'hibernate'])('accepts instance-action %s as the notice detail', (action) => {
    const outcome = parseEvent(withDetail(loadFixture('spot-interruption'), { 'instance-action': action }));

    expect(outcome.status).toBe('notices');
    expect(outcome.status === 'notices' && outcome.notices[0]?.detail).toBe(action);
  });

  it('accepts an old-style 8-digit instance id', () => {
    const outcome = parseEvent(withDetail(loadFixture('spot-interruption'), { 'instance-id': 'i-1234abcd' }));

    expect(outcome.status === 'notices' && outcome.notices[0]?.instanceId).toBe('i-1234abcd');
  });

  it.each([
    ['instance-id', undefined],
    ['instance-id', 42],
    ['instance-id', 'i-123'],
    ['instance-id', 'i-0123456789ABCDEF0'],
    ['instance-id', 'i-0123456789abcdef0 '],
    ['instance-id', 'i-0123456789abcdef0; rm -rf /'],
    ['instance-id', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0'],
    ['instance-action', undefined],
    ['instance-action', 'reboot'],
    ['instance-action', 'TERMINATE'],
    ['instance-action', ['terminate']],
  ])('rejects detail.%s = %j, naming the field', (field, value) => {
    const event = withDetail(loadFixture('spot-interruption'), { [field]: value });

    const outcome = parseEvent(event);

    expect(outcome).toMatchObject({ status: 'invalid', eventId: event.id });
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(new RegExp(`^detail\\.${field}: `));
  });
});
