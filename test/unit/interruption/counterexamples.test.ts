/**
 * Sequences the model-based test shrank to while the state machine was built, each replayed as a
 * named test: the rule it broke, what the code did wrong then, and what it does now. The same
 * invariants (model/invariants.ts) are checked after every step, and the world settles at the end.
 */
import { describe, expect, it } from 'vitest';
import type { Rules } from '../../../src/interruption/inputs.js';
import { recordOn } from '../../../src/interruption/record.js';
import { NoticeKind } from '../../../src/types.js';
import { Sim } from './model/sim.js';
import { type Happening, happenings as h, happen, hour, minute, settle } from './model/world.js';

const defaults: Rules = {
  taintNode: true,
  excludeFromLoadBalancers: false,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 0,
  scheduledDrainLeadMs: 30 * minute,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 10 * minute,
  staleAfterMs: 30_000,
};

const arnA = 'arn:aws:health:us-east-1::event/EC2/A';

/** Plays the happenings in order (each must be possible), holding the invariants after each. */
function play(rules: Partial<Rules>, steps: Happening[]): Sim {
  const sim = new Sim({ ...defaults, ...rules });
  for (const step of steps) {
    expect(step.when(sim), `${step.name} can happen after: ${sim.log.join(' → ')}`).toBe(true);
    happen(sim, step);
  }
  return sim;
}

/** Plays the happenings, then lets the world settle. */
function replay(rules: Partial<Rules>, steps: Happening[]): Sim {
  const sim = play(rules, steps);
  settle(sim);
  return sim;
}

const spot = (detail = 'terminate', lateMs = 0) =>
  h.notice({ kind: NoticeKind.SpotInterruption, detail, lateMs });
const asg = (lateMs = 0) => h.notice({ kind: NoticeKind.AsgTerminate, lateMs });
const health = (status: 'upcoming' | 'open' | 'closed', startInMs: number) =>
  h.notice({ kind: NoticeKind.ScheduledChange, lateMs: 0, health: { arn: arnA, status, startInMs } });

