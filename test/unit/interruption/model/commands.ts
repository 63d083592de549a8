/**
 * The happenings of world.ts as fast-check commands: random sequences, shrunk to the shortest that
 * breaks an invariant.
 */
import * as fc from 'fast-check';
import { NoticeKind } from '../../../../src/types.js';
import type { Sim } from './sim.js';
import { type Happening, happenings as h, happen, hour, minute, type NoticeSpec } from './world.js';

class Step implements fc.Command<Sim, Sim> {
  constructor(readonly happening: Happening) {}
  check(sim: Readonly<Sim>): boolean {
    return this.happening.when(sim as Sim);
  }
  run(_: Sim, sim: Sim): void {
    happen(sim, this.happening);
  }
  toString(): string {
    return this.happening.name;
  }
}

const noticeSpec: fc.Arbitrary<NoticeSpec> = fc.oneof(
  fc.record({
    kind: fc.constant(NoticeKind.SpotInterruption),
    detail: fc.constantFrom('terminate', 'stop', 'hibernate'),
    lateMs: fc.constantFrom(0, 5_000, 125_000),
  }),
  fc.record({
    kind: fc.constant(NoticeKind.RebalanceRecommendation),
    lateMs: fc.constantFrom(0, 30 * minute),
  }),
  fc.record({
    kind: fc.constant(NoticeKind.StateChange),
    detail: fc.constantFrom('stopping', 'stopped', 'shutting-down', 'terminated'),
    lateMs: fc.constantFrom(0, 10_000, 90 * minute),
  }),
  fc.record({
    kind: fc.constant(NoticeKind.ScheduledChange),
    lateMs: fc.constant(0),
    health: fc.record({
      arn: fc.constantFrom('arn:aws:health:us-east-1::event/EC2/A', 'arn:aws:health:us-east-1::event/EC2/B'),
      status: fc.constantFrom('upcoming', 'open', 'closed'),
      startInMs: fc.constantFrom(-hour, 10 * minute, 2 * hour, 14 * 24 * hour),
    }),
  }),
  fc.record({ kind: fc.constant(NoticeKind.AsgTerminate), lateMs: fc.constantFrom(0, 10 * minute) }),
  fc.record({
    kind: fc.constant(NoticeKind.CapacityReservationInterruption),
    lateMs: fc.constantFrom(0, 30_000),
  }),
);

export function commands(): fc.Arbitrary<Iterable<fc.Command<Sim, Sim>>> {
  const outcomes = ['drained', 'deadline-reached', 'incomplete', 'failed'] as const;
  const draws: fc.Arbitrary<Happening>[] = [
    noticeSpec.map(h.notice),
    fc.tuple(fc.nat(), fc.boolean()).map(([i, same]) => h.redeliver(i, same)),
    fc.constantFrom('stopping', 'stop', 'hibernate', 'shutting-down', 'terminate' as const).map(h.ec2),
    fc.constant(h.ec2Forgets()),
    fc.constant(h.ec2Start()),
    fc.constant(h.cacheRefreshed()),
    fc.constant(h.kubeletGone()),
    fc.boolean().map(h.kubeletReady),
    fc.constant(h.reboot()),
    fc.constant(h.reconcile()),
    fc.boolean().map(h.continuation),
    fc.nat().map(h.holderHandsOff),
    fc.nat(3).map(h.othersHold),
    fc.constantFrom(1_000, 10_000, 40_000, 5 * minute, 30 * minute, 6 * hour, 7 * 24 * hour).map(h.advance),
    fc.constant(h.holdersRenew()),
    fc.tuple(fc.nat(), fc.constantFrom(...outcomes)).map(([i, outcome]) => h.holderEnds(i, outcome)),
    fc.nat().map(h.holderCrashes),
    fc.constantFrom('cordon', 'uncordon', 'label' as const).map(h.operator),
    fc.boolean().map(h.autoScaling),
    fc.nat(3).map(h.forge),
  ];
  return fc.commands(
    draws.map((draw) => draw.map((happening) => new Step(happening))),
    { maxCommands: 40, size: 'max' },
  );
}
