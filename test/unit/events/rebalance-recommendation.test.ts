import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('rebalanceRecommendationParser', () => {
  it('turns the fixture into one rebalance-recommendation notice without a deadline', () => {
    const event = loadFixture('rebalance-recommendation');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'notices',
      notices: [
        {
          kind: 'rebalance-recommendation',
          instanceId: 'i-0123456789abcdef0',
          region: 'us-east-1',
          account: '123456789012',
          eventId: event.id,
          eventTime: new Date('2025-06-05T07:00:00Z'),
          deadline: undefined,
        },
      ],
    });
  });

  it.each([
    undefined,
    null,
    '',
    'i-',
    'i-0123456789abcdef',
    'i-0123456789abcdef01',
    'I-0123456789abcdef0',
    {},
  ])('rejects detail.instance-id = %j', (value) => {
    const event = withDetail(loadFixture('rebalance-recommendation'), { 'instance-id': value });

    const outcome = parseEvent(event);

    expect(outcome).toMatchObject({ status: 'invalid', eventId: event.id });
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(/^detail\.instance-id: /);
  });
});
