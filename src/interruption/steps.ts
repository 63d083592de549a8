/**
 * The steps every input shares: keep or stamp the record, ask for a fresh look, start a drain, take
 * the node out of service, release it; and what the record says of hooks and hibernation. Pure.
 */
import { NodeEventReason } from '../kube/node-events.js';
import { NoticeKind } from '../types.js';
import type { Effect, NodeOutcome, Step, Transition } from './inputs.js';
import { withMarks } from './marks.js';
import { drainUntil, isVoluntary, minimumDrainWindowMs } from './reasons.js';
import { type HookRecord, type InterruptionRecord, type Reason, RecordState } from './record.js';
import { isShutDown, outOfServiceKey, stoppedByHibernation, type World } from './world.js';

/** The record as it is, written only if `changed` differs from it (then stamped). */
export function keep(
  original: InterruptionRecord | undefined,
  changed: InterruptionRecord | undefined,
  outcome: NodeOutcome,
  why: string,
  step: Step,
  effects: Effect[] = [],
): Transition {
  const record = changed === original || !changed ? original : stamp(changed, step);
  return { record, effects, outcome, why };
}

export function stamp(record: InterruptionRecord, step: Step): InterruptionRecord {
  return { ...record, updatedAt: new Date(step.now).toISOString() };
}

/** Nothing is written or done before the node and EC2 are read again, uncached. */
export function recheck(record: InterruptionRecord | undefined, why: string): Transition {
  return { record, effects: [], outcome: 'waiting', why, recheck: true };
}

/** A drain by `holder`, for the reasons given, with the node marked in the same write. */
export function startDrain(
  record: InterruptionRecord,
  holder: string,
  reasons: readonly Reason[],
  outcome: NodeOutcome,
  why: string,
  step: Step,
): Transition {
  const fresh = drainUntil(reasons, step.now, step.rules.noDeadlineBudgetMs);
  // A drain taken over (handed on, or its holder gone) keeps its end: a maintenance window that has
  // begun would otherwise give every new holder a fresh budget, and a stuck drain would never end.
  const held = record.state === RecordState.Draining ? Date.parse(record.deadline) : Number.NaN;
  const deadline = Number.isFinite(held)
    ? Math.max(Math.min(fresh, held), step.now + minimumDrainWindowMs)
    : fresh;
  const iso = new Date(step.now).toISOString();
  const { handedOffAt: _, ...taken } = record;
  const drained: InterruptionRecord = {
    ...taken,
    state: RecordState.Draining,
    holder,
    renewedAt: iso,
    deadline: new Date(deadline).toISOString(),
    marks: withMarks(record, step.world.node, step.rules),
    updatedAt: iso,
  };
  const cause = reasons[0] ?? record.reasons[0];
  return {
    record: drained,
    effects: [
      { type: 'mark' },
      {
        type: 'event',
        reason: NodeEventReason.Drain,
        message: `Cordoned for ${cause?.kind ?? 'an interruption'} ${cause?.eventId ?? ''} (${why}); draining before ${drained.deadline}`,
      },
      {
        type: 'drain',
        holder,
        deadline,
        // The instance is going away for good: once its kubelet stops, evictions cannot finish.
        stopWhenNotReady: record.reasons.some((r) => r.kind === NoticeKind.StateChange),
        voluntary: isVoluntary(reasons, step),
      },
    ],
    outcome,
    why,
  };
}

/**
 * Kubernetes' non-graceful node shutdown, for a machine EC2 confirms shut down whose kubelet has
 * stopped: the pod garbage collector deletes its pods and their volumes detach. Its hooks can go.
 */
export function takeOutOfService(record: InterruptionRecord, why: string, step: Step): Transition {
  const { renewedAt: _, ...rest } = record;
  const marks = withMarks(record, step.world.node, step.rules);
  if (!marks.taints.includes(outOfServiceKey)) marks.taints.push(outOfServiceKey);
  const own = ownHooks(record, step.world);
  return {
    record: stamp({ ...rest, state: RecordState.OutOfService, marks }, step),
    effects: [
      { type: 'mark' },
      { type: 'out-of-service' },
      {
        type: 'event',
        reason: NodeEventReason.OutOfService,
        message: `${why}: tainted node.kubernetes.io/out-of-service so that its pods are deleted and their volumes detach`,
        warning: true,
      },
      ...(own.length > 0 ? [{ type: 'complete-hooks', hooks: own } as const] : []),
    ],
    outcome: 'out-of-service',
    why,
  };
}

