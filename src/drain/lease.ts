import * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import { isUpgrade } from '../policy.js';
import { Action, type NoticeKind } from '../types.js';
import type { DrainOptions } from './options.js';

/**
 * The drain lease: an annotation on the node, written with optimistic concurrency in the same
 * patch that cordons it. It makes duplicate deliveries, retried invocations and a rebalance followed
 * by the interruption converge on one drain, with no store outside the cluster.
 */
export const leaseAnnotation = 'eks-spot-drainer/drain';
export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const taintPrefix = 'eks-spot-drainer/';

export type LeaseState = 'cordoned' | 'draining' | 'drained' | 'deadline-reached' | 'incomplete' | 'failed';

export interface DrainLease {
  eventId: string;
  kind: NoticeKind;
  action: Action;
  state: LeaseState;
  /** The invocation that holds it (Lambda request id, or the CLI's run id). */
  holder: string;
  deadline: string;
  /** After this the holder is certainly gone (its own deadline passed), so anyone may take over. */
  expiresAt: string;
  updatedAt: string;
}

export interface LeaseRequest {
  eventId: string;
  kind: NoticeKind;
  action: Action;
  holder: string;
  deadline: number;
}

export type LeaseDecision =
  | { take: true; why: 'new' | 'upgrade' | 'takeover' | 'retry' | 'redrain' }
  | { take: false; why: 'in-progress-elsewhere' | 'already-done'; lease: DrainLease };

const leaseGraceMs = 30_000;

/** Pure: whether a new notice may take the node's lease, and why. */
export function decideLease(
  existing: DrainLease | undefined,
  request: LeaseRequest,
  now: number,
): LeaseDecision {
  if (!existing) return { take: true, why: 'new' };
  if (existing.holder === request.holder) return { take: true, why: 'retry' };
  if (existing.state === 'failed') return { take: true, why: 'retry' };
  if (Date.parse(existing.expiresAt) < now) return { take: true, why: 'takeover' };
  if (isUpgrade(existing.action, request.action)) return { take: true, why: 'upgrade' };
  if (existing.state === 'draining') return { take: false, why: 'in-progress-elsewhere', lease: existing };
  // Finished. The same event again is a duplicate delivery; a new drain notice for a node that was
  // drained before costs one pod list and lets its own follow-up (an ASG hook) run.
  if (existing.eventId === request.eventId || request.action !== Action.Drain) {
    return { take: false, why: 'already-done', lease: existing };
  }
  return { take: true, why: 'redrain' };
}

export function readLease(node: k8s.V1Node): DrainLease | undefined {
  const raw = node.metadata?.annotations?.[leaseAnnotation];
  if (!raw) return undefined;
  try {
    const lease = JSON.parse(raw) as DrainLease;
    return typeof lease.eventId === 'string' && typeof lease.expiresAt === 'string' ? lease : undefined;
  } catch {
    // An unreadable lease protects nothing; treat the node as free.
    return undefined;
  }
}

export type AcquireResult =
  | { acquired: true; node: k8s.V1Node; lease: DrainLease; why: string }
  | { acquired: false; why: 'in-progress-elsewhere' | 'already-done'; lease: DrainLease }
  | { acquired: false; why: 'node-gone' };

/**
 * Takes the lease and marks the node in one patch: cordon, taint, load-balancer exclusion label and
 * the lease annotation, guarded by the resourceVersion just read. On a conflict it reads and decides
 * again, so of two concurrent invocations exactly one acquires.
 */
export async function acquireLease(
  core: k8s.CoreV1Api,
  nodeName: string,
  request: LeaseRequest,
  options: Pick<DrainOptions, 'taintNode' | 'excludeFromLoadBalancers'>,
  now: () => number = Date.now,
  /** The node as the caller just read it: the first attempt starts from it instead of a GET. */
  known?: k8s.V1Node,
): Promise<AcquireResult> {
  for (let attempt = 0; ; attempt++) {
    let node: k8s.V1Node;
    try {
      // A stale copy only costs a 409 and a read; the resourceVersion guard keeps it safe.
      node =
        attempt === 0 && known?.metadata?.resourceVersion ? known : await core.readNode({ name: nodeName });
    } catch (error) {
      if (httpStatusOf(error) === 404) return { acquired: false, why: 'node-gone' };
      throw error;
    }
    const decision = decideLease(readLease(node), request, now());
    if (!decision.take) return { acquired: false, why: decision.why, lease: decision.lease };
    const lease: DrainLease = {
      eventId: request.eventId,
      kind: request.kind,
      action: request.action,
      state: request.action === Action.Drain ? 'draining' : 'cordoned',
      holder: request.holder,
      deadline: new Date(request.deadline).toISOString(),
      expiresAt: new Date(request.deadline + leaseGraceMs).toISOString(),
      updatedAt: new Date(now()).toISOString(),
    };
    try {
      const patched = await core.patchNode(
        { name: nodeName, body: markingPatch(node, lease, options, now()) },
        mergePatch,
      );
      return { acquired: true, node: patched, lease, why: decision.why };
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404) return { acquired: false, why: 'node-gone' };
      // Someone else wrote the node between our read and our patch: read and decide again.
      if (status === 409 && attempt < 10) continue;
      throw error;
    }
  }
}

/** Records how the drain ended in the lease, so the next notice knows. Best effort: the node may be gone. */
export async function updateLeaseState(
  core: k8s.CoreV1Api,
  nodeName: string,
  lease: DrainLease,
  state: LeaseState,
  now: () => number = Date.now,
): Promise<DrainLease> {
  const updated = { ...lease, state, updatedAt: new Date(now()).toISOString() };
  try {
    await core.patchNode(
      { name: nodeName, body: { metadata: { annotations: { [leaseAnnotation]: JSON.stringify(updated) } } } },
      mergePatch,
    );
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
  }
  return updated;
}

function markingPatch(
  node: k8s.V1Node,
  lease: DrainLease,
  options: Pick<DrainOptions, 'taintNode' | 'excludeFromLoadBalancers'>,
  now: number,
) {
  const spec: { unschedulable: true; taints?: k8s.V1Taint[] } = { unschedulable: true };
  if (options.taintNode) {
    const key = `${taintPrefix}${lease.kind}`;
    const others = (node.spec?.taints ?? []).filter((t) => t.key !== key);
    // A merge patch replaces the whole list; the resourceVersion guard makes that safe.
    spec.taints = [
      ...others,
      { key, value: labelValue(lease.eventId), effect: 'NoSchedule', timeAdded: new Date(now) },
    ];
  }
  return {
    metadata: {
      resourceVersion: node.metadata?.resourceVersion,
      annotations: { [leaseAnnotation]: JSON.stringify(lease) },
      ...(options.excludeFromLoadBalancers ? { labels: { [excludeFromLoadBalancersLabel]: 'true' } } : {}),
    },
    spec,
  };
}

/** Taint values follow label-value rules; EventBridge ids are UUIDs, but nothing forces that. */
export function labelValue(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || 'unknown';
}

/** client-node sends JSON Patch unless told otherwise; these patches are merge patches. */
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
