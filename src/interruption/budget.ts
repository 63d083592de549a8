/**
 * The disruption budget: how many nodes of a cluster voluntary drains may hold at once, as
 * Karpenter's NodePool budgets bound its own (`nodes: "10%"`). A drain is voluntary when no deadline
 * of EC2's forces it: a rebalance recommendation, a Health change. Spot, capacity-reservation,
 * Auto Scaling terminate and state-change notices are never delayed (the machine goes whatever we
 * do) but their nodes count. The count is the cluster's (the state label of every node), taken by
 * the door under a lock so that two invocations cannot both take the last place. Pure.
 */
import { NodeEventReason } from '../kube/node-events.js';
import type { BudgetSpec, Step, Transition } from './inputs.js';
import { isVoluntary } from './reasons.js';
import { type InterruptionRecord, type Reason, RecordState } from './record.js';
import { keep, ownHooks, stamp } from './steps.js';
import type { Budget } from './world.js';

export type { Budget, BudgetSpec };

/**
 * States of a node that take it from the cluster's capacity: all but a recorded plan and a wait (a
 * recorded plan that cordoned at its notice counts by its cordon: see countBudget).
 */
export const countedStates: readonly RecordState[] = Object.values(RecordState).filter(
  (s) => s !== RecordState.Scheduled && s !== RecordState.Waiting,
);

/** The param: a whole number of nodes (1 and up), or a percentage (1% to 100%); `none`: no bound. */
export function parseBudgetSpec(raw: string): BudgetSpec | undefined | 'invalid' {
  const text = raw.trim().toLowerCase();
  if (text === 'none') return undefined;
  const match = /^(\d{1,6})(%?)$/.exec(text);
  const value = Number(match?.[1]);
  if (!match || value < 1) return 'invalid';
  if (match[2] === '%') return value <= 100 ? { percent: value } : 'invalid';
  return { count: value };
}

/** The most nodes the budget allows in a cluster of `nodes` nodes (at least one, so nothing waits forever on a tiny cluster). */
export function budgetLimit(spec: BudgetSpec, nodes: number): number {
  const limit = 'count' in spec ? spec.count : Math.ceil((spec.percent * nodes) / 100);
  return Math.max(1, limit);
}

/** Whether starting `admit` for `reasons` takes a place in the budget that is not the node's already. */
export function needsPlace(
  record: InterruptionRecord | undefined,
  reasons: readonly Reason[],
  step: Step,
): boolean {
  if (!step.rules.disruptionBudget) return false;
  // Counted already: by its state, or (a recorded change cordoned at its notice) by the node's
  // cordon, as countBudget counts it: a cordon someone lifted since counts no more.
  if (record && countedStates.includes(record.state)) return false;
  if (record?.state === RecordState.Scheduled && step.world.node.unschedulable) return false;
  return isVoluntary(reasons, step);
}

/**
 * `admit()` when the budget has room for the node (or it needs no place), else the node waits:
 * recorded, unmarked, for the reconcile to move on in order of deadline. Without a count yet, the
 * door is asked to take one (under the lock) and decide again.
 */
export function withinBudget(
  record: InterruptionRecord | undefined,
  r: InterruptionRecord,
  reasons: readonly Reason[],
  step: Step,
  admit: () => Transition,
): Transition {
  if (!needsPlace(record, reasons, step)) return admit();
  const budget = step.world.budget;
  if (!budget) return askToCount(record);
  const deadline = earliest(reasons);
  if (hasRoom(budget, deadline)) return admit();
  const why = `the disruption budget is in use (${budget.inUse} of ${budget.limit} nodes)`;
  // No drain runs while the node waits: hooks on its record (their drain ended, as a hook's reason
  // never waits) are completed now, not when a place frees up.
  const own = ownHooks(r, step.world);
  const completing = own.length > 0 ? [{ type: 'complete-hooks' as const, hooks: own }] : [];
  if (record?.state === RecordState.Waiting && r.reasons === record.reasons) {
    return keep(record, record, 'waiting', why, step, completing);
  }
  const cause = reasons[0]!;
  const waiting = stamp(
    { ...r, state: RecordState.Waiting, deadline: new Date(deadline).toISOString() },
    step,
  );
  const event =
    record?.state === RecordState.Waiting
      ? []
      : [
          {
            type: 'event' as const,
            reason: NodeEventReason.WaitingForBudget,
            message: `${cause.kind} ${cause.eventId} waits: ${why}`,
          },
        ];
  return { record: waiting, effects: [...event, ...completing], outcome: 'waiting', why };
}

/** Nothing decided yet: the door counts the cluster (under the budget's lock) and asks again. */
export function askToCount(record: InterruptionRecord | undefined): Transition {
  return {
    record,
    effects: [],
    outcome: 'waiting',
    why: 'counting the cluster before a voluntary drain',
    budget: true,
  };
}

/** A place for a node whose drain must end by `deadline`, after the nodes waiting with earlier ones. */
export function hasRoom(budget: Budget, deadline: number): boolean {
  const ahead = budget.waiting.filter((d) => d < deadline).length;
  return budget.inUse + ahead < budget.limit;
}

/** The earliest deadline of the reasons: the order in which waiting nodes take places. */
export function earliest(reasons: readonly Reason[]): number {
  return Math.min(...reasons.map((o) => Date.parse(o.deadline)));
}
