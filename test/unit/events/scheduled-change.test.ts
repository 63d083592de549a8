import { describe, expect, it } from 'vitest';
import { noticeKey, parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('scheduledChangeParser', () => {
  it('turns the fixture into one notice per affected instance, all due at startTime', () => {
    const event = loadFixture('scheduled-change');

    const outcome = parseEvent(event);

    const base = {
      kind: 'scheduled-change',
      region: 'us-east-1',
      account: '123456789012',
      eventId: event.id,
      eventTime: new Date('2025-06-05T07:00:00Z'),
      deadline: new Date('2025-06-05T08:00:00Z'),
      detail: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED',
      health: {
        eventArn:
          'arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_8f2b5c1d',
        status: 'upcoming',
      },
    };
    expect(outcome).toEqual({
      status: 'notices',
      notices: [
        { ...base, instanceId: 'i-0123456789abcdef0' },
        { ...base, instanceId: 'i-0fedcba9876543210' },
      ],
    });
  });

  it.each(['upcoming', 'open', 'closed'] as const)('reads statusCode %s', (statusCode) => {
    const outcome = parseEvent(withDetail(loadFixture('scheduled-change'), { statusCode }));

    expect(outcome.status === 'notices' && outcome.notices[0]?.health?.status).toBe(statusCode);
  });

  it('reads endTime, and keeps the eventArn that identifies the event across republications', () => {
    const outcome = parseEvent(
      withDetail(loadFixture('scheduled-change'), {
        statusCode: 'open',
        endTime: 'Sat, 05 Jun 2025 09:00:00 GMT',
      }),
    );

    expect(outcome.status === 'notices' && outcome.notices[0]?.health).toEqual({
      eventArn:
        'arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_8f2b5c1d',
      status: 'open',
      end: new Date('2025-06-05T09:00:00Z'),
    });
  });

  it.each([
    ['no eventArn', undefined],
    [
      'an eventArn that is not a Health ARN',
      'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0',
    ],
    ['an eventArn that is not a string', 42],
  ])('falls back to the event id as the identity for %s', (_, eventArn) => {
    const event = withDetail(loadFixture('scheduled-change'), { eventArn, statusCode: 'sideways' });

    const outcome = parseEvent(event);

    expect(outcome.status === 'notices' && outcome.notices[0]?.health).toEqual({
      eventArn: `event/${event.id}`,
      status: 'upcoming',
    });
  });

  it('gives the notices of one event distinct idempotency keys', () => {
    const outcome = parseEvent(loadFixture('scheduled-change'));

    const keys = outcome.status === 'notices' ? outcome.notices.map(noticeKey) : [];
    expect(new Set(keys).size).toBe(2);
  });

  it.each([
    ['Sat, 05 Jun 2021 07:00:00 GMT', '2021-06-05T07:00:00.000Z'],
    ['05 Jun 2021 07:00:00 GMT', '2021-06-05T07:00:00.000Z'],
    ['2021-06-05T07:00:00Z', '2021-06-05T07:00:00.000Z'],
    ['2021-06-05T09:00:00+02:00', '2021-06-05T07:00:00.000Z'],
  ])('reads startTime %s as the deadline', (startTime, iso) => {
    const outcome = parseEvent(withDetail(loadFixture('scheduled-change'), { startTime }));

    expect(outcome.status === 'notices' && outcome.notices[0]?.deadline?.toISOString()).toBe(iso);
  });

  it('skips entities that are not instances and acts on the rest', () => {
    const event = withDetail(loadFixture('scheduled-change'), {
      affectedEntities: [
        { entityValue: 'vol-0123456789abcdef0' },
        { entityValue: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0' },
        { entityValue: 42 },
        null,
        'i-0123456789abcdef0',
        { entityValue: 'i-0aaaaaaaaaaaaaaaa' },
        { tags: { app: 'x' } },
      ],
    });

    const outcome = parseEvent(event);

    expect(outcome.status === 'notices' && outcome.notices.map((n) => n.instanceId)).toEqual([
      'i-0aaaaaaaaaaaaaaaa',
    ]);
  });

  it('acts once on an instance listed twice', () => {
    const event = withDetail(loadFixture('scheduled-change'), {
      affectedEntities: [{ entityValue: 'i-0123456789abcdef0' }, { entityValue: 'i-0123456789abcdef0' }],
    });

    const outcome = parseEvent(event);

    expect(outcome.status === 'notices' && outcome.notices).toHaveLength(1);
  });

  it.each([[[{ entityValue: 'vol-0123456789abcdef0' }]], [[]]])(
    'ignores an event whose entities %j name no instance',
    (affectedEntities) => {
      const event = withDetail(loadFixture('scheduled-change'), { affectedEntities });

      const outcome = parseEvent(event);

      expect(outcome).toEqual({
        status: 'ignored',
        eventId: event.id,
        reason: 'AWS Health event affects no EC2 instance',
      });
    },
  );

  it.each([
    [{ service: 'RDS' }, 'AWS Health event is not for service EC2'],
    [{ eventTypeCategory: 'issue' }, 'AWS Health event is not a scheduledChange'],
    [{ eventTypeCategory: 'accountNotification' }, 'AWS Health event is not a scheduledChange'],
  ])('ignores %j', (patch, reason) => {
    const outcome = parseEvent(withDetail(loadFixture('scheduled-change'), patch));

    expect(outcome).toMatchObject({ status: 'ignored', reason });
  });

  it.each([
    ['service', undefined],
    ['service', 7],
    ['eventTypeCategory', undefined],
    ['startTime', undefined],
    ['startTime', 'next tuesday'],
    ['startTime', '1'],
    ['startTime', 'Sat, 31 Feb 2021 07:00:00 GMT'],
    ['affectedEntities', undefined],
    ['affectedEntities', { entityValue: 'i-0123456789abcdef0' }],
  ])('rejects detail.%s = %j', (field, value) => {
    const event = withDetail(loadFixture('scheduled-change'), { [field]: value });

    const outcome = parseEvent(event);

    expect(outcome).toMatchObject({ status: 'invalid', eventId: event.id });
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(new RegExp(`^detail\\.${field}: `));
  });

  it('leaves the detail out when eventTypeCode is not a plain code', () => {
    const outcome = parseEvent(withDetail(loadFixture('scheduled-change'), { eventTypeCode: '<script>' }));

    expect(outcome.status === 'notices' && outcome.notices[0]?.detail).toBeUndefined();
  });
});
