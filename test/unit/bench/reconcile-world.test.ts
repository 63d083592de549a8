/**
 * The bench's reconcile world (bench/reconcile-world.ts) is steady: each marked state's record, with
 * the EC2 state the bench gives its instance, reads back as written and is left waiting by a look,
 * so a pass over it measures the reconcile's reading and deciding, not drains it happened to start.
 */
import { describe, expect, it } from 'vitest';
import { type MarkedState, markedStates, recordFor } from '../../../bench/reconcile-world.js';
import type { Rules, Step } from '../../../src/interruption/inputs.js';
import { parseRecord, serialiseRecord } from '../../../src/interruption/record.js';
import { next } from '../../../src/interruption/transition.js';

const at = new Date('2026-06-01T12:00:00Z');
const instanceId = 'i-0123456789abcdef0';

/** The defaults of src/config.ts, with the budget the scenario sets (10% of a cluster of 1 000). */
const rules: Rules = {
  taintNode: true,
  excludeFromLoadBalancers: false,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 0,
  scheduledDrainLeadMs: 30 * 60_000,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 10 * 60_000,
  staleAfterMs: 30_000,
  disruptionBudget: { percent: 10 },
};

/** EC2 as the bench leaves it: out-of-service stopped, drained terminated, the others running. */
const ec2State: Record<MarkedState, string> = {
  cordoned: 'running',
  drained: 'terminated',
  'out-of-service': 'stopped',
  scheduled: 'running',
  waiting: 'running',
};

function step(state: MarkedState, now: number): Step {
  return {
    now,
    rules,
    world: {
      // A KWOK node: Ready since before the record, no boot id.
      node: {
        ready: true,
        readySince: at.getTime() - 5_000,
        bootId: undefined,
        unschedulable: state !== 'scheduled' && state !== 'waiting',
        lbLabel: false,
        taints: [],
        instanceId,
      },
      instance: { state: ec2State[state], launchTime: at.getTime() - 10_000 },
      fresh: true,
      budget: { inUse: 600, limit: 100, waiting: [] },
    },
  };
}

describe('the bench reconcile world', () => {
  it.each(markedStates)('keeps a %s node waiting, its record read back as written', (state) => {
    const { record } = recordFor(state, instanceId, at);
    expect(parseRecord(serialiseRecord(record))).toEqual(record);
    const decided = next(record, { type: 'look', holder: 'bench' }, step(state, at.getTime() + 60_000));
    expect(decided).toMatchObject({ outcome: 'waiting', effects: [] });
    expect(decided.record).toEqual(record);
  });
});
