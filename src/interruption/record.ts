/**
 * A node's interruption record: one annotation on the node, the only state this project keeps. Its
 * type, how it is read (records of earlier versions are migrated; anything else is no record) and
 * written. What the record becomes is decided in transition.ts alone; door.ts alone writes it.
 *
 * The record is input like any other: NodeRestriction lets a node's own kubelet write its
 * annotations, so every field is checked on the way in and nothing in it is trusted beyond what the
 * node could do to itself (see marks.ts for what a release may take away).
 */
import { NoticeKind } from '../types.js';
import * as z from '../zod.js';

export const recordAnnotation = 'eks-spot-drainer/drain';
/** The record's state as a label, so the reconcile finds marked nodes with a label selector. */
export const stateLabel = 'eks-spot-drainer/state';

export const RecordState = {
  /** Reasons are recorded, none asks for anything yet (a Health change far ahead). */
  Scheduled: 'scheduled',
  /**
   * A voluntary drain (a rebalance, a Health change) waits, unmarked, for the cluster's disruption
   * budget; the reconcile moves waiting nodes on in order of deadline as places free up.
   */
  Waiting: 'waiting',
  /** Cordoned for a reason that does not drain (a rebalance recommendation, CORDON_ONLY). */
  Cordoned: 'cordoned',
  /** A holder drains, renewing `renewedAt` while it does. */
  Draining: 'draining',
  Drained: 'drained',
  DeadlineReached: 'deadline-reached',
  Incomplete: 'incomplete',
  /** The drain threw; anyone may take over at once. */
  Failed: 'failed',
  /** EC2 confirmed the instance shut down and its kubelet stopped: out-of-service frees its pods. */
  OutOfService: 'out-of-service',
} as const;
export type RecordState = (typeof RecordState)[keyof typeof RecordState];

/** A drain that ended, one way or another. */
export const finishedStates: ReadonlySet<RecordState> = new Set([
  RecordState.Drained,
  RecordState.DeadlineReached,
  RecordState.Incomplete,
]);

/** A Health scheduled change: Health's own id of the event, and when it starts and is drained. */
export interface ScheduledChange {
  eventArn: string;
  start: string;
  drainAt: string;
}

/** One notice that holds the node, until it closes (reasons.ts says when). */
export interface Reason {
  kind: NoticeKind;
  action: 'cordon' | 'drain';
  eventId: string;
  /** The notice's own detail: the Spot instance-action, the EC2 state, the Health event code. */
  detail?: string;
  /** When it was recorded. */
  at: string;
  /** The node's boot id when it was recorded: another one later means the machine booted since. */
  bootId?: string;
  /** When a drain it asks for must be over (the notice's own deadline, not an invocation's). */
  deadline: string;
  scheduled?: ScheduledChange;
}

/** An Auto Scaling lifecycle action to complete once the node's drain ends (no token: the instance id does). */
export interface HookRecord {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
  /** When Auto Scaling began the lifecycle action (its notice's time): heartbeats end HEARTBEAT_UNTIL after it. */
  since?: string;
}

/** What this project changed on the node, so that a release takes away exactly that. */
export interface NodeMarks {
  /** We made the node unschedulable (it was schedulable before): only then do we uncordon it. */
  cordoned: boolean;
  /** Taint keys we added. */
  taints: string[];
  /** We added the load-balancer exclusion label (it was absent before). */
  lbLabel: boolean;
  /** status.nodeInfo.bootID when first marked. */
  bootId?: string;
}

