/**
 * The disruption budget as the cluster holds it: the count of nodes whose state label says they are
 * held (never a count in memory: another invocation, or the reconcile, moves nodes too), and a lock
 * so that a place is counted and taken by one invocation at a time. The lock is a coordination Lease
 * that deploy/rbac.yaml creates (`default/eks-spot-drainer-budget`); it is held for one count and one
 * node patch, and expires on its own should its holder die.
 */
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { TransientError } from '../errors.js';
import { type Budget, type BudgetSpec, budgetLimit, countedStates } from '../interruption/budget.js';
import type { BudgetKeeper } from '../interruption/door.js';
import { RecordState, recordOn, stateLabel } from '../interruption/record.js';
import { sleep } from '../retry.js';
import { httpStatusOf } from './api-errors.js';
import { PatchStrategy, setHeaderOptions } from './client-node.js';
import { listMarkedNodes } from './marked-nodes.js';
import { retryKube } from './retry-kube.js';

export const budgetLease = { name: 'eks-spot-drainer-budget', namespace: 'default' } as const;
/** A holder that died is waited out this long; a live one holds the lock for a count and a patch. */
const leaseSeconds = 15;
/** Waiting for the lock gives up after this (a Health change or a rebalance can be tried again later). */
const lockWaitMs = 30_000;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface BudgetApis {
  core: k8s.CoreV1Api;
  coordination: k8s.CoordinationV1Api;
}

export interface CallBounds {
  deadline: number;
  now: () => number;
  signal?: AbortSignal;
}

/** The keeper the door counts and locks with, for one cluster and one invocation. */
export function budgetKeeper(
  apis: BudgetApis,
  spec: BudgetSpec,
  actor: string,
  call: CallBounds,
): BudgetKeeper {
  return {
    lock: () => takeLock(apis.coordination, actor, call),
    count: (nodeName) => countBudget(apis.core, spec, call, nodeName),
  };
}

/** Nodes held now (by the state label) against the limit the spec gives for the cluster's size. */
export async function countBudget(
  core: k8s.CoreV1Api,
  spec: BudgetSpec,
  call: CallBounds,
  nodeName?: string,
): Promise<Budget> {
  // One list of the marked nodes says all: which hold a place, and which wait with what deadline.
  const marked = await retryKube(() => listMarkedNodes(core), call);
  const stateOf = (n: k8s.V1Node) => n.metadata?.labels?.[stateLabel] as RecordState;
  // A recorded change cordoned at its notice (SCHEDULED_CORDON_AT_NOTICE) holds its node while scheduled.
  const holds = (n: k8s.V1Node) =>
    countedStates.includes(stateOf(n)) ||
    (stateOf(n) === RecordState.Scheduled && n.spec?.unschedulable === true);
  const limit = 'count' in spec ? budgetLimit(spec, 0) : budgetLimit(spec, await countNodes(core, call));
  return {
    inUse: marked.filter(holds).length,
    limit,
    waiting: marked
      .filter((n) => stateOf(n) === RecordState.Waiting && n.metadata?.name !== nodeName)
      .map((n) => Date.parse(recordOn(n)?.deadline ?? ''))
      .filter((d) => !Number.isNaN(d)),
  };
}

/** The cluster's nodes, counted without listing them: one item and the API server's count of the rest. */
async function countNodes(core: k8s.CoreV1Api, call: CallBounds): Promise<number> {
  const page = await retryKube(() => core.listNode({ limit: 1 }), call);
  return page.items.length + (page.metadata?.remainingItemCount ?? 0);
}

/** Takes the Lease (free, expired, or ours), waiting while a live holder has it; resolves to its release. */
async function takeLock(
  coordination: k8s.CoordinationV1Api,
  actor: string,
  call: CallBounds,
): Promise<() => Promise<void>> {
  // Unique per taking: the reconcile's workers share one invocation id.
  const me = `${actor}/${randomBytes(4).toString('hex')}`;
  const giveUpAt = Math.min(call.now() + lockWaitMs, call.deadline);
  for (let attempt = 0; ; attempt++) {
    const lease = await retryKube(() => coordination.readNamespacedLease(budgetLease), call).catch(
      (error: unknown) => {
        throw missingLease(error);
      },
    );
    if (isFree(lease, call.now())) {
      const taken = await patchLease(coordination, lease, {
        holderIdentity: me,
        renewTime: microTime(call.now()),
        leaseDurationSeconds: leaseSeconds,
      });
      if (taken) return () => giveBack(coordination, taken);
    }
    if (call.now() >= giveUpAt || call.signal?.aborted) {
      throw new TransientError(`the disruption budget's lock is held by ${lease.spec?.holderIdentity}`);
    }
    await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500) * (0.5 + Math.random()), call.signal);
  }
}

function isFree(lease: k8s.V1Lease, now: number): boolean {
  const spec = lease.spec;
  if (!spec?.holderIdentity) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : Number.NaN;
  return !(now < renewed + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000);
}

/** The Lease with `spec` merged in, if no one wrote it since `lease` was read; undefined when someone did. */
async function patchLease(
  coordination: k8s.CoordinationV1Api,
  lease: k8s.V1Lease,
  spec: Record<string, unknown>,
): Promise<k8s.V1Lease | undefined> {
  const body = { metadata: { resourceVersion: lease.metadata?.resourceVersion }, spec };
  try {
    return await coordination.patchNamespacedLease({ ...budgetLease, body }, mergePatch);
  } catch (error) {
    if (httpStatusOf(error) === 409) return undefined;
    throw error;
  }
}

/** Gives the lock back, unless it expired and someone else took it since (then it is theirs). */
async function giveBack(coordination: k8s.CoordinationV1Api, taken: k8s.V1Lease): Promise<void> {
  try {
    await patchLease(coordination, taken, { holderIdentity: null, renewTime: null });
  } catch {
    // Left to expire: the next taker waits at most leaseSeconds.
  }
}

/** Kubernetes' MicroTime (RFC 3339 with microseconds), which the API server parses exactly. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function missingLease(error: unknown): unknown {
  const status = httpStatusOf(error);
  if (status !== 404 && status !== 403) return error;
  return new Error(
    `the disruption budget needs the Lease ${budgetLease.namespace}/${budgetLease.name} and the right to update it (HTTP ${status}): apply deploy/rbac.yaml, or set MAX_VOLUNTARY_DISRUPTIONS empty`,
  );
}
