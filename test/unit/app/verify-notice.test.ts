import { describe, expect, it } from 'vitest';
import {
  capNotices,
  checkAge,
  checkOrigin,
  clockSkewAllowanceMs,
  deliveryWindowMs,
  ec2Contradiction,
  isRejection,
  lateDeliveryAllowanceMs,
  maxEventAgeMs,
  Rejection,
  staleAfter,
  verifyEvent,
} from '../../../src/app/verify-notice.js';
import { type InterruptionNotice, NoticeKind } from '../../../src/types.js';

const now = Date.parse('2026-06-05T07:00:00Z');
const origin = { account: '123456789012', region: 'us-east-1' };

/** A notice of `kind` sent `agoMs` before `now`, deadline as its parser would set it. */
function notice(kind: NoticeKind, agoMs = 0, change: Partial<InterruptionNotice> = {}): InterruptionNotice {
  const eventTime = new Date(now - agoMs);
  const twoMinutes = new Date(eventTime.getTime() + 120_000);
  const deadline =
    kind === NoticeKind.SpotInterruption || kind === NoticeKind.CapacityReservationInterruption
      ? twoMinutes
      : kind === NoticeKind.ScheduledChange
        ? new Date(now + 86_400_000)
        : undefined;
  return {
    kind,
    instanceId: 'i-0123456789abcdef0',
    account: origin.account,
    region: origin.region,
    eventId: 'e-1',
    eventTime,
    deadline,
    ...change,
  };
}

const kinds = Object.values(NoticeKind);
const minutes = (n: number) => n * 60_000;

describe('checkOrigin', () => {
  it.each([
    ['the same account and region', {}, origin, 'ok'],
    ['another account', { account: '999999999999' }, origin, 'wrong-account'],
    ['another region', { region: 'ap-south-1' }, origin, 'wrong-region'],
    [
      'another account and region',
      { account: '999999999999', region: 'ap-south-1' },
      origin,
      'wrong-account',
    ],
    [
      'any account when the account is unknown',
      { account: '999999999999' },
      { ...origin, account: undefined },
      'ok',
    ],
    [
      'any region when the region is unknown',
      { region: 'ap-south-1' },
      { ...origin, region: undefined },
      'ok',
    ],
    [
      'another region when only the account is unknown',
      { region: 'ap-south-1' },
      { ...origin, account: undefined },
      'wrong-region',
    ],
  ] as const)('%s: %s', (_, change, where, expected) => {
    // Act
    const verdict = checkOrigin(notice(NoticeKind.SpotInterruption, 0, change), where);

    // Assess
    expect(verdict.ok ? 'ok' : verdict.reason).toBe(expected);
  });

  it('names both accounts, so the log says where the event came from', () => {
    const verdict = checkOrigin(notice(NoticeKind.StateChange, 0, { account: '999999999999' }), origin);

    expect(verdict).toEqual({
      ok: false,
      reason: 'wrong-account',
      detail: 'event of account 999999999999; this function runs in 123456789012',
    });
  });
});