export interface InterruptionRecord {
  v: 3;
  state: RecordState;
  /** The notices that hold the node, strongest first; none left means nothing holds it. */
  reasons: Reason[];
  /** When the current (or last) drain must end. */
  deadline: string;
  /** Who drains (draining), or drained (after). */
  holder?: string;
  /** The holder's last sign of life (draining only). */
  renewedAt?: string;
  /**
   * Draining only: when the holder, its invocation about to end, handed the drain on. Whoever looks
   * next (the continuation it invoked, a notice, the reconcile) takes the drain over at once.
   */
  handedOffAt?: string;
  since: string;
  updatedAt: string;
  marks: NodeMarks;
  hooks: HookRecord[];
  /** Hooks completed: a notice delivered again does not bring them back. */
  hooksDone?: HookRecord[];
  /** Health changes Health closed: a late or repeated announcement does not bring them back. */
  closedChanges?: string[];
  /** The instance hibernates: it resumes with its memory, so it is never out of service. */
  hibernation?: boolean;
  /** Migrated from a version whose taints said nothing of the cordon and label (see marks.ts). */
  legacy?: boolean;
}

// Bounds that keep a record written by something else from growing what we read and write.
const id = z.string().check(z.minLength(1), z.maxLength(256));
const time = z.iso.datetime({ offset: true });
const optionalTime = z.optional(time);
const kind = z.enum(Object.values(NoticeKind) as [NoticeKind, ...NoticeKind[]]);
const state = z.enum(Object.values(RecordState) as [RecordState, ...RecordState[]]);
const scheduledSchema = z.object({ eventArn: id, start: time, drainAt: time });
const hookSchema = z.object({
  autoScalingGroupName: id,
  lifecycleHookName: id,
  instanceId: id,
  since: optionalTime,
});
const marksSchema = z.object({
  cordoned: z.boolean(),
  taints: z.array(z.string().check(z.maxLength(316))).check(z.maxLength(32)),
  lbLabel: z.boolean(),
  bootId: z.optional(id),
});
const reasonSchema = z.object({
  kind,
  action: z.enum(['cordon', 'drain']),
  eventId: id,
  detail: z.optional(z.string().check(z.maxLength(256))),
  at: time,
  bootId: z.optional(id),
  deadline: time,
  scheduled: z.optional(scheduledSchema),
});
const v3Schema = z.object({
  v: z.literal(3),
  state,
  reasons: z.array(reasonSchema).check(z.maxLength(16)),
  deadline: time,
  holder: z.optional(id),
  renewedAt: optionalTime,
  handedOffAt: optionalTime,
  since: time,
  updatedAt: time,
  marks: marksSchema,
  hooks: z.array(hookSchema).check(z.maxLength(16)),
  hooksDone: z.optional(z.array(hookSchema).check(z.maxLength(16))),
  closedChanges: z.optional(z.array(id).check(z.maxLength(16))),
  hibernation: z.optional(z.boolean()),
  legacy: z.optional(z.boolean()),
});
/** Version 2 (one notice, a Health change beside it) and version 1 (fewer fields still). */
const olderSchema = z.object({
  v: z.optional(z.literal(2)),
  state,
  kind: z.optional(kind),
  action: z.optional(z.enum(['cordon', 'drain'])),
  eventId: id,
  detail: z.optional(z.string().check(z.maxLength(256))),
  deadline: optionalTime,
  holder: z.optional(id),
  renewedAt: optionalTime,
  since: optionalTime,
  updatedAt: optionalTime,
  scheduled: z.optional(z.extend(scheduledSchema, { closed: z.optional(z.boolean()) })),
  marks: z.optional(marksSchema),
  hooks: z.optional(z.array(hookSchema).check(z.maxLength(16))),
});

/**
 * The record on a node, or undefined when it has none or one that cannot be read (it protects
 * nothing then: the node is treated as unmarked, and what marks it carries are left as they are).
 */
export function parseRecord(raw: string | undefined): InterruptionRecord | undefined {
  if (!raw || raw.length > 64_000) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const current = v3Schema.safeParse(value);
  if (current.success) return current.data as InterruptionRecord;
  const older = olderSchema.safeParse(value);
  return older.success ? migrate(older.data) : undefined;
}

/** The record a node carries (see parseRecord). */
export function recordOn(node: {
  metadata?: { annotations?: Record<string, string> };
}): InterruptionRecord | undefined {
  return parseRecord(node.metadata?.annotations?.[recordAnnotation]);
}

