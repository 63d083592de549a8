import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Rules } from '../../../src/interruption/inputs.js';
import {
  releasePatch,
  vouchedMarks,
  vouchValue,
  withMarks,
  writePatch,
} from '../../../src/interruption/marks.js';
import type { InterruptionRecord } from '../../../src/interruption/record.js';
import { nodeFacts } from '../../../src/interruption/world.js';

const rules: Rules = {
  taintNode: true,
  excludeFromLoadBalancers: true,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 0,
  scheduledDrainLeadMs: 1_800_000,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 600_000,
  staleAfterMs: 30_000,
};
const at = '2026-06-01T00:00:00.000Z';
const lb = 'node.kubernetes.io/exclude-from-external-load-balancers';

function record(
  marks: InterruptionRecord['marks'],
  extra: Partial<InterruptionRecord> = {},
): InterruptionRecord {
  return {
    v: 3,
    state: 'drained',
    reasons: [{ kind: 'spot-interruption', action: 'drain', eventId: 'e', at, deadline: at }],
    deadline: at,
    since: at,
    updatedAt: at,
    marks,
    hooks: [],
    ...extra,
  };
}

function node(taints: k8s.V1Taint[], unschedulable = true, labels: Record<string, string> = {}): k8s.V1Node {
  return { metadata: { name: 'n', resourceVersion: '7', labels }, spec: { unschedulable, taints } };
}

const ours = (value: string): k8s.V1Taint => ({
  key: 'eks-spot-drainer/spot-interruption',
  value,
  effect: 'NoSchedule',
});
const operators: k8s.V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
const claims = { cordoned: true, taints: ['dedicated', 'eks-spot-drainer/spot-interruption'], lbLabel: true };

describe('vouchedMarks', () => {
  it.each<[string, k8s.V1Taint[], Partial<Rules>, { cordoned: boolean; lbLabel: boolean }]>([
    [
      'our taint says we cordoned and labelled',
      [ours('cordoned.lb-excluded')],
      {},
      { cordoned: true, lbLabel: true },
    ],
    ['our taint says we cordoned only', [ours('cordoned')], {}, { cordoned: true, lbLabel: false }],
    ['our taint says we made neither', [ours('marked')], {}, { cordoned: false, lbLabel: false }],
    ['no taint of ours vouches', [], {}, { cordoned: false, lbLabel: false }],
    ['TAINT_NODE=false: only the record says', [], { taintNode: false }, { cordoned: true, lbLabel: true }],
  ])('backs the claims of a record when %s', (_, taints, change, expected) => {
    // Act
    const vouched = vouchedMarks(record(claims), nodeFacts(node([operators, ...taints])), {
      ...rules,
      ...change,
    });

    // Assess
    expect(vouched).toMatchObject(expected);
  });

  it("removes every taint of this project, and never an operator's, whatever the record lists", () => {
    // Prepare: the record names the operator's taint and forgets ours; the node has an operator's
    // out-of-service taint (value nodeshutdown) and ours.
    const theirs: k8s.V1Taint = {
      key: 'node.kubernetes.io/out-of-service',
      value: 'nodeshutdown',
      effect: 'NoExecute',
    };
    const n = node([
      operators,
      theirs,
      ours('cordoned'),
      { key: 'eks-spot-drainer/state-change', value: 'marked', effect: 'NoSchedule' },
    ]);

    // Act
    const vouched = vouchedMarks(
      record({ cordoned: true, taints: ['dedicated'], lbLabel: false }),
      nodeFacts(n),
      rules,
    );
    const patch = releasePatch(n, vouched);

    // Assess
    expect(vouched.taints.sort()).toEqual([
      'eks-spot-drainer/spot-interruption',
      'eks-spot-drainer/state-change',
    ]);
    expect(patch.spec?.taints).toEqual([operators, theirs]);
    expect(patch.spec?.unschedulable).toBeNull();
  });

  it('trusts a version 2 record whose taint that version wrote (the event id as its value)', () => {
    // Act
    const vouched = vouchedMarks(
      record(claims, { legacy: true }),
      nodeFacts(node([ours('3f2a9c1e-event')])),
      rules,
    );

    // Assess
    expect(vouched).toMatchObject({ cordoned: true, lbLabel: true });
  });
});

describe('withMarks and writePatch', () => {
  it('records a cordon only where the node was schedulable, and says so in every taint of ours', () => {
    // Prepare: our taint from an earlier mark, when an operator had cordoned; the operator lifted it since.
    const n = node([ours('marked')], false);
    const r = record({ cordoned: false, taints: ['eks-spot-drainer/spot-interruption'], lbLabel: false });

    // Act
    const marks = withMarks(r, nodeFacts(n), rules);
    const patch = writePatch(n, { ...r, marks }, { mark: true, outOfService: false }, new Date(at));

    // Assess
    expect(marks).toMatchObject({ cordoned: true, lbLabel: true });
    expect(patch.spec?.unschedulable).toBe(true);
    expect(patch.spec?.taints).toEqual([ours(vouchValue(marks))]);
    expect(patch.metadata.labels[lb]).toBe('true');
    expect(patch.metadata.resourceVersion).toBe('7');
  });

  it('never carries a claim the node does not back into a taint written now', () => {
    // Prepare: a forged record claims the operator's label as ours.
    const n = node([], true, { [lb]: 'true' });

    // Act
    const marks = withMarks(record(claims), nodeFacts(n), rules);

    // Assess
    expect(marks).toMatchObject({ cordoned: false, lbLabel: false });
    expect(vouchValue(marks)).toBe('marked');
  });
});

