import * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import {
  type DrainLease,
  decideLease,
  excludeFromLoadBalancersLabel,
  type HookRecord,
  type LeaseDecision,
  type LeaseRequest,
  type LeaseState,
  type LeaseTiming,
  labelValue,
  leaseAnnotation,
  nodeFacts,
  outOfServiceTaint,
  readLease,
  stateLabel,
  taintPrefix,
} from './lease.js';
import type { DrainOptions } from './options.js';

/**
 * The lease against the API server: every write is "read, decide, patch guarded by the
 * resourceVersion just read", repeated on a conflict, so two invocations never both believe they
 * changed the same version of a node. The decisions themselves are lease.ts's.
 */

/** client-node sends JSON Patch unless told otherwise; these patches are merge patches. */
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
/** JSON Patch paths (RFC 6901: "/" in a key is written "~1"). */
const annotationPath = `/metadata/annotations/${leaseAnnotation.replace('/', '~1')}`;
const stateLabelPath = `/metadata/labels/${stateLabel.replace('/', '~1')}`;

export type MarkOptions = Pick<DrainOptions, 'taintNode' | 'excludeFromLoadBalancers'>;

type Step<T> = { patch?: Record<string, unknown>; done: (node: k8s.V1Node) => T };

/**
 * Reads the node (the first time `known`, if given), lets `step` decide, and applies its patch with
 * the resourceVersion guard; on a conflict, reads and decides again.
 */
export async function guardedUpdate<T>(
  core: k8s.CoreV1Api,
  nodeName: string,
  step: (node: k8s.V1Node) => Step<T>,
  known?: k8s.V1Node,
): Promise<T | 'node-gone'> {
  for (let attempt = 0; ; attempt++) {
    let node: k8s.V1Node;
    try {
      node =
        attempt === 0 && known?.metadata?.resourceVersion ? known : await core.readNode({ name: nodeName });
    } catch (error) {
      if (httpStatusOf(error) === 404) return 'node-gone';
      throw error;
    }
    const { patch, done } = step(node);
    if (!patch) return done(node);
    try {
      const body = {
        ...patch,
        metadata: { ...(patch.metadata as object), resourceVersion: node.metadata?.resourceVersion },
      };
      return done(await core.patchNode({ name: nodeName, body }, mergePatch));
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404) return 'node-gone';
      // Someone else wrote the node between our read and our patch: read and decide again.
      if (status === 409 && attempt < 20) continue;
      throw error;
    }
  }
}

export type AcquireResult =
  | { acquired: true; node: k8s.V1Node; lease: DrainLease; why: string }
  | {
      acquired: false;
      why: Exclude<LeaseDecision, { take: true }>['why'];
      lease: DrainLease;
      node: k8s.V1Node;
    }
  | { acquired: false; why: 'node-gone' };

/**
 * Decides what the notice does to the node's lease and writes it: takes the lease and marks the node
 * (cordon, taint, load-balancer exclusion, lease annotation, state label) in one patch, or amends a
 * lease someone else holds (a tighter deadline, a lifecycle hook) so that its holder learns of it.
 */
export async function acquireLease(
  core: k8s.CoreV1Api,
  nodeName: string,
  request: LeaseRequest,
  options: MarkOptions,
  now: () => number = Date.now,
  /** The node as the caller just read it: the first attempt starts from it instead of a GET. */
  known?: k8s.V1Node,
  timing?: LeaseTiming,
): Promise<AcquireResult> {
  const result = await guardedUpdate(
    core,
    nodeName,
    (node): Step<AcquireResult> => {
      const decision = decideLease(readLease(node), request, nodeFacts(node), now(), timing);
      if (!decision.take) {
        const patch = decision.changed ? leaseOnlyPatch(decision.lease) : undefined;
        return {
          ...(patch ? { patch } : {}),
          done: (after) => ({ acquired: false, why: decision.why, lease: decision.lease, node: after }),
        };
      }
      const { patch, lease } = decision.mark
        ? markingPatch(node, decision.lease, options)
        : { patch: leaseOnlyPatch(decision.lease), lease: decision.lease };
      return { patch, done: (after) => ({ acquired: true, node: after, lease, why: decision.why }) };
    },
    known,
  );
  return result === 'node-gone' ? { acquired: false, why: 'node-gone' } : result;
}

