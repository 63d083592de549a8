/**
 * The one door to a node's record: reads the node, asks the transition what the record becomes, and
 * writes that, with the marks it adds or removes, in one patch guarded by the node's resourceVersion
 * (someone else wrote the node meanwhile: read it and decide again). Where the transition asks for a
 * fresh look before a destructive step, the node and EC2 are read again, uncached, and it decides
 * again on that. Effects that come after the write are returned for carry-out.ts; nothing else in
 * src/ writes the record (a test over src/ keeps it so).
 */
import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import { PatchStrategy, setHeaderOptions } from '../kube/client-node.js';
import type { Budget } from './budget.js';
import type { Input, Rules, Transition } from './inputs.js';
import { type NodePatch, releasePatch, vouchedMarks, writePatch } from './marks.js';
import {
  type InterruptionRecord,
  recordAnnotation,
  recordOn,
  serialiseRecord,
  stateLabel,
} from './record.js';
import { next } from './transition.js';
import { type InstanceFacts, nodeFacts, type World } from './world.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface DoorContext {
  core: k8s.CoreV1Api;
  rules: Rules;
  now: () => number;
  /** EC2's word on one instance, read uncached; undefined where EC2 cannot be asked. */
  describe?: (instanceId: string) => Promise<InstanceFacts>;
  /** The cluster's disruption budget (where rules.disruptionBudget is set). */
  budget?: BudgetKeeper;
}

/** Counts the cluster's disruption budget, under a lock held until the decision on it is written. */
export interface BudgetKeeper {
  /** Takes the cluster's budget lock; resolves to what gives it back. */
  lock(): Promise<() => Promise<void>>;
  /** Nodes held, the limit, and the deadlines of nodes waiting other than `nodeName`. */
  count(nodeName?: string): Promise<Budget>;
}

/** What the caller knows already: the node as just read, EC2's (possibly cached) view, the instance. */
export interface View {
  node?: k8s.V1Node;
  instance?: InstanceFacts | 'unknown';
  /** The instance when the node names none (found by its private DNS name before its providerID is set). */
  instanceId?: string;
  /** The reconcile's count of the budget for its preview (the door counts again, under the lock, to write). */
  budget?: Budget;
}

export interface Applied {
  /** Each transition written (a release may let the same input start anew), in order. */
  transitions: Transition[];
  /** The record as it was read before the first. */
  before: InterruptionRecord | undefined;
  /** The node as last written or read. */
  node: k8s.V1Node;
  world: World;
}

/** Writes what the transition decides for `input`; 'node-gone' when the node no longer exists. */
export async function applyInput(
  nodeName: string,
  input: Input,
  ctx: DoorContext,
  view: View = {},
): Promise<Applied | 'node-gone'> {
  const counted: { budget?: Budget; unlock?: () => Promise<void> } = {};
  try {
    return await decideAndWrite(nodeName, input, ctx, view, counted);
  } finally {
    await counted.unlock?.();
  }
}

async function decideAndWrite(
  nodeName: string,
  input: Input,
  ctx: DoorContext,
  view: View,
  counted: { budget?: Budget; unlock?: () => Promise<void> },
): Promise<Applied | 'node-gone'> {
  let known = view.node;
  let instance = view.instance ?? 'unknown';
  let fresh = false;
  let before: InterruptionRecord | undefined;
  const transitions: Transition[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    const node = known ?? (await readNode(ctx.core, nodeName));
    known = undefined;
    if (!node) return 'node-gone';
    const world = {
      ...worldOf(node, instance, fresh, view.instanceId, ctx.now()),
      ...(counted.budget ? { budget: counted.budget } : {}),
    };
    const { record, transition, patch } = doorStep(node, input, ctx.rules, ctx.now(), world);
    if (transitions.length === 0) before = record;
    if (transition.recheck && !fresh) {
      // A destructive step is decided on EC2's word of now, and on the node as it is now.
      const id = world.node.instanceId;
      instance = ctx.describe && id ? await ctx.describe(id) : 'unknown';
      fresh = true;
      continue;
    }
    if (transition.budget && !counted.budget) {
      // A voluntary drain takes a place only on a count no one else can take meanwhile: the lock
      // is held until this decision is written, and the node read again under it.
      if (!ctx.budget) throw new Error('a disruption budget is set but this context cannot count it');
      counted.unlock = await ctx.budget.lock();
      counted.budget = await ctx.budget.count(nodeName);
      continue;
    }
    if (!patch) return { transitions: [...transitions, transition], before, node, world };
    let written: k8s.V1Node;
    try {
      written = await ctx.core.patchNode({ name: nodeName, body: patch }, mergePatch);
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404) return 'node-gone';
      // Someone else wrote the node between our read and our patch: read and decide again.
      if (status === 409) continue;
      throw error;
    }
    transitions.push(transition);
    if (!transition.again) return { transitions, before, node: written, world };
    known = written;
  }
  throw new Error(`the record of node ${nodeName} kept changing under 30 writes`);
}

