import type * as k8s from '@kubernetes/client-node';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import type { InstanceState, InstanceStateSource } from '../aws/instance-states.js';
import type { ScheduledEventSource } from '../aws/scheduled-events.js';
import { listMarkedNodes } from '../kube/marked-nodes.js';
import { retryKube } from '../kube/retry-kube.js';
import type { Budget } from './budget.js';
import { type CarryOutContext, moveOn, type NodeReport } from './carry-out.js';
import { preview, recordStateOf, type View } from './door.js';
import type { Transition } from './inputs.js';
import { heldBackDueChange } from './recheck-scheduled.js';
import { holdingReason, type Reason, RecordState, recordOn, stateLabel } from './record.js';
import { type InstanceFacts, instanceIdOf } from './world.js';

/** A listed node is acted on as listed for this long; later, the door reads it again first. */
const listedViewMs = 10_000;

export interface ReconcileOptions {
  /** EC2's view of many instances at once; without it (a kubeconfig-only CLI run) nothing that needs EC2 is done. */
  instanceStates?: InstanceStateSource;
  /** EC2's scheduled events: a recorded Health change is drained only while EC2 still lists it. */
  scheduledEvents?: ScheduledEventSource;
  /** Who acts (the invocation id): it becomes the holder of drains the reconcile starts. */
  holder: string;
  /** Decide and report only. */
  dryRun?: boolean;
  /** At most this many nodes are acted on at once. */
  concurrency?: number;
  /** Only marked nodes that also match this label selector (a staged rollout, one node pool). */
  selector?: string;
  /** Only this node (a drain handed off): one look, as the pass would take it. */
  node?: string;
}

/** What the reconcile did with one marked node. */
export interface NodeReconcileReport {
  node: string;
  instanceId: string | undefined;
  /** The record's state when the pass read it. */
  state: string;
  /** The notice that held the node when the pass read it (the record's strongest reason), if any. */
  heldBy?: Pick<Reason, 'kind' | 'eventId' | 'action'>;
  /** What the pass decided from its view: release, out-of-service, drain, complete-hooks or wait. */
  step: 'release' | 'out-of-service' | 'drain' | 'complete-hooks' | 'wait';
  why: string;
  /** What came of it: released, out-of-service, the drain's outcome, hooks completed, or the error. */
  result?: string;
  report?: NodeReport;
  error?: string;
  /** Why a due drain was held back (the `rejected` metric's reason): EC2 no longer lists the change. */
  refused?: string;
}

/**
 * One pass over a cluster: every node carrying this project's state label is looked at through the
 * door, with the world as it is now. EC2 is asked in batches for the whole pass; a step that would
 * release a node or take it out of service asks EC2 again for that instance, and reads the node
 * again, before it is written. Nodes are independent: one that fails is reported, the others go on.
 */
export async function reconcileCluster(
  ctx: CarryOutContext,
  options: ReconcileOptions,
): Promise<NodeReconcileReport[]> {
  const call = { deadline: ctx.deadline, now: ctx.now, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const nodes = await retryKube(() => listMarkedNodes(ctx.apis.core, options.selector, options.node), call);
  const listedAt = ctx.now();
  const ids = nodes.flatMap((n) => instanceIdOf(n) ?? []);
  const states =
    options.instanceStates && ids.length > 0
      ? await options.instanceStates(ids, call as AwsCallOptions)
      : undefined;
  const reports: NodeReconcileReport[] = [];
  // Earliest deadline first: nodes waiting for the disruption budget take free places in that order.
  const queue = [...nodes].sort((a, b) => deadlineOf(a) - deadlineOf(b));
  const budget = await budgetSnapshot(nodes, ctx);
  const worker = async () => {
    for (let node = queue.shift(); node; node = queue.shift()) {
      const id = instanceIdOf(node);
      const state = id ? states?.get(id) : undefined;
      const view: View = { node, instance: state ? instanceFacts(state) : 'unknown', ...budget };
      const report = await reconcileNode(node, view, ctx, options, ctx.now() - listedAt < listedViewMs);
      const moved = report.result !== undefined && report.result !== 'waiting';
      if (budget.budget && report.state === RecordState.Waiting && moved) {
        // Its place taken: one more held, one fewer ahead of the others.
        budget.budget.inUse++;
        const at = budget.budget.waiting.indexOf(deadlineOf(node));
        if (at >= 0) budget.budget.waiting.splice(at, 1);
      }
      reports.push(report);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 10) }, worker));
  return reports.sort((a, b) => a.node.localeCompare(b.node));
}