export type RenewResult =
  | { status: 'renewed'; lease: DrainLease; node: k8s.V1Node }
  /** Someone took the lease over (we were thought dead), or the node is gone. */
  | { status: 'lost'; lease: DrainLease | undefined };

/**
 * The holder's sign of life. It also brings back what others amended meanwhile (an earlier deadline,
 * lifecycle hooks to complete), and the node as it is now (is its kubelet still Ready?). One JSON
 * Patch that tests the annotation is unchanged usually does it in one request.
 */
export async function renewLease(
  core: k8s.CoreV1Api,
  nodeName: string,
  mine: DrainLease,
  now: () => number = Date.now,
): Promise<RenewResult> {
  const renewed = (lease: DrainLease): DrainLease => ({ ...lease, renewedAt: new Date(now()).toISOString() });
  const path = annotationPath;
  try {
    const next = renewed(mine);
    const node = await core.patchNode(
      {
        name: nodeName,
        body: [
          { op: 'test', path, value: JSON.stringify(mine) },
          { op: 'replace', path, value: JSON.stringify(next) },
        ],
      },
      jsonPatch,
    );
    return { status: 'renewed', lease: next, node };
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404) return { status: 'lost', lease: undefined };
    // 422: the test failed, someone amended the lease: read it and renew what is there now.
    if (status !== 422 && status !== 409) throw error;
  }
  const result = await guardedUpdate(core, nodeName, (node): Step<RenewResult> => {
    const current = readLease(node);
    if (current?.state !== 'draining' || current.holder !== mine.holder) {
      return { done: () => ({ status: 'lost', lease: current }) };
    }
    const next = renewed(current);
    return {
      patch: leaseOnlyPatch(next),
      done: (after) => ({ status: 'renewed', lease: next, node: after }),
    };
  });
  return result === 'node-gone' ? { status: 'lost', lease: undefined } : result;
}

export type FinishResult =
  | { status: 'finished'; lease: DrainLease; completed: HookRecord[] }
  | { status: 'lost'; lease: DrainLease | undefined };

/**
 * Records how the drain ended, after the last look at the world: every lifecycle hook recorded on
 * the lease by then is completed first (`completeHooks` returns those it completed), and the state is
 * written only on the version of the node that was read, so a hook added meanwhile is never missed.
 * Hooks that could not be completed stay on the lease for the reconcile.
 */
export async function finishLease(
  core: k8s.CoreV1Api,
  nodeName: string,
  holder: string,
  state: LeaseState,
  completeHooks: (hooks: HookRecord[]) => Promise<HookRecord[]>,
  now: () => number = Date.now,
  /** The lease as the holder last wrote it: when nobody changed it since, one request writes the end. */
  known?: DrainLease,
): Promise<FinishResult> {
  const completed: HookRecord[] = [];
  const isDone = (h: HookRecord) =>
    completed.some(
      (c) =>
        c.autoScalingGroupName === h.autoScalingGroupName &&
        c.lifecycleHookName === h.lifecycleHookName &&
        c.instanceId === h.instanceId,
    );
  const ended = (current: DrainLease): DrainLease => {
    // The holder stays on a finished lease: it tells readers of the node who drained it.
    const { renewedAt: _, ...rest } = current;
    return {
      ...rest,
      state,
      hooks: current.hooks.filter((h) => !isDone(h)),
      updatedAt: new Date(now()).toISOString(),
    };
  };
  if (known) {
    if (known.hooks.length > 0) completed.push(...(await completeHooks(known.hooks)));
    const lease = ended(known);
    try {
      await core.patchNode(
        {
          name: nodeName,
          body: [
            { op: 'test', path: annotationPath, value: JSON.stringify(known) },
            { op: 'replace', path: annotationPath, value: JSON.stringify(lease) },
            { op: 'add', path: stateLabelPath, value: lease.state },
          ],
        },
        jsonPatch,
      );
      return { status: 'finished', lease, completed };
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404) return { status: 'lost', lease: undefined };
      // Someone amended the lease since (a hook, a deadline) or took it over: read and decide.
      if (status !== 422 && status !== 409) throw error;
    }
  }
  for (let attempt = 0; ; attempt++) {
    let node: k8s.V1Node;
    try {
      node = await core.readNode({ name: nodeName });
    } catch (error) {
      if (httpStatusOf(error) === 404) return { status: 'lost', lease: undefined };
      throw error;
    }
    const current = readLease(node);
    if (!current || current.holder !== holder || current.state !== 'draining') {
      return { status: 'lost', lease: current };
    }
    const pending = current.hooks.filter((h) => !isDone(h));
    if (pending.length > 0) completed.push(...(await completeHooks(pending)));
    const lease = ended(current);
    try {
      const body = leaseOnlyPatch(lease);
      body.metadata.resourceVersion = node.metadata?.resourceVersion;
      await core.patchNode({ name: nodeName, body }, mergePatch);
      return { status: 'finished', lease, completed };
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404) return { status: 'lost', lease: undefined };
      if (status === 409 && attempt < 20) continue;
      throw error;
    }
  }
}