describe('checkAge', () => {
  it.each([
    // Spot and capacity-reservation warnings: their two minutes, plus the delivery allowance.
    [NoticeKind.SpotInterruption, 0, 'ok'],
    [NoticeKind.SpotInterruption, 118_000, 'ok'],
    [NoticeKind.SpotInterruption, 120_000 + lateDeliveryAllowanceMs, 'ok'],
    [NoticeKind.SpotInterruption, 120_000 + lateDeliveryAllowanceMs + 1, 'stale'],
    [NoticeKind.SpotInterruption, minutes(60), 'stale'],
    [NoticeKind.CapacityReservationInterruption, 125_000, 'ok'],
    [NoticeKind.CapacityReservationInterruption, 131_000, 'stale'],
    // No hard deadline: as long as a delivery can take, or the life of an ASG hook.
    [NoticeKind.RebalanceRecommendation, minutes(119), 'ok'],
    [NoticeKind.RebalanceRecommendation, minutes(121), 'stale'],
    [NoticeKind.StateChange, minutes(119), 'ok'],
    [NoticeKind.StateChange, minutes(121), 'stale'],
    [NoticeKind.AsgTerminate, minutes(119), 'ok'],
    [NoticeKind.AsgTerminate, minutes(121), 'stale'],
    [NoticeKind.ScheduledChange, minutes(119), 'ok'],
    [NoticeKind.ScheduledChange, minutes(121), 'stale'],
    // Dated ahead of the clock: a little skew is fine, more is forged.
    [NoticeKind.SpotInterruption, -clockSkewAllowanceMs, 'ok'],
    [NoticeKind.SpotInterruption, -clockSkewAllowanceMs - 1, 'from-the-future'],
    [NoticeKind.ScheduledChange, -minutes(60), 'from-the-future'],
  ] as const)('%s sent %i ms ago: %s', (kind, agoMs, expected) => {
    // Act
    const verdict = checkAge(notice(kind, agoMs), now);

    // Assess
    expect(verdict.ok ? 'ok' : verdict.reason).toBe(expected);
  });

  it('judges a warning by the deadline it carries, not only by its time', () => {
    // Prepare: a capacity-reservation warning whose termination time is set 30 s after its time.
    const early = notice(NoticeKind.CapacityReservationInterruption, 45_000, {
      deadline: new Date(now - 15_000),
    });

    // Act
    const verdict = checkAge(early, now);

    // Assess
    expect(verdict).toEqual({
      ok: false,
      reason: 'stale',
      detail: 'event time 2026-06-05T06:59:15.000Z: its deadline 2026-06-05T06:59:45.000Z passed 15 s ago',
    });
  });

  it('says how old an event without a deadline is', () => {
    const verdict = checkAge(notice(NoticeKind.StateChange, minutes(180)), now);

    expect(verdict).toMatchObject({
      reason: 'stale',
      detail:
        'event time 2026-06-05T04:00:00.000Z: 10800 s old; a state-change event means nothing after 7200 s',
    });
  });

  it('gives every kind a limit no longer than two hours of delivery', () => {
    for (const kind of kinds) expect(maxEventAgeMs[kind]).toBeLessThanOrEqual(deliveryWindowMs);
  });
});

describe('staleAfter', () => {
  it.each(kinds)('is never later than the delivery window for %s', (kind) => {
    const n = notice(kind);

    expect(staleAfter(n)).toBeLessThanOrEqual(n.eventTime.getTime() + deliveryWindowMs);
  });

  it('is the deadline plus the allowance for a Spot warning', () => {
    const n = notice(NoticeKind.SpotInterruption);

    expect(staleAfter(n)).toBe(n.deadline!.getTime() + lateDeliveryAllowanceMs);
  });
});

describe('verifyEvent', () => {
  it('passes a fresh event from here', () => {
    expect(
      verifyEvent([notice(NoticeKind.ScheduledChange), notice(NoticeKind.ScheduledChange)], origin, now),
    ).toEqual({
      ok: true,
    });
  });

  it('rejects an event when any of its notices fails a check', () => {
    // Prepare: nothing is assumed about input, not even that notices of one event share an envelope.
    const notices = [
      notice(NoticeKind.ScheduledChange),
      notice(NoticeKind.ScheduledChange, 0, { region: 'eu-west-1' }),
    ];

    // Act
    const verdict = verifyEvent(notices, origin, now);

    // Assess
    expect(verdict).toMatchObject({ ok: false, reason: 'wrong-region' });
  });

  it('checks origin before age', () => {
    const verdict = verifyEvent(
      [notice(NoticeKind.SpotInterruption, minutes(500), { account: '999999999999' })],
      origin,
      now,
    );

    expect(verdict).toMatchObject({ ok: false, reason: 'wrong-account' });
  });
});