export interface DoorStep {
  /** The record as read from the node. */
  record: InterruptionRecord | undefined;
  transition: Transition;
  /** What to write (guarded by the node's resourceVersion); undefined: nothing changes. */
  patch: NodePatch | undefined;
}

/** One decision of the door, pure: the transition for `input` on `node` in `world`, and its patch. */
export function doorStep(node: k8s.V1Node, input: Input, rules: Rules, now: number, world: World): DoorStep {
  const record = recordOn(node);
  const transition = next(record, input, { now, world, rules });
  return {
    record,
    transition,
    patch: transition.recheck || transition.budget ? undefined : patchFor(node, record, transition, rules),
  };
}

/**
 * What the door would decide for `input` on this node and view, written nowhere: the reconcile's
 * preview (a dry run, or a node it can pass over without a request). `fresh` as the caller knows.
 */
export function preview(
  node: k8s.V1Node,
  input: Input,
  ctx: Pick<DoorContext, 'rules' | 'now'>,
  view: View,
  fresh: boolean,
): { transition: Transition; writes: boolean } {
  const world = {
    ...worldOf(node, view.instance ?? 'unknown', fresh, view.instanceId, ctx.now()),
    ...(view.budget ? { budget: view.budget } : {}),
  };
  const { transition, patch } = doorStep(node, input, ctx.rules, ctx.now(), world);
  const asks = transition.recheck === true || transition.budget === true;
  return { transition, writes: asks || patch !== undefined };
}

/** The record's state on a node, for reports (undefined: the node carries none). */
export function recordStateOf(node: k8s.V1Node): InterruptionRecord['state'] | undefined {
  return recordOn(node)?.state;
}

async function readNode(core: k8s.CoreV1Api, name: string): Promise<k8s.V1Node | undefined> {
  try {
    return await core.readNode({ name });
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

export function worldOf(
  node: k8s.V1Node,
  instance: World['instance'],
  fresh: boolean,
  instanceId: string | undefined,
  now: number,
): World {
  // The API server's times, read on our clock (the same in production; a test may move ours).
  const facts = nodeFacts(node, now - Date.now());
  return { node: { ...facts, instanceId: facts.instanceId ?? instanceId }, instance, fresh };
}

/** The patch that makes the node what the transition says, or undefined when nothing changes. */
function patchFor(
  node: k8s.V1Node,
  record: InterruptionRecord | undefined,
  transition: Transition,
  rules: Rules,
): NodePatch | undefined {
  const has = (type: string) => transition.effects.some((e) => e.type === type);
  if (has('release') && record) {
    const patch = releasePatch(node, vouchedMarks(record, nodeFacts(node), rules));
    if (transition.record) {
      patch.metadata.annotations[recordAnnotation] = serialiseRecord(transition.record);
      patch.metadata.labels[stateLabel] = transition.record.state;
    }
    return patch;
  }
  if (!transition.record || transition.record === record) return undefined;
  const effects = {
    mark: has('mark'),
    outOfService: has('out-of-service'),
    liftOutOfService: has('lift-out-of-service'),
  };
  return writePatch(node, transition.record, effects, new Date(), rules.taintEffect);
}
