/**
 * What goes into the transition and what comes out of it: the inputs (a notice, a look at the
 * world, a holder's renewal or end, hooks completed), the rules that configure it, and the
 * transition itself (the record to write, the effects to carry out in order, and what happened).
 */

import type { NodeEventReason } from '../kube/node-events.js';
import type { TaintEffect, TaintKeys } from '../taint-keys.js';
import type { NoticeKind } from '../types.js';
import type { HookRecord, InterruptionRecord } from './record.js';
import type { World } from './world.js';

/** A notice as the record takes it. */
export interface NoticeInput {
  kind: NoticeKind;
  action: 'cordon' | 'drain';
  eventId: string;
  detail?: string;
  /** When EC2 (or Health, or Auto Scaling) sent it, epoch ms. */
  eventTime: number;
  /** When a drain for it must be over: its own deadline, or its budget (epoch ms). */
  deadline: number;
  hook?: HookRecord;
  /** AWS Health: the change, and where it stands (`start` absent once it is closed). */
  health?: { eventArn: string; status: 'upcoming' | 'open' | 'closed'; start?: number };
  /** One sentence about the notice, written as an Event on the node. */
  message: string;
}

export type Input =
  | { type: 'notice'; holder: string; notice: NoticeInput }
  /** The reconcile, or a second look after a drain stopped: the world as it is now. */
  | { type: 'look'; holder: string }
  | { type: 'renew'; holder: string }
  | { type: 'drain-ended'; holder: string; outcome: DrainEnd }
  /** The holder's invocation ends before its drain: the drain goes on in a fresh one. */
  | { type: 'hand-off'; holder: string }
  | { type: 'hooks-completed'; hooks: HookRecord[] };

/** How a holder's drain ended: its pods' outcome, `halted` (the kubelet stopped) or `failed` (it threw). */
export type DrainEnd = 'drained' | 'deadline-reached' | 'incomplete' | 'halted' | 'failed';

/** `count` nodes, or `percent` of the cluster's nodes (rounded up, as Karpenter does). */
export type BudgetSpec = { count: number } | { percent: number };

/** The effect of this project's taints (TAINT_EFFECT; src/taint-keys.ts says what each does). */
export type { TaintEffect };

/** The configuration the transition follows (from src/config.ts). */
export interface Rules {
  taintNode: boolean;
  /** The effect of this project's taints (TAINT_EFFECT); NoSchedule when absent. */
  taintEffect?: TaintEffect;
  /** Whose keys those taints carry (NTH_TAINT_KEYS, src/taint-keys.ts); this project's when absent. */
  taintKeys?: TaintKeys;
  excludeFromLoadBalancers: boolean;
  outOfServiceTaint: boolean;
  /** A rebalance reason closes after this long; 0 keeps it. */
  rebalanceCordonTtlMs: number;
  /** A Health change is drained this long before it starts. */
  scheduledDrainLeadMs: number;
  scheduledCordonAtNotice: boolean;
  /** How long a drain may run when nothing else sets its end. */
  noDeadlineBudgetMs: number;
  /** A draining record not renewed for this long is taken over. */
  staleAfterMs: number;
  /** How many nodes voluntary drains may hold at once (budget.ts); absent: no bound. */
  disruptionBudget?: BudgetSpec;
}

export interface Step {
  now: number;
  world: World;
  rules: Rules;
}

export type Effect =
  /** Cordon, and add the taints and label the record's marks name (in the same write as the record). */
  | { type: 'mark' }
  /** Add node.kubernetes.io/out-of-service (in the same write). */
  | { type: 'out-of-service' }
  /** Remove what this project's marks vouch for, and the record (in the same write). */
  | { type: 'release' }
  /** Remove this project's out-of-service taint only: the machine is back, other marks stay (same write). */
  | { type: 'lift-out-of-service' }
  /** After the write: drain as the record's holder until `deadline`. */
  | {
      type: 'drain';
      holder: string;
      deadline: number;
      stopWhenNotReady: boolean;
      /** Only voluntary reasons drain (no deadline of EC2's is near): pods that ask not to be disrupted stay. */
      voluntary: boolean;
    }
  /**
   * After the write: ask a fresh invocation to look at the node (and so take the drain over). Lost,
   * the record still says it was handed off, and the reconcile's next look takes it.
   */
  | { type: 'continue-elsewhere' }
  /** After the write: complete these hooks (CONTINUE), then take them off the record. */
  | { type: 'complete-hooks'; hooks: HookRecord[] }
  | { type: 'event'; reason: NodeEventReason; message: string; warning?: boolean };

/** What an input did to the node. */
export const NodeOutcome = {
  Cordoned: 'cordoned',
  /** A drain starts here (the carry-out runs it and reports its pods). */
  Draining: 'draining',
  Scheduled: 'scheduled',
  /** Another holder drains; what the notice brought (an earlier deadline, a hook) is recorded for it. */
  InProgressElsewhere: 'in-progress-elsewhere',
  /** Nothing new: a duplicate, a republication, or what the notice asks is done already. */
  AlreadyDone: 'already-done',
  OutOfService: 'out-of-service',
  Released: 'released',
  /** Health closed its change; another reason, a holder or the node's state keeps the node for now. */
  Closed: 'closed',
  /** The notice's state is one EC2 has since left (a `stopping` for an instance running again). */
  Obsolete: 'obsolete',
  Renewed: 'renewed',
  Ended: 'ended',
  /** The holder's invocation was ending: its drain was handed on to a fresh one. */
  HandedOff: 'handed-off',
  /** The record is no longer the caller's (taken over, or ended by someone else). */
  Lost: 'lost',
  /** This holder's drain stopped: another took the record over (this one was thought dead). */
  TakenOver: 'taken-over',
  HooksCompleted: 'hooks-completed',
  /** Nothing to do now: a live holder, a recorded change not yet due, an instance not yet back. */
  Waiting: 'waiting',
  NodeGone: 'node-gone',
} as const;
export type NodeOutcome = (typeof NodeOutcome)[keyof typeof NodeOutcome];

export interface Transition {
  /** The record to write; undefined removes it; the record read (same object) means no write. */
  record: InterruptionRecord | undefined;
  effects: Effect[];
  outcome: NodeOutcome;
  why: string;
  /** Decide again on a fresh look (node and EC2, uncached) before anything is written. */
  recheck?: boolean;
  /** Decide again once the cluster's disruption budget is counted (under its lock), before anything is written. */
  budget?: boolean;
  /** Once written, give the same input to the new record (a release that lets a notice start anew). */
  again?: boolean;
}
