import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('capacityReservationInterruptionParser', () => {
  it('turns the fixture into a notice due at instance-termination-time', () => {
    const event = loadFixture('capacity-reservation-interruption');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'notices',
      notices: [
        {
          kind: 'capacity-reservation-interruption',
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

  it('uses a later instance-termination-time as given', () => {
    const event = withDetail(loadFixture('capacity-reservation-interruption'), {
      'instance-termination-time': '2025-06-05T07:05:30Z',
    });

    const outcome = parseEvent(event);

    expect(outcome.status === 'notices' && outcome.notices[0]?.deadline).toEqual(
      new Date('2025-06-05T07:05:30Z'),
    );
  });

  it.each([undefined, 'yyyy-mm-ddThh:mm:ssZ', 17, null])(
    'falls back to time + 2 minutes when instance-termination-time is %j',
    (value) => {
      const event = withDetail(loadFixture('capacity-reservation-interruption'), {
        'instance-termination-time': value,
      });

      const outcome = parseEvent(event);

      expect(outcome.status === 'notices' && outcome.notices[0]?.deadline).toEqual(
        new Date('2025-06-05T07:02:00Z'),
      );
    },
  );

  it('tolerates a missing or odd instance-action by leaving the detail out', () => {
    const missing = parseEvent(
      withDetail(loadFixture('capacity-reservation-interruption'), { 'instance-action': undefined }),
    );
    const odd = parseEvent(
      withDetail(loadFixture('capacity-reservation-interruption'), { 'instance-action': '<b>x</b>' }),
    );

    expect(missing.status === 'notices' && missing.notices[0]?.detail).toBeUndefined();
    expect(odd.status === 'notices' && odd.notices[0]?.detail).toBeUndefined();
  });

  it.each([undefined, '[instance-id]', 'i-0123456789abcdef0\n', 12])(
    'rejects detail.instance-id = %j',
    (value) => {
      const event = withDetail(loadFixture('capacity-reservation-interruption'), { 'instance-id': value });

      const outcome = parseEvent(event);

      expect(outcome).toMatchObject({ status: 'invalid', eventId: event.id });
      expect(outcome.status === 'invalid' && outcome.reason).toMatch(/^detail\.instance-id: /);
    },
  );
});