/**
 * Writes a lease state without any other change (a drain that failed gives the lease up at once).
 * Best effort on a node that is gone.
 */
export async function setLeaseState(
  core: k8s.CoreV1Api,
  nodeName: string,
  holder: string,
  state: LeaseState,
  now: () => number = Date.now,
): Promise<void> {
  await guardedUpdate(core, nodeName, (node) => {
    const current = readLease(node);
    if (!current || current.holder !== holder) return { done: () => undefined };
    const { renewedAt: _, ...rest } = current;
    return {
      patch: leaseOnlyPatch({ ...rest, state, updatedAt: new Date(now()).toISOString() }),
      done: () => undefined,
    };
  });
}

/** A patch that writes the lease annotation and its state label, nothing else. */
export function leaseOnlyPatch(lease: DrainLease) {
  return {
    metadata: {
      resourceVersion: undefined as string | undefined,
      annotations: { [leaseAnnotation]: JSON.stringify(lease) },
      labels: { [stateLabel]: lease.state },
    },
  };
}

/**
 * Cordon, the eks-spot-drainer/<kind> taint, the load-balancer exclusion label, the lease and its
 * state label, in one patch; the lease records which of these marks this project added, so that a
 * release takes away exactly those.
 */
export function markingPatch(
  node: k8s.V1Node,
  lease: DrainLease,
  options: MarkOptions,
  extraTaint?: k8s.V1Taint,
): { patch: Record<string, unknown>; lease: DrainLease } {
  const facts = nodeFacts(node);
  const marks = { ...lease.marks, taints: [...lease.marks.taints] };
  if (!facts.unschedulable) marks.cordoned = true;
  const taints = [...(node.spec?.taints ?? [])];
  const addTaint = (taint: k8s.V1Taint) => {
    if (!taints.some((t) => t.key === taint.key && t.effect === taint.effect)) {
      taints.push(taint);
      if (!marks.taints.includes(taint.key)) marks.taints.push(taint.key);
    }
  };
  if (options.taintNode) {
    addTaint({
      key: `${taintPrefix}${lease.kind}`,
      value: labelValue(lease.eventId),
      effect: 'NoSchedule',
      timeAdded: new Date(),
    });
  }
  if (extraTaint) addTaint({ ...extraTaint, timeAdded: new Date() });
  const labels: Record<string, string> = { [stateLabel]: lease.state };
  if (options.excludeFromLoadBalancers && !facts.lbLabel) {
    labels[excludeFromLoadBalancersLabel] = 'true';
    marks.lbLabel = true;
  }
  const marked: DrainLease = { ...lease, marks };
  const spec: { unschedulable: true; taints?: k8s.V1Taint[] } = { unschedulable: true };
  // A merge patch replaces the whole list; the resourceVersion guard makes that safe.
  if (taints.length !== (node.spec?.taints ?? []).length) spec.taints = taints;
  return {
    patch: { metadata: { annotations: { [leaseAnnotation]: JSON.stringify(marked) }, labels }, spec },
    lease: marked,
  };
}

/**
 * Undoes exactly what this project did to the node: its taints, its labels, its lease, and the
 * cordon only if the node was schedulable when it was cordoned.
 */
