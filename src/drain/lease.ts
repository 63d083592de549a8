import type * as k8s from '@kubernetes/client-node';
import { isUpgrade } from '../policy.js';
import { Action, type NoticeKind } from '../types.js';

/**
 * The node's interruption record (the "lease"): one annotation on the node, written with optimistic
 * concurrency in the same patch as the marks it explains. Everything an invocation or the periodic
 * reconcile needs to carry a node's interruption on lives here, so no store outside the cluster is
 * needed and any worker can pick up where another stopped:
 *
 *   scheduled ──(drainAt comes)──────────────┐
 *   cordoned ──(stronger notice)─────────────┤
 *   (none) ──(notice)──► draining ◄──(stale holder: takeover)
 *                          │
 *                          ▼
 *        drained | deadline-reached | incomplete | failed
 *                          │
 *   instance gone + NotReady ─► out-of-service ─► (instance back) released
 *   instance back / reason over ──────────────► released (marks removed)
 *
 * This file is pure: types, how to read the record, and the decisions about it. lease-store.ts
 * carries the decisions out against the API server.
 */
export const leaseAnnotation = 'eks-spot-drainer/drain';
/** The lease's state as a label, so the reconcile finds marked nodes with a label selector. */
export const stateLabel = 'eks-spot-drainer/state';
export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const taintPrefix = 'eks-spot-drainer/';
/** Kubernetes' non-graceful node shutdown taint (GA in 1.28): pods of a NotReady node are deleted at once. */
export const outOfServiceTaint: k8s.V1Taint = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
};

export const LeaseState = {
  /** A Health scheduled change far ahead: recorded, drained by the reconcile at drainAt. */
  Scheduled: 'scheduled',
  Cordoned: 'cordoned',
  /** A holder is draining and renews renewedAt while it does. */
  Draining: 'draining',
  Drained: 'drained',
  DeadlineReached: 'deadline-reached',
  Incomplete: 'incomplete',
  /** The drain threw; anyone may take over at once. */
  Failed: 'failed',
  /** EC2 said the instance is gone and its kubelet stopped: the out-of-service taint frees its pods. */
  OutOfService: 'out-of-service',
} as const;
export type LeaseState = (typeof LeaseState)[keyof typeof LeaseState];

/** A drain that ended, one way or another. */
const finishedStates: ReadonlySet<LeaseState> = new Set([
  LeaseState.Drained,
  LeaseState.DeadlineReached,
  LeaseState.Incomplete,
]);

/**
 * An Auto Scaling lifecycle action to complete when the node's drain ends. No token: CompleteLifecycleAction
 * accepts the instance id instead, so nothing on the node can be replayed.
 */
export interface HookRecord {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
}

/** A Health scheduled change recorded ahead of its time. */
export interface ScheduledChange {
  /** Health's own id of the event: republications of one event share it. */
  eventArn: string;
  /** When the maintenance starts: the drain's deadline. */
  start: string;
  /** When the reconcile drains the node (start minus the lead). */
  drainAt: string;
  /** Health closed the event (cancelled or done): what it did is undone once the node is back. */
  closed?: boolean;
}

/** What this project changed on the node, so that a release removes exactly that and nothing else. */
export interface NodeMarks {
  /** We made the node unschedulable (it was schedulable before): only then do we uncordon it. */
  cordoned: boolean;
  /** Taint keys we added. */
  taints: string[];
  /** We added the load-balancer exclusion label (it was absent before). */
  lbLabel: boolean;
  /** status.nodeInfo.bootID when first marked: a different one means the machine booted since. */
  bootId?: string;
}

export interface DrainLease {
  v: 2;
  state: LeaseState;
  /** The strongest notice so far, and its action. */
  kind: NoticeKind;
  action: Action;
  eventId: string;
  /** The notice's own detail: the Spot instance-action, the EC2 state, the Health event code. */
  detail?: string;
  /** When the drain must end: the earliest deadline any notice gave. */
  deadline: string;
  /** The invocation draining (draining only). */
  holder?: string;
  /** The holder's last sign of life (draining only). */
  renewedAt?: string;
  /** When this interruption was first recorded. */
  since: string;
  updatedAt: string;
  scheduled?: ScheduledChange;
  marks: NodeMarks;
  hooks: HookRecord[];
}

/** What a notice asks of the node's lease. */
export interface LeaseRequest {
  eventId: string;
  kind: NoticeKind;
  /** Cordon or Drain: what to do now, or when a recorded scheduled change is due. */
  action: Action;
  detail?: string;
  holder: string;
  /** Epoch ms. */
  deadline: number;
  hook?: HookRecord;
  /** Health notices: the scheduled change they announce, kept on the lease across republications. */
  scheduled?: ScheduledChange;
  /** Only record the scheduled change (it is far ahead); `cordon` also cordons the node now. */
  recordOnly?: { cordon: boolean };
}

