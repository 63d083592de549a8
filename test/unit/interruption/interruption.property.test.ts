/**
 * The node's interruption record against its invariants (model/invariants.ts), on random sequences
 * of what can happen to a node (model/commands.ts): notices of every kind in any order, duplicated
 * and late; EC2 stopping, starting, hibernating, terminating; the kubelet gone and back; reconciles
 * at any time; holders crashing; operators and forgers; clocks moving. Seeded, so a failure is
 * reproduced by its seed and path; a counterexample becomes a named test in counterexamples.test.ts.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandedEdges } from '../../../src/interruption/edges.js';
import type { Rules } from '../../../src/interruption/inputs.js';
import { commands } from './model/commands.js';
import { observedEdges, Sim } from './model/sim.js';
import { settle } from './model/world.js';

const rules: fc.Arbitrary<Rules> = fc.record({
  // A budget of 1 or 2 nodes, or none; other nodes (othersHold) fill it.
  disruptionBudget: fc.constantFrom({ count: 1 }, { count: 2 }, undefined),
  taintNode: fc.boolean(),
  taintEffect: fc.constantFrom('NoSchedule' as const, 'PreferNoSchedule' as const, 'NoExecute' as const),
  taintKeys: fc.constantFrom('eks-spot-drainer' as const, 'aws-node-termination-handler' as const),
  excludeFromLoadBalancers: fc.boolean(),
  outOfServiceTaint: fc.boolean(),
  rebalanceCordonTtlMs: fc.constantFrom(0, 30 * 60_000),
  scheduledDrainLeadMs: fc.constant(30 * 60_000),
  scheduledCordonAtNotice: fc.boolean(),
  noDeadlineBudgetMs: fc.constant(600_000),
  staleAfterMs: fc.constant(30_000),
});

describe("a node's interruption, on random sequences", () => {
  it('keeps every invariant after every step of 15,000 sequences, changing states only as listed', () => {
    fc.assert(
      fc.property(rules, commands(), (r, cmds) => {
        const sim = new Sim(r);
        fc.modelRun(() => ({ model: sim, real: sim }), cmds);
        settle(sim);
      }),
      {
        // 15 000: the rules draw the taints' keys and effect too, and the rarest listed change
        // (waiting -> scheduled) takes that many to be reached from this seed.
        numRuns: Number(process.env.MODEL_RUNS ?? 15_000),
        seed: Number(process.env.MODEL_SEED ?? 20_261_202),
      },
    );

    // Every change of state the transition made is one docs/lifecycle.md lists (edges.ts), and every one
    // listed was made: the list is the code's, and the sequences reach all of it.
    const listed = expandedEdges();
    expect([...observedEdges].filter((e) => !listed.has(e)).sort()).toEqual([]);
    // Reaching the rarest changes depends on the seed: held for the pinned one; another (MODEL_SEED,
    // to explore) checks the invariants and that nothing unlisted happens.
    if (process.env.MODEL_SEED === undefined)
      expect([...listed].filter((e) => !observedEdges.has(e)).sort()).toEqual([]);
  }, 120_000);
});