describe('capNotices', () => {
  it.each([
    [3, 5, 3, 0],
    [5, 5, 5, 0],
    [7, 5, 5, 2],
    [1, 1, 1, 0],
    [0, 5, 0, 0],
  ])('of %i notices with a cap of %i acts on %i and leaves %i alone', (count, max, acted, left) => {
    // Prepare
    const notices = Array.from({ length: count }, (_, i) => `i-${String(i).padStart(17, '0')}`);

    // Act
    const result = capNotices(notices, max);

    // Assess
    expect(result.acted).toEqual(notices.slice(0, acted));
    expect(result.leftAlone).toEqual(notices.slice(acted));
    expect(result.leftAlone).toHaveLength(left);
  });
});

describe('ec2Contradiction', () => {
  const before = new Date(now - 3_600_000);
  const after = new Date(now + 1_000);
  const spot = { lifecycle: 'spot' };
  const onDemand = { lifecycle: 'on-demand' };
  it.each([
    [NoticeKind.SpotInterruption, spot, undefined],
    [NoticeKind.SpotInterruption, onDemand, 'ec2-disagrees'],
    [NoticeKind.SpotInterruption, { lifecycle: 'capacity-block' }, 'ec2-disagrees'],
    [NoticeKind.RebalanceRecommendation, spot, undefined],
    [NoticeKind.RebalanceRecommendation, onDemand, 'ec2-disagrees'],
    [NoticeKind.ScheduledChange, onDemand, undefined],
    [NoticeKind.AsgTerminate, onDemand, undefined],
    [NoticeKind.CapacityReservationInterruption, onDemand, 'not-in-capacity-reservation'],
    [NoticeKind.CapacityReservationInterruption, spot, 'not-in-capacity-reservation'],
    [NoticeKind.CapacityReservationInterruption, { ...onDemand, capacityReservationId: 'cr-1' }, undefined],
    [NoticeKind.CapacityReservationInterruption, { lifecycle: 'capacity-block' }, undefined],
    [NoticeKind.StateChange, onDemand, undefined],
    [NoticeKind.StateChange, { ...onDemand, state: 'stopping', launchTime: before }, undefined],
    [NoticeKind.StateChange, { ...onDemand, state: 'stopped', launchTime: before }, undefined],
    // EC2's reads may lag the state change: running since before the event is not a contradiction.
    [NoticeKind.StateChange, { ...onDemand, state: 'running', launchTime: before }, undefined],
    [NoticeKind.StateChange, { ...onDemand, state: 'pending', launchTime: before }, undefined],
    [NoticeKind.StateChange, { ...onDemand, state: 'running', launchTime: after }, 'state-left'],
    [NoticeKind.StateChange, { ...onDemand, state: 'pending', launchTime: after }, 'state-left'],
    [NoticeKind.StateChange, { ...onDemand, state: 'running' }, undefined],
    [NoticeKind.StateChange, { ...onDemand, state: 'terminated', launchTime: after }, undefined],
  ] as const)('%s about %o: %s', (kind, instance, expected) => {
    // Act
    const contradiction = ec2Contradiction(notice(kind), instance);

    // Assess
    expect(contradiction?.reason).toBe(expected);
  });

  it('says what EC2 said', () => {
    expect(ec2Contradiction(notice(NoticeKind.SpotInterruption), { lifecycle: 'on-demand' })).toEqual({
      reason: 'ec2-disagrees',
      detail:
        'EC2 describes i-0123456789abcdef0 as on-demand, not spot; a spot-interruption is only sent for Spot instances',
    });
    expect(
      ec2Contradiction(notice(NoticeKind.StateChange, 0, { detail: 'stopping' }), {
        lifecycle: 'on-demand',
        state: 'running',
        launchTime: after,
      })?.detail,
    ).toBe(
      `EC2 says i-0123456789abcdef0 is running, launched ${after.toISOString()}, after this stopping notice`,
    );
  });
});

describe('isRejection', () => {
  it('knows every reason of Rejection and nothing else', () => {
    for (const reason of Object.values(Rejection)) expect(isRejection(reason)).toBe(true);
    expect(isRejection('node-not-found')).toBe(false);
  });
});