async function reconcileNode(
  node: k8s.V1Node,
  view: View,
  ctx: CarryOutContext,
  options: ReconcileOptions,
  young: boolean,
): Promise<NodeReconcileReport> {
  const look = { type: 'look' as const, holder: options.holder };
  // A dry run shows what a pass would do on EC2's answer of this pass, as if it were asked again.
  const { transition: decided, writes } = preview(node, look, ctx, view, options.dryRun === true);
  const held = recordOn(node);
  const reason = held ? holdingReason(held) : undefined;
  const report: NodeReconcileReport = {
    node: node.metadata?.name ?? '',
    instanceId: instanceIdOf(node),
    state: recordStateOf(node) ?? 'none',
    ...(reason ? { heldBy: { kind: reason.kind, eventId: reason.eventId, action: reason.action } } : {}),
    step: stepOf(decided),
    why: decided.why,
  };
  // A node nothing happens to costs no request: most marked nodes wait, most of the time.
  if (options.dryRun || (!writes && decided.effects.length === 0)) return report;
  try {
    // Issue 21: a recorded Health change is asked of EC2 again before its drain (recheck-scheduled.ts).
    if (report.step === 'drain' && options.scheduledEvents) {
      const call = { deadline: ctx.deadline, ...(ctx.signal ? { signal: ctx.signal } : {}) };
      const held = await heldBackDueChange(node, options.scheduledEvents, ctx.now(), call);
      if (held) return { ...report, step: 'wait', why: held.detail, refused: held.reason };
    }
    const moved = await moveOn(
      report.node,
      look,
      ctx,
      young ? view : { instance: view.instance ?? 'unknown' },
    );
    report.report = moved;
    report.result = resultOf(moved);
  } catch (error) {
    report.error = (error as Error)?.message ?? String(error);
  }
  return report;
}

function stepOf(decided: Transition): NodeReconcileReport['step'] {
  // A node waiting for the budget, where the pass's count saw a free place.
  if (decided.budget) return 'drain';
  if (decided.recheck) return /out-of-service/.test(decided.why) ? 'out-of-service' : 'release';
  const types = new Set(decided.effects.map((e) => e.type));
  if (types.has('release')) return 'release';
  if (types.has('out-of-service')) return 'out-of-service';
  if (types.has('drain')) return 'drain';
  if (types.has('complete-hooks')) return 'complete-hooks';
  return 'wait';
}

function resultOf(moved: NodeReport): string {
  if (moved.drain && (moved.node === 'ended' || moved.node === 'taken-over')) {
    return moved.node === 'ended' ? moved.drain.outcome : moved.node;
  }
  if (moved.node === 'waiting' && moved.hooksCompleted.length > 0)
    return `${moved.hooksCompleted.length} hooks completed`;
  return moved.node;
}

function deadlineOf(node: k8s.V1Node): number {
  const deadline = Date.parse(recordOn(node)?.deadline ?? '');
  return Number.isNaN(deadline) ? Number.POSITIVE_INFINITY : deadline;
}

/**
 * One count of the disruption budget for the pass's previews, when a node waits for it: a waiting
 * node finding no place costs no request. Kept up as the pass takes places; the door counts again,
 * under the lock, before any place is taken.
 */
async function budgetSnapshot(
  nodes: readonly k8s.V1Node[],
  ctx: CarryOutContext,
): Promise<{ budget?: Budget }> {
  const waits = nodes.some((n) => n.metadata?.labels?.[stateLabel] === RecordState.Waiting);
  return ctx.budget && waits ? { budget: await ctx.budget.count() } : {};
}

/** EC2's answer as the transition reads it. */
export function instanceFacts(state: InstanceState): InstanceFacts {
  return {
    state: state.state,
    ...(state.launchTime ? { launchTime: state.launchTime.getTime() } : {}),
    ...(state.stateReason ? { stateReason: state.stateReason } : {}),
    ...(state.autoScalingGroup ? { autoScalingGroup: state.autoScalingGroup } : {}),
  };
}