export function releasePatch(node: k8s.V1Node, lease: DrainLease): Record<string, unknown> {
  const ours = new Set(lease.marks.taints);
  const taints = (node.spec?.taints ?? []).filter((t) => !ours.has(t.key));
  const labels: Record<string, null> = { [stateLabel]: null };
  if (lease.marks.lbLabel) labels[excludeFromLoadBalancersLabel] = null;
  return {
    metadata: { annotations: { [leaseAnnotation]: null }, labels },
    spec: {
      ...(lease.marks.cordoned ? { unschedulable: null } : {}),
      ...(taints.length !== (node.spec?.taints ?? []).length ? { taints } : {}),
    },
  };
}

export type ReleaseResult = 'released' | 'not-ours' | 'node-gone';

/**
 * Lifts what this project did to a node whose interruption is over. `stillWanted` is asked about the
 * lease as it is when the patch is made: a notice that arrived meanwhile keeps the node as it is.
 */
export async function releaseNode(
  core: k8s.CoreV1Api,
  nodeName: string,
  stillWanted: (lease: DrainLease) => boolean,
  known?: k8s.V1Node,
): Promise<ReleaseResult> {
  return guardedUpdate(
    core,
    nodeName,
    (node): Step<ReleaseResult> => {
      const lease = readLease(node);
      if (!lease || !stillWanted(lease)) return { done: () => 'not-ours' };
      return { patch: releasePatch(node, lease), done: () => 'released' };
    },
    known,
  );
}

export type OutOfServiceResult =
  | { status: 'tainted' | 'already'; lease: DrainLease }
  | { status: 'node-gone' };

/**
 * Non-graceful node shutdown: the node.kubernetes.io/out-of-service taint (with the cordon and the
 * lease) on a node whose instance EC2 reports gone. The pod garbage collector then deletes its pods
 * and their volumes detach, so StatefulSet replacements can start elsewhere.
 */
export async function markOutOfService(
  core: k8s.CoreV1Api,
  nodeName: string,
  request: Pick<LeaseRequest, 'eventId' | 'kind' | 'detail' | 'deadline'>,
  options: MarkOptions,
  now: () => number = Date.now,
  known?: k8s.V1Node,
): Promise<OutOfServiceResult> {
  const result = await guardedUpdate(
    core,
    nodeName,
    (node): Step<OutOfServiceResult> => {
      const iso = new Date(now()).toISOString();
      const existing = readLease(node);
      const tainted = (node.spec?.taints ?? []).some((t) => t.key === outOfServiceTaint.key);
      if (existing?.state === 'out-of-service' && tainted) {
        return { done: () => ({ status: 'already', lease: existing }) };
      }
      const {
        holder: _,
        renewedAt: __,
        ...base
      } = existing ??
      ({
        v: 2,
        kind: request.kind,
        action: 'drain',
        eventId: request.eventId,
        ...(request.detail ? { detail: request.detail } : {}),
        deadline: new Date(request.deadline).toISOString(),
        since: iso,
        marks: { cordoned: false, taints: [], lbLabel: false },
        hooks: [],
      } as unknown as DrainLease);
      const lease: DrainLease = { ...base, state: 'out-of-service', updatedAt: iso } as DrainLease;
      const marked = markingPatch(node, lease, options, outOfServiceTaint);
      return { patch: marked.patch, done: () => ({ status: 'tainted', lease: marked.lease }) };
    },
    known,
  );
  return result === 'node-gone' ? { status: 'node-gone' } : result;
}

/** Takes lifecycle hooks off the lease (they were completed by whoever holds their token). */
export async function removeHooks(core: k8s.CoreV1Api, nodeName: string, hooks: HookRecord[]): Promise<void> {
  const key = (h: HookRecord) => `${h.autoScalingGroupName}/${h.lifecycleHookName}/${h.instanceId}`;
  const gone = new Set(hooks.map(key));
  await guardedUpdate(core, nodeName, (node) => {
    const current = readLease(node);
    const remaining = current?.hooks.filter((h) => !gone.has(key(h))) ?? [];
    if (!current || remaining.length === current.hooks.length) return { done: () => undefined };
    return { patch: leaseOnlyPatch({ ...current, hooks: remaining }), done: () => undefined };
  });
}