/** The node as far as the lease decisions care. */
export interface NodeFacts {
  unschedulable: boolean;
  lbLabel: boolean;
  bootId: string | undefined;
}

export interface LeaseTiming {
  /** A draining lease not renewed for this long is taken over. */
  staleAfterMs: number;
}

// Longer than a renewal can take (one request may wait up to its 20 s timeout in an API server's
// queue during a reclaim wave) plus its 5 s interval: a live holder is never taken for dead.
export const defaultLeaseTiming: LeaseTiming = { staleAfterMs: 30_000 };
/** How often a holder renews its lease (and learns of tighter deadlines and new hooks). */
export const renewIntervalMs = 5_000;

export type TakeReason = 'new' | 'upgrade' | 'takeover' | 'retry' | 'redrain' | 'due';
export type LeaveReason = 'in-progress-elsewhere' | 'already-done' | 'scheduled' | 'out-of-service';

export type LeaseDecision =
  /** `lease` is what to write; `mark` says whether the node gets (or keeps) its cordon and taint. */
  | { take: true; why: TakeReason; lease: DrainLease; mark: boolean }
  /** `lease` is what to write when `changed` (a tighter deadline, a hook, a moved schedule). */
  | { take: false; why: LeaveReason; lease: DrainLease; changed: boolean };

/** Whether a draining lease's holder stopped renewing it. */
export function isStale(lease: DrainLease, now: number, timing: LeaseTiming = defaultLeaseTiming): boolean {
  const renewed = Date.parse(lease.renewedAt ?? lease.updatedAt);
  return !Number.isFinite(renewed) || now - renewed > timing.staleAfterMs;
}

export function isFinished(lease: DrainLease): boolean {
  return finishedStates.has(lease.state);
}

/** Whether this project has cordoned or tainted the node (a recorded schedule may have done neither). */
export function hasMarks(lease: DrainLease): boolean {
  return lease.marks.cordoned || lease.marks.taints.length > 0 || lease.marks.lbLabel;
}

/**
 * Pure: what a notice does to the node's lease. A draining lease held by someone alive is never
 * taken, only amended (earlier deadline, more hooks), so the holder learns of it when it renews.
 */
export function decideLease(
  existing: DrainLease | undefined,
  request: LeaseRequest,
  node: NodeFacts,
  now: number,
  timing: LeaseTiming = defaultLeaseTiming,
): LeaseDecision {
  const iso = new Date(now).toISOString();
  const hooks = mergeHooks(existing?.hooks ?? [], request.hook ? [request.hook] : []);
  const notice = {
    kind: request.kind,
    action: request.action,
    eventId: request.eventId,
    ...(request.detail ? { detail: request.detail } : {}),
  };
  if (!existing) {
    const state = request.recordOnly
      ? LeaseState.Scheduled
      : request.action === Action.Drain
        ? LeaseState.Draining
        : LeaseState.Cordoned;
    const lease: DrainLease = {
      v: 2,
      state,
      ...notice,
      deadline: new Date(request.deadline).toISOString(),
      ...(state === LeaseState.Draining ? { holder: request.holder, renewedAt: iso } : {}),
      since: iso,
      updatedAt: iso,
      ...(request.scheduled ? { scheduled: request.scheduled } : {}),
      marks: { cordoned: false, taints: [], lbLabel: false, ...(node.bootId ? { bootId: node.bootId } : {}) },
      hooks,
    };
    return { take: true, why: 'new', lease, mark: !request.recordOnly || request.recordOnly.cordon };
  }

  const sameChange =
    request.scheduled !== undefined && existing.scheduled?.eventArn === request.scheduled.eventArn;
  // A republished Health event may move its start: the record follows it, later or earlier.
  const scheduled =
    request.scheduled && (sameChange || !existing.scheduled) ? request.scheduled : existing.scheduled;
  // The earlier of two deadlines, unless the recorded one has passed (a holder that died long ago):
  // then the notice at hand sets the time.
  const recorded = Date.parse(existing.deadline);
  const earliest = new Date(
    Number.isFinite(recorded) && recorded > now ? Math.min(recorded, request.deadline) : request.deadline,
  ).toISOString();
  const amended: DrainLease = {
    ...existing,
    ...(scheduled ? { scheduled } : {}),
    // Recording a change far ahead sets no deadline on a drain that runs for another reason.
    deadline: request.recordOnly ? existing.deadline : earliest,
    hooks,
  };
  const changed =
    amended.deadline !== existing.deadline ||
    amended.hooks.length !== existing.hooks.length ||
    JSON.stringify(amended.scheduled) !== JSON.stringify(existing.scheduled);
  const leave = (why: LeaveReason): LeaseDecision => ({
    take: false,
    why,
    lease: changed ? { ...amended, updatedAt: iso } : existing,
    changed,
  });
  const take = (why: TakeReason): LeaseDecision => {
    const replaces = why === 'redrain' || why === 'due' || isUpgrade(existing.action, request.action);
    const lease: DrainLease = {
      ...amended,
      ...(replaces ? notice : {}),
      state: request.action === Action.Drain ? LeaseState.Draining : LeaseState.Cordoned,
      // A new drain of a finished (or failed) node gets its own notice's time, not the old one's.
      deadline:
        why === 'redrain' || existing.state === LeaseState.Failed
          ? new Date(request.deadline).toISOString()
          : earliest,
      updatedAt: iso,
    };
    if (lease.state === LeaseState.Draining) {
      lease.holder = request.holder;
      lease.renewedAt = iso;
    } else {
      delete lease.holder;
      delete lease.renewedAt;
    }
    return { take: true, why, lease, mark: true };
  };

  if (request.recordOnly) {
    // Recording a scheduled change never interrupts or repeats anything already under way.
    if (existing.state === LeaseState.Scheduled && request.recordOnly.cordon && !hasMarks(existing)) {
      return { take: true, why: 'upgrade', lease: { ...amended, updatedAt: iso }, mark: true };
    }
    return leave(existing.state === LeaseState.Scheduled ? 'scheduled' : 'already-done');
  }

  switch (existing.state) {
    case LeaseState.Draining:
      if (existing.holder === request.holder) return take('retry');
      if (isStale(existing, now, timing)) return take('takeover');
      return leave('in-progress-elsewhere');
    case LeaseState.Failed:
      return take('retry');
    case LeaseState.OutOfService:
      return leave('out-of-service');
    case LeaseState.Scheduled:
      // A cordon notice (a rebalance) on a recorded change cordons; the change still drains when due.
      return take(sameChange ? 'due' : 'upgrade');
    case LeaseState.Cordoned:
      if (isUpgrade(existing.action, request.action) || (sameChange && request.action === Action.Drain)) {
        return take(sameChange ? 'due' : 'upgrade');
      }
      return leave('already-done');
    default:
      // A finished drain. The same event again is a duplicate delivery, and a republished Health
      // event is the same change: neither drains again (with a grace cut to what is left). Another
      // drain notice costs one pod list and catches pods that came back since.
      if (existing.eventId === request.eventId || sameChange || request.action !== Action.Drain) {
        return leave('already-done');
      }
      return take('redrain');
  }
}

