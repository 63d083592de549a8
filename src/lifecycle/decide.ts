/**
 * The lifecycle decision, one pure function: given a marked node's lease, the node and what EC2
 * says of its instance now, the next step. Level-triggered: it reads the world as it is, so a missed
 * or repeated event, or a reconcile run twice, costs a delay and never a wrong state.
 */
import { notRunningStates } from '../aws/instance-states.js';
import type { LifecycleConfig } from '../config.js';
import {
  type DrainLease,
  isFinished,
  isStale,
  LeaseState,
  type LeaseTiming,
  outOfServiceTaint,
} from '../drain/lease.js';
import { NoticeKind } from '../types.js';

/** What the reconcile knows of the node. */
export interface NodeView {
  ready: boolean;
  /** status.nodeInfo.bootID now. */
  bootId: string | undefined;
  /** When the Ready condition last changed (epoch ms). */
  readySince: number | undefined;
  outOfServiceTainted: boolean;
}

/** EC2's word on the instance: a state (`gone` when EC2 no longer knows it), or unknown (no AWS access). */
export type InstanceView = { state: string; launchTime?: number } | 'unknown';

export type ReconcileStep =
  /** The reason for the marks is over: remove exactly what this project added. */
  | { step: 'release'; why: string }
  /** The instance is gone and its kubelet stopped: the out-of-service taint frees its pods. */
  | { step: 'out-of-service'; why: string }
  /** Drain now, until `deadline` (epoch ms). */
  | { step: 'drain'; why: 'due' | 'takeover' | 'retry'; deadline: number }
  /** The drain is over but lifecycle hooks on the lease were never completed. */
  | { step: 'complete-hooks'; why: string }
  | { step: 'wait'; why: string };

export interface DecideInput {
  lease: DrainLease;
  node: NodeView;
  instance: InstanceView;
  now: number;
  config: LifecycleConfig;
  timing: LeaseTiming;
  /** How long a drain may run when nothing sets a deadline (DRAIN_TIMEOUT_SECONDS). */
  noDeadlineBudgetMs: number;
}

/** Spot instance-actions after which EC2 may start the instance again. */
const comesBackActions = new Set(['stop', 'hibernate']);

export function decideStep({
  lease,
  node,
  instance,
  now,
  config,
  timing,
  noDeadlineBudgetMs,
}: DecideInput): ReconcileStep {
  const gone = instance !== 'unknown' && notRunningStates.has(instance.state);
  const running = instance !== 'unknown' && instance.state === 'running';

  if (gone && !node.ready) {
    if (config.outOfServiceTaint && (lease.state !== LeaseState.OutOfService || !node.outOfServiceTainted)) {
      return { step: 'out-of-service', why: `EC2 says ${instance.state} and the kubelet has stopped` };
    }
    if (lease.hooks.length > 0) return { step: 'complete-hooks', why: `the instance is ${instance.state}` };
    return { step: 'wait', why: `the instance is ${instance.state}; nothing left to do on the node` };
  }

  if (lease.state === LeaseState.Draining) {
    if (!isStale(lease, now, timing)) return { step: 'wait', why: `${lease.holder} is draining` };
    if (gone)
      return {
        step: 'wait',
        why: `holder gone, instance ${instance.state}: waiting for the kubelet to stop`,
      };
    return { step: 'drain', why: 'takeover', deadline: drainUntil(lease, now, noDeadlineBudgetMs) };
  }

  const back = running && node.ready && cameBack(lease, node, instance);
  if (lease.state === LeaseState.OutOfService) {
    return back || (running && node.ready)
      ? { step: 'release', why: 'the instance runs again and its kubelet is Ready' }
      : { step: 'wait', why: 'out of service' };
  }

  const schedule = lease.scheduled;
  if (schedule?.closed) {
    if (node.ready && !gone) return { step: 'release', why: `Health closed ${schedule.eventArn}` };
    return { step: 'wait', why: 'Health closed the change; waiting for the node to be Ready' };
  }
  if (
    schedule &&
    (lease.state === LeaseState.Scheduled || lease.state === LeaseState.Cordoned) &&
    now >= Date.parse(schedule.drainAt)
  ) {
    return { step: 'drain', why: 'due', deadline: Math.max(Date.parse(schedule.start), now) };
  }

  if (
    back &&
    (isFinished(lease) || lease.state === LeaseState.Cordoned || lease.state === LeaseState.Failed)
  ) {
    const reason =
      lease.kind === NoticeKind.SpotInterruption && comesBackActions.has(lease.detail ?? '')
        ? `the instance came back after its Spot ${lease.detail}`
        : schedule
          ? 'the scheduled maintenance is over and the instance rebooted'
          : 'the instance came back';
    return { step: 'release', why: reason };
  }

  if (
    lease.kind === NoticeKind.RebalanceRecommendation &&
    config.rebalanceCordonTtlMs > 0 &&
    (lease.state === LeaseState.Cordoned || isFinished(lease)) &&
    now - Date.parse(lease.since) >= config.rebalanceCordonTtlMs &&
    node.ready &&
    !gone
  ) {
    return { step: 'release', why: 'no interruption followed the rebalance recommendation' };
  }

  if (lease.state === LeaseState.Failed && running && Date.parse(lease.deadline) > now) {
    return { step: 'drain', why: 'retry', deadline: Date.parse(lease.deadline) };
  }
  if (lease.hooks.length > 0 && (isFinished(lease) || gone)) {
    return { step: 'complete-hooks', why: 'the drain ended but its lifecycle hooks were not completed' };
  }
  return { step: 'wait', why: `${lease.state}: nothing has changed` };
}

/**
 * Whether the machine booted since the node was marked: a new boot id (a stop and start, a reboot,
 * a hibernation resumed), or, where the kubelet reports none, EC2's launch time or a Ready condition
 * that changed after the marks.
 */
export function cameBack(lease: DrainLease, node: NodeView, instance: InstanceView): boolean {
  if (lease.marks.bootId && node.bootId) return node.bootId !== lease.marks.bootId;
  const since = Date.parse(lease.since);
  if (instance !== 'unknown' && instance.launchTime !== undefined && instance.launchTime > since) return true;
  return node.readySince !== undefined && node.readySince > since;
}

/** A taken-over drain keeps its deadline while one is ahead; past it, the instance still runs: a new budget. */
function drainUntil(lease: DrainLease, now: number, budgetMs: number): number {
  const deadline = Date.parse(lease.deadline);
  return Number.isFinite(deadline) && deadline > now + 10_000 ? deadline : now + budgetMs;
}

/** The out-of-service taint key, for views built from a node. */
export const outOfServiceKey = outOfServiceTaint.key;