describe('counterexamples the model found, kept', () => {
  it('rule 8: a redelivered Health change takes no place an operator freed while the budget is full', () => {
    // Once (100 000 sequences, seed 7), a change cordoned at its notice, uncordoned by an operator,
    // was cordoned again by its redelivery while another node held the only place: the budget read
    // the record's stale "cordoned" as a place already held.
    const rules = { disruptionBudget: { count: 1 }, scheduledCordonAtNotice: true, taintNode: false };
    const sim = play(rules, [
      health('upcoming', 14 * 24 * hour),
      h.othersHold(1),
      h.operator('uncordon'),
      h.redeliver(0),
    ]);

    expect(sim.node.spec?.unschedulable).toBeFalsy();
    expect(recordOn(sim.node)?.state).toBe('scheduled');
  });

  it('rule 8: a node an operator cordoned is counted as the cluster counts it, so a Spot drain needs no place', () => {
    // The model once took the drain for a new place; the cluster's count (a recorded change on a
    // cordoned node) held it already.
    const sim = play({ disruptionBudget: { count: 1 } }, [
      health('upcoming', 2 * hour),
      h.advance(30 * minute),
      h.operator('cordon'),
      h.othersHold(1),
      spot(),
    ]);

    expect(recordOn(sim.node)?.state).toBe('draining');
    settle(sim);
  });

  it('rule 7: a claim of the record never passes into the value of a taint written later', () => {
    // Once, a forged record's "we added the label" went into the value of a taint the next mark
    // wrote, which then vouched for removing an operator's load-balancer label.
    const sim = replay({ excludeFromLoadBalancers: false }, [
      health('upcoming', -hour),
      h.forge(3),
      h.kubeletGone(),
      h.operator('label'),
      h.redeliver(0),
      h.advance(30 * minute),
      h.kubeletReady(true),
      h.redeliver(0),
    ]);

    expect(sim.node.metadata?.labels?.['node.kubernetes.io/exclude-from-external-load-balancers']).toBe(
      'true',
    );
  });

  it('rule 3: a release removes every taint of this project, whatever the record lists', () => {
    // Once, a forged record that did not list our state-change taint left it, and our cordon, behind.
    const sim = replay({}, [
      h.notice({ kind: NoticeKind.StateChange, detail: 'stopping', lateMs: 0 }),
      h.forge(0),
      h.reconcile(),
    ]);

    // What stays is someone else's: an operator's taint, and NTH's own on the key NTH_TAINT_KEYS would use.
    expect((sim.node.spec?.taints ?? []).map((t) => t.key)).toEqual([
      'dedicated',
      'aws-node-termination-handler/spot-itn',
    ]);
  });

  it('rule 6: a record kept for its hooks alone completes them once', () => {
    // Once, a release that kept the record for a hook released it again on the next pass of the
    // same input, and completed the hook at each: seven times.
    const sim = replay({ taintNode: false }, [asg(), h.holderEnds(0, 'failed'), h.reboot(), h.redeliver(0)]);

    expect(sim.hooks.attempts.filter((a) => a.remembered)).toHaveLength(1);
  });

  it('rule 6: an Auto Scaling event delivered again after its drain ended does not complete the hook again', () => {
    const sim = replay({ taintNode: false }, [asg(), h.holderEnds(0, 'drained'), h.redeliver(0)]);

    expect(sim.hooks.attempts).toHaveLength(1);
  });

  it('rule 3: a rebalance recommendation delivered again after its TTL does not cordon again', () => {
    const sim = replay({ taintNode: false, rebalanceCordonTtlMs: 30 * minute }, [
      h.notice({ kind: NoticeKind.RebalanceRecommendation, lateMs: 0 }),
      h.advance(30 * minute),
      h.redeliver(0),
      h.reconcile(),
    ]);

    expect(sim.node.spec?.unschedulable).toBeFalsy();
  });

  it("rule 2: a cordon an operator makes after lifting ours (and a look saw it lifted) is the operator's", () => {
    const sim = replay({ taintNode: false }, [
      health('upcoming', -hour),
      h.operator('uncordon'),
      h.reconcile(),
      h.operator('cordon'),
      h.advance(7 * 24 * hour),
      h.reconcile(),
    ]);

    expect(sim.node.spec?.unschedulable).toBe(true);
  });

  it('rule 1: a machine back within its Spot warning loses out-of-service and keeps its cordon', () => {
    // Once, out-of-service stayed on the Ready node of a running instance: a Spot reason that held
    // until its deadline kept the record out of service.
    const sim = replay({}, [
      spot(),
      h.kubeletGone(),
      h.ec2('stop'),
      h.reconcile(),
      h.ec2Start(),
      h.kubeletReady(true),
      h.reconcile(),
    ]);

    expect((sim.node.spec?.taints ?? []).map((t) => t.key)).not.toContain(
      'node.kubernetes.io/out-of-service',
    );
  });

  it("rule 1: out-of-service is lifted by what the node carries, not by the record's state", () => {
    const sim = replay({}, [
      h.kubeletGone(),
      h.ec2('stop'),
      h.notice({ kind: NoticeKind.StateChange, detail: 'stopping', lateMs: 0 }),
      h.ec2Start(),
      h.forge(3),
      h.notice({ kind: NoticeKind.CapacityReservationInterruption, lateMs: 0 }),
      h.kubeletReady(true),
      h.reconcile(),
    ]);

    expect((sim.node.spec?.taints ?? []).map((t) => t.key)).not.toContain(
      'node.kubernetes.io/out-of-service',
    );
  });

  it('rule 6: the hooks of a drain abandoned while its instance leaves are completed', () => {
    // Once, a dead holder's drain of an instance EC2 said was stopping waited forever, its hook too.
    const sim = replay({ taintNode: false }, [asg(), h.holderCrashes(0), h.ec2('stopping')]);

    expect(sim.hooks.attempts).toHaveLength(1);
  });

  it('rule 6: a notice over before it arrived still completes its hook', () => {
    // An Auto Scaling event ten minutes late for an instance started since: nothing to drain, yet
    // Auto Scaling waits for its answer.
    const sim = replay({ taintNode: false }, [
      h.ec2('stop'),
      h.ec2Start(),
      h.reboot(),
      h.cacheRefreshed(),
      asg(10 * minute),
    ]);

    expect(sim.hooks.attempts).toHaveLength(1);
  });

  it('rule 4: a kubelet Ready before EC2 stopped and started the instance is not the machine back', () => {
    // Once, "Ready after the warning" read as "back" though the kubelet had not been down since EC2
    // started the instance: a Spot warning's node was released with its deadline two minutes ahead.
    replay({ taintNode: false }, [
      spot(),
      h.reboot(),
      h.ec2('stop'),
      h.holderEnds(0, 'drained'),
      h.ec2Start(),
      h.reconcile(),
    ]);
  });

  it('rule 6: a hook whose drain ended is completed even while a rebalance waits for the budget', () => {
    // Seed 1 (15 000 sequences): Auto Scaling could not be reached when the hooked drain ended; a
    // rebalance recommendation then found the budget full, and the node waited for a place with the
    // hook on its record, never completed: waiting decided nothing about hooks.
    const sim = replay({ disruptionBudget: { count: 1 }, taintNode: false, outOfServiceTaint: false }, [
      h.autoScaling(true),
      asg(),
      h.advance(6 * hour),
      h.othersHold(1),
      h.notice({ kind: NoticeKind.RebalanceRecommendation, lateMs: 0 }),
    ]);

    expect(recordOn(sim.node)?.hooks ?? []).toEqual([]);
  });

  it('rule 8: a Health change redelivered after an operator uncordoned takes no place while the budget is full', () => {
    // Seed 7 (15 000 sequences): a Health change cordoned at its notice, a stopping the instance
    // came back from, an operator's uncordon, and the redelivery cordoned the node again with the
    // budget's only place held by another node.
    const rules = { disruptionBudget: { count: 1 }, scheduledCordonAtNotice: true, taintNode: false };
    replay(rules, [
      health('upcoming', 2 * hour),
      h.ec2('hibernate'),
      h.kubeletGone(),
      h.notice({ kind: NoticeKind.StateChange, detail: 'stopping', lateMs: 0 }),
      h.othersHold(1),
      h.ec2Start(),
      h.advance(30 * minute),
      h.operator('uncordon'),
      h.redeliver(0),
    ]);
  });
});