/** The union of two hook lists, one entry per (group, hook, instance). */
export function mergeHooks(a: HookRecord[], b: HookRecord[]): HookRecord[] {
  const key = (h: HookRecord) => `${h.autoScalingGroupName}\u0000${h.lifecycleHookName}\u0000${h.instanceId}`;
  const seen = new Map(a.map((h) => [key(h), h]));
  for (const h of b) if (!seen.has(key(h))) seen.set(key(h), h);
  return [...seen.values()];
}

/** Facts about the node that the lease decisions read. */
export function nodeFacts(node: k8s.V1Node): NodeFacts {
  return {
    unschedulable: node.spec?.unschedulable === true,
    lbLabel: node.metadata?.labels?.[excludeFromLoadBalancersLabel] !== undefined,
    bootId: node.status?.nodeInfo?.bootID || undefined,
  };
}

/** Whether the node's kubelet reports Ready (False and Unknown both mean it is not). */
export function isNodeReady(node: k8s.V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function readLease(node: k8s.V1Node): DrainLease | undefined {
  const raw = node.metadata?.annotations?.[leaseAnnotation];
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<DrainLease> & { expiresAt?: string };
    if (typeof parsed.eventId !== 'string' || typeof parsed.state !== 'string') return undefined;
    if (parsed.v === 2) return { ...parsed, hooks: parsed.hooks ?? [] } as DrainLease;
    // A lease written before this record grew its fields: what it implies about the node.
    return {
      v: 2,
      state: parsed.state,
      kind: parsed.kind!,
      action: parsed.action ?? Action.Drain,
      eventId: parsed.eventId,
      deadline: parsed.deadline ?? new Date(0).toISOString(),
      ...(parsed.holder ? { holder: parsed.holder, renewedAt: parsed.updatedAt } : {}),
      since: parsed.updatedAt ?? new Date(0).toISOString(),
      updatedAt: parsed.updatedAt ?? new Date(0).toISOString(),
      // It cannot say what the node was like before: assume it was schedulable with no label.
      marks: { cordoned: true, taints: [`${taintPrefix}${parsed.kind}`], lbLabel: true },
      hooks: [],
    };
  } catch {
    // An unreadable lease protects nothing; treat the node as free.
    return undefined;
  }
}

/** Taint values follow label-value rules; EventBridge ids are UUIDs, but nothing forces that. */
export function labelValue(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || 'unknown';
}
