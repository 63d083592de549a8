import { describe, expect, it } from 'vitest';
import {
  actionStrength,
  compareActions,
  decideAction,
  defaultPolicyConfig,
  isUpgrade,
  type PolicyConfig,
  strongerAction,
} from '../../src/policy.js';
import {
  type Action,
  type InterruptionNotice,
  NoticeKind as Kinds,
  type NoticeKind,
} from '../../src/types.js';

function notice(kind: NoticeKind): InterruptionNotice {
  return {
    kind,
    instanceId: 'i-0123456789abcdef0',
    region: 'us-east-1',
    account: '123456789012',
    eventId: 'e-1',
    eventTime: new Date('2025-06-05T07:00:00Z'),
    deadline: undefined,
  };
}

const allOff: PolicyConfig = {
  spotInterruption: false,
  rebalanceMonitoring: false,
  rebalanceDraining: false,
  stateChange: false,
  scheduledChange: false,
  asgLifecycle: false,
  capacityReservation: false,
  cordonOnly: false,
};

describe('decideAction', () => {
  it.each([
    [Kinds.SpotInterruption, 'drain'],
    [Kinds.RebalanceRecommendation, 'cordon'],
    [Kinds.StateChange, 'drain'],
    [Kinds.ScheduledChange, 'drain'],
    [Kinds.AsgTerminate, 'drain'],
    [Kinds.CapacityReservationInterruption, 'drain'],
  ])('with the defaults, %s -> %s', (kind, action) => {
    expect(decideAction(notice(kind), defaultPolicyConfig)).toBe(action);
  });

  it.each([
    [Kinds.SpotInterruption, 'spotInterruption'],
    [Kinds.StateChange, 'stateChange'],
    [Kinds.ScheduledChange, 'scheduledChange'],
    [Kinds.AsgTerminate, 'asgLifecycle'],
    [Kinds.CapacityReservationInterruption, 'capacityReservation'],
  ] as const)('%s drains only when %s is on', (kind, switchName) => {
    expect(decideAction(notice(kind), { ...defaultPolicyConfig, [switchName]: false })).toBe('none');
    expect(decideAction(notice(kind), { ...allOff, [switchName]: true })).toBe('drain');
  });

  it.each([
    [false, false, 'none'],
    [true, false, 'cordon'],
    [false, true, 'drain'],
    [true, true, 'drain'],
  ])('rebalance with monitoring=%s draining=%s -> %s', (rebalanceMonitoring, rebalanceDraining, action) => {
    const policy = { ...defaultPolicyConfig, rebalanceMonitoring, rebalanceDraining };

    expect(decideAction(notice(Kinds.RebalanceRecommendation), policy)).toBe(action);
  });

  it('turns every drain into a cordon under cordonOnly, and leaves none alone', () => {
    const policy = { ...defaultPolicyConfig, cordonOnly: true, rebalanceDraining: true };

    const actions = Object.values(Kinds).map((kind) => decideAction(notice(kind), policy));

    expect(actions).toEqual(Object.values(Kinds).map(() => 'cordon'));
    expect(decideAction(notice(Kinds.SpotInterruption), { ...allOff, cordonOnly: true })).toBe('none');
  });

  it('switches off every kind when every switch is off', () => {
    expect(Object.values(Kinds).map((kind) => decideAction(notice(kind), allOff))).toEqual(
      Object.values(Kinds).map(() => 'none'),
    );
  });
});

describe('actionStrength', () => {
  it('orders none < cordon < drain', () => {
    expect([actionStrength('none'), actionStrength('cordon'), actionStrength('drain')]).toEqual([0, 1, 2]);
  });
});

describe('compareActions', () => {
  it.each([
    ['none', 'cordon', -1],
    ['drain', 'cordon', 1],
    ['cordon', 'cordon', 0],
    ['none', 'drain', -2],
  ] as [Action, Action, number][])('compares %s with %s as %d', (a, b, sign) => {
    expect(compareActions(a, b)).toBe(sign);
  });
});

describe('isUpgrade', () => {
  it('is true only when the next action is stronger', () => {
    expect(isUpgrade('cordon', 'drain')).toBe(true);
    expect(isUpgrade('none', 'cordon')).toBe(true);
    expect(isUpgrade('drain', 'drain')).toBe(false);
    expect(isUpgrade('drain', 'cordon')).toBe(false);
  });
});

describe('strongerAction', () => {
  it('returns the stronger of two actions whatever the order', () => {
    expect(strongerAction('cordon', 'drain')).toBe('drain');
    expect(strongerAction('drain', 'none')).toBe('drain');
    expect(strongerAction('none', 'none')).toBe('none');
  });
});