describe("NTH's taint keys (NTH_TAINT_KEYS=true)", () => {
  const nthRules: Rules = { ...rules, taintKeys: 'aws-node-termination-handler' };
  const spotItn = 'aws-node-termination-handler/spot-itn';
  /** NTH's own taint: its value is the event id. */
  const nths: k8s.V1Taint = { key: spotItn, value: 'spot-itn-0a1b2c3d', effect: 'NoSchedule' };
  const mark = (n: k8s.V1Node, r: InterruptionRecord, change: Partial<Rules> = {}) => {
    const marks = withMarks(r, nodeFacts(n), { ...nthRules, ...change });
    return writePatch(
      n,
      { ...r, marks },
      { mark: true, outOfService: false },
      new Date(at),
      change.taintEffect,
    );
  };
  const reasons = (...kinds: InterruptionRecord['reasons'][number]['kind'][]) =>
    kinds.map((kind) => ({ kind, action: 'cordon' as const, eventId: `e-${kind}`, at, deadline: at }));

  it("marks each kind NTH taints for with NTH's key, and the others with this project's", () => {
    // Prepare
    const n = node([operators], false);
    const r = record(
      { cordoned: false, taints: [], lbLabel: false },
      { reasons: reasons('spot-interruption', 'scheduled-change', 'state-change') },
    );

    // Act
    const patch = mark(n, r, { taintEffect: 'PreferNoSchedule' });

    // Assess
    expect(patch.spec?.taints?.map((t) => [t.key, t.value, t.effect])).toEqual([
      ['dedicated', 'gpu', 'NoSchedule'],
      [spotItn, 'cordoned.lb-excluded', 'PreferNoSchedule'],
      ['aws-node-termination-handler/scheduled-maintenance', 'cordoned.lb-excluded', 'PreferNoSchedule'],
      ['eks-spot-drainer/state-change', 'cordoned.lb-excluded', 'PreferNoSchedule'],
    ]);
  });

  it("releases its own NTH-keyed taint and keeps NTH's own on the same key", () => {
    // Prepare: NTH tainted the node (NoSchedule); this project marked it after, PreferNoSchedule.
    const n = node([operators, nths], false);
    const r = record(
      { cordoned: false, taints: [], lbLabel: false },
      { reasons: reasons('spot-interruption') },
    );
    const marked = node(mark(n, r, { taintEffect: 'PreferNoSchedule' }).spec!.taints!, true);

    // Act
    const vouched = vouchedMarks(record(claims), nodeFacts(marked), nthRules);
    const patch = releasePatch(marked, vouched);

    // Assess
    expect(marked.spec?.taints).toContainEqual(
      expect.objectContaining({ key: spotItn, effect: 'PreferNoSchedule' }),
    );
    expect(vouched).toMatchObject({ cordoned: true, lbLabel: true, taints: [spotItn] });
    expect(patch.spec?.taints).toEqual([operators, nths]);
    expect(patch.spec?.unschedulable).toBeNull();
  });

  it("vouches by NTH's own taint for nothing, whatever the record claims", () => {
    // Act
    const vouched = vouchedMarks(record(claims), nodeFacts(node([operators, nths])), nthRules);

    // Assess: nothing to take away; NTH's taint, and its cordon, stay.
    expect(vouched).toMatchObject({ cordoned: false, lbLabel: false, taints: [] });
    expect(releasePatch(node([operators, nths]), vouched).spec).toBeUndefined();
  });

  it("falls back to this project's key where NTH's own taint holds the key and effect, so the cordon stays vouched", () => {
    // Prepare: NTH's taint without NTH's cordon (lifted by hand); the same effect as ours.
    const n = node([operators, nths], false);
    const r = record(
      { cordoned: false, taints: [], lbLabel: false },
      { reasons: reasons('spot-interruption') },
    );

    // Act
    const patch = mark(n, r);
    const vouched = vouchedMarks(record(claims), nodeFacts(node(patch.spec!.taints!)), nthRules);

    // Assess
    expect(patch.spec?.taints).toEqual([
      operators,
      nths,
      expect.objectContaining({ key: 'eks-spot-drainer/spot-interruption', value: 'cordoned.lb-excluded' }),
    ]);
    expect(vouched).toMatchObject({ cordoned: true, taints: ['eks-spot-drainer/spot-interruption'] });
  });

  it('releases what it made under either keys after NTH_TAINT_KEYS changed', () => {
    // Prepare: marked under NTH's keys, released with this project's.
    const n = node([operators, { key: spotItn, value: 'cordoned', effect: 'NoSchedule' }]);

    // Act
    const vouched = vouchedMarks(record(claims), nodeFacts(n), rules);

    // Assess
    expect(releasePatch(n, vouched).spec).toEqual({ unschedulable: null, taints: [operators] });
  });
});