/**
 * Whether this project marked the node: a record (readable or not: the door deals with one it cannot
 * read), or the state label the reconcile lists marked nodes by.
 */
export function isMarked(node: {
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
}): boolean {
  return (
    node.metadata?.annotations?.[recordAnnotation] !== undefined ||
    node.metadata?.labels?.[stateLabel] !== undefined
  );
}

export function serialiseRecord(record: InterruptionRecord): string {
  return JSON.stringify(record);
}

type Older = z.infer<typeof olderSchema>;

/**
 * What an earlier record says in this version's words. Version 2 kept one notice (the first, unless
 * a stronger action replaced it) and a Health change beside it; version 1 did not say what the node
 * was like before, so it is taken as schedulable with no label and only this project's taint.
 */
function migrate(old: Older): InterruptionRecord {
  const epoch = new Date(0).toISOString();
  const since = old.since ?? old.updatedAt ?? epoch;
  const deadline = old.deadline ?? epoch;
  const kindOf = old.kind ?? NoticeKind.SpotInterruption;
  const marks = old.marks ?? { cordoned: true, taints: [`eks-spot-drainer/${kindOf}`], lbLabel: true };
  const reasons: Reason[] = [];
  const health = old.scheduled && !old.scheduled.closed ? old.scheduled : undefined;
  if (kindOf !== NoticeKind.ScheduledChange || health) {
    reasons.push({
      kind: kindOf,
      action: old.action ?? 'drain',
      eventId: old.eventId,
      ...(old.detail ? { detail: old.detail } : {}),
      at: since,
      ...(marks.bootId ? { bootId: marks.bootId } : {}),
      deadline,
      ...(kindOf === NoticeKind.ScheduledChange && health ? { scheduled: scheduledOf(health) } : {}),
    });
  }
  if (health && kindOf !== NoticeKind.ScheduledChange) {
    reasons.push({
      kind: NoticeKind.ScheduledChange,
      action: 'drain',
      eventId: health.eventArn,
      at: since,
      ...(marks.bootId ? { bootId: marks.bootId } : {}),
      deadline: health.start,
      scheduled: scheduledOf(health),
    });
  }
  const hibernation = kindOf === NoticeKind.SpotInterruption && old.detail === 'hibernate';
  return {
    v: 3,
    state: old.state,
    reasons,
    deadline,
    ...(old.holder ? { holder: old.holder } : {}),
    ...(old.state === RecordState.Draining ? { renewedAt: old.renewedAt ?? old.updatedAt ?? epoch } : {}),
    since,
    updatedAt: old.updatedAt ?? since,
    marks,
    hooks: old.hooks ?? [],
    ...(hibernation ? { hibernation } : {}),
    legacy: true,
  };
}

function scheduledOf(change: ScheduledChange): ScheduledChange {
  return { eventArn: change.eventArn, start: change.start, drainAt: change.drainAt };
}

/** The strongest reason that holds the node, if any does. */
export function holdingReason(record: InterruptionRecord): Reason | undefined {
  return record.reasons[0];
}

export function isFinished(record: InterruptionRecord): boolean {
  return finishedStates.has(record.state);
}

/** Whether a draining record's holder stopped renewing it, or handed it on. */
export function isStale(record: InterruptionRecord, now: number, staleAfterMs: number): boolean {
  if (record.handedOffAt) return true;
  const renewed = Date.parse(record.renewedAt ?? record.updatedAt);
  return !Number.isFinite(renewed) || now - renewed > staleAfterMs;
}

export function hookKey(hook: HookRecord): string {
  return `${hook.autoScalingGroupName}\u0000${hook.lifecycleHookName}\u0000${hook.instanceId}`;
}

/** The union of two hook lists, one entry per (group, hook, instance). */
export function mergeHooks(a: readonly HookRecord[], b: readonly HookRecord[]): HookRecord[] {
  const seen = new Map(a.map((h) => [hookKey(h), h]));
  for (const h of b) if (!seen.has(hookKey(h))) seen.set(hookKey(h), h);
  return [...seen.values()];
}
