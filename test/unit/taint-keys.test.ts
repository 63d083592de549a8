import { describe, expect, it } from 'vitest';
import { isDrainerTaintKey, isNthTaintKey, TaintKeys, taintKeyFor } from '../../src/taint-keys.js';
import { NoticeKind } from '../../src/types.js';

describe('taintKeyFor', () => {
  it.each<[NoticeKind, string, string]>([
    ['spot-interruption', 'eks-spot-drainer/spot-interruption', 'aws-node-termination-handler/spot-itn'],
    [
      'rebalance-recommendation',
      'eks-spot-drainer/rebalance-recommendation',
      'aws-node-termination-handler/rebalance-recommendation',
    ],
    [
      'scheduled-change',
      'eks-spot-drainer/scheduled-change',
      'aws-node-termination-handler/scheduled-maintenance',
    ],
    [
      'asg-terminate',
      'eks-spot-drainer/asg-terminate',
      'aws-node-termination-handler/asg-lifecycle-termination',
    ],
    // NTH writes no taint for these: this project's own key under either choice.
    ['state-change', 'eks-spot-drainer/state-change', 'eks-spot-drainer/state-change'],
    [
      'capacity-reservation-interruption',
      'eks-spot-drainer/capacity-reservation-interruption',
      'eks-spot-drainer/capacity-reservation-interruption',
    ],
  ])('keys a %s notice %s, or with NTH keys %s', (kind, own, nth) => {
    expect(taintKeyFor(kind)).toBe(own);
    expect(taintKeyFor(kind, TaintKeys.EksSpotDrainer)).toBe(own);
    expect(taintKeyFor(kind, TaintKeys.AwsNodeTerminationHandler)).toBe(nth);
  });

  it('covers every kind of notice', () => {
    for (const kind of Object.values(NoticeKind)) {
      expect(isDrainerTaintKey(taintKeyFor(kind, TaintKeys.AwsNodeTerminationHandler))).toBe(true);
    }
  });
});

describe('isNthTaintKey and isDrainerTaintKey', () => {
  it.each([
    ['aws-node-termination-handler/spot-itn', true, true],
    ['aws-node-termination-handler/asg-lifecycle-termination', true, true],
    ['eks-spot-drainer/spot-interruption', false, true],
    // A key NTH never wrote, under its prefix: neither NTH's nor ours to write.
    ['aws-node-termination-handler/state-change', false, false],
    ['dedicated', false, false],
  ])('%s: NTH %s, ours to write %s', (key, nth, drainer) => {
    expect(isNthTaintKey(key)).toBe(nth);
    expect(isDrainerTaintKey(key)).toBe(drainer);
  });
});