/** The machine of a node out of service is back: only the out-of-service taint goes; the reasons still open hold the rest. */
export function liftOutOfService(record: InterruptionRecord, why: string, step: Step): Transition {
  const marks = { ...record.marks, taints: record.marks.taints.filter((k) => k !== outOfServiceKey) };
  const marked = marks.cordoned || marks.taints.length > 0 ? RecordState.Cordoned : RecordState.Scheduled;
  const state = record.state === RecordState.OutOfService ? marked : record.state;
  return {
    record: stamp({ ...record, state, marks }, step),
    effects: [
      { type: 'lift-out-of-service' },
      {
        type: 'event',
        reason: NodeEventReason.Uncordon,
        message: `node.kubernetes.io/out-of-service removed: ${why}`,
      },
    ],
    outcome: 'waiting',
    why,
  };
}

/**
 * What held the node is over: remove exactly the marks the node vouches for, and the record; the
 * reasons still open (a Health change not yet due) are recorded anew, as a node with no marks has them.
 */
export function release(
  record: InterruptionRecord,
  open: readonly Reason[],
  why: string,
  step: Step,
): Transition {
  const iso = new Date(step.now).toISOString();
  // Hooks still to complete keep the record (without marks) until they are: none is left hanging.
  const own = ownHooks(record, step.world);
  const anew: InterruptionRecord | undefined =
    open.length === 0 && own.length === 0
      ? undefined
      : {
          v: 3,
          state: RecordState.Scheduled,
          reasons: [...open],
          deadline: record.deadline,
          since: iso,
          updatedAt: iso,
          marks: { cordoned: false, taints: [], lbLabel: false },
          hooks: own,
          // What the node remembers of hooks completed and changes closed stays with it.
          ...(record.hooksDone ? { hooksDone: record.hooksDone } : {}),
          ...(record.closedChanges ? { closedChanges: record.closedChanges } : {}),
        };
  return {
    record: anew,
    effects: [
      { type: 'release' },
      ...(own.length > 0 ? [{ type: 'complete-hooks', hooks: own } as const] : []),
      { type: 'event', reason: NodeEventReason.Uncordon, message: `Marks of this project removed: ${why}` },
    ],
    outcome: 'released',
    why,
  };
}

/** The hooks recorded for this node's own instance (and its group, where EC2 names it). */
export function ownHooks(record: InterruptionRecord, world: World): HookRecord[] {
  const group = world.instance !== 'unknown' ? world.instance.autoScalingGroup : undefined;
  return record.hooks.filter(
    (h) =>
      world.node.instanceId !== undefined &&
      h.instanceId === world.node.instanceId &&
      (group === undefined || h.autoScalingGroupName === group),
  );
}

/** The record without hooks of other instances or groups (something on the node wrote them), if it has any. */
export function withoutForeignHooks(record: InterruptionRecord, world: World): InterruptionRecord {
  const own = ownHooks(record, world);
  return own.length === record.hooks.length ? record : { ...record, hooks: own };
}

/** The record knowing the instance hibernates, when EC2's state reason says so. */
export function withHibernation(record: InterruptionRecord, world: World): InterruptionRecord {
  return !record.hibernation && stoppedByHibernation(world) ? { ...record, hibernation: true } : record;
}

/** EC2 says the machine is shut down, in a way that frees its pods (a hibernated instance resumes). */
export function shutDownForGood(record: InterruptionRecord, world: World): boolean {
  if (!isShutDown(world)) return false;
  const stopped = world.instance !== 'unknown' && world.instance.state === 'stopped';
  return !(stopped && (record.hibernation === true || stoppedByHibernation(world)));
}

/** Cordoned (and tainted, labelled) for the reason that cordons, in the same write as the record. */
export function cordon(r: InterruptionRecord, why: string, step: Step): Transition {
  const cause = r.reasons.find((o) => o.action === 'cordon') ?? r.reasons[0];
  const marks = withMarks(r, step.world.node, step.rules);
  const record = stamp(
    { ...r, state: RecordState.Cordoned, ...(cause ? { deadline: cause.deadline } : {}), marks },
    step,
  );
  return {
    record,
    effects: [
      { type: 'mark' },
      {
        type: 'event',
        reason: NodeEventReason.Cordon,
        message: `Cordoned for ${cause?.kind} ${cause?.eventId} (${why})`,
      },
    ],
    outcome: 'cordoned',
    why,
  };
}
