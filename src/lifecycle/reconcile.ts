import type * as k8s from '@kubernetes/client-node';
import type { InstanceStateSource } from '../aws/instance-states.js';
import type { LifecycleConfig } from '../config.js';
import { drainNode, type HookHandler } from '../drain/drain-node.js';
import {
  type DrainLease,
  defaultLeaseTiming,
  isNodeReady,
  type LeaseTiming,
  outOfServiceTaint,
  readLease,
  stateLabel,
} from '../drain/lease.js';
import { releaseNode } from '../drain/lease-store.js';
import { NodeEventReason, NodeEventRecorder } from '../drain/node-events.js';
import type { DrainOptions } from '../drain/options.js';
import type { DrainResult } from '../drain/result.js';
import type { KubeApis } from '../kube/connection.js';
import { retryKube } from '../kube/retry-kube.js';
import { Action } from '../types.js';
import { decideStep, type InstanceView, type NodeView, type ReconcileStep } from './decide.js';
import { completeLeaseHooks, freePodsOfGoneNode } from './out-of-service.js';

export interface ReconcileOptions {
  lifecycle: LifecycleConfig;
  drain: DrainOptions;
  /** EC2's view of the instances; without it (a kubeconfig-only CLI run) nothing that needs EC2 is done. */
  instanceStates?: InstanceStateSource;
  hooks?: HookHandler;
  /** Who acts (the invocation id): it becomes the holder of drains the reconcile starts. */
  holder: string;
  /** When the invocation must return (epoch ms). */
  deadline: number;
  signal?: AbortSignal;
  now?: () => number;
  timing?: Partial<LeaseTiming> & { renewIntervalMs?: number };
  /** Decide and report only. */
  dryRun?: boolean;
  /** At most this many nodes are acted on at once. */
  concurrency?: number;
  /** Only marked nodes that also match this label selector (a staged rollout, one node pool). */
  selector?: string;
}

/** What the reconcile did with one marked node. */
export interface NodeReconcileReport {
  node: string;
  instanceId: string | undefined;
  leaseState: string;
  step: ReconcileStep['step'];
  why: string;
  /** What came of it: released, tainted, the drain's outcome, hooks completed, or the error. */
  result?: string;
  drain?: DrainResult;
  error?: string;
}

/**
 * One pass over a cluster: every node carrying this project's marks (the state label) is moved on
 * by its own lease and the world as it is now (see decide.ts). Nodes are independent: one that fails
 * is reported and the others go on.
 */
export async function reconcileCluster(
  apis: KubeApis,
  options: ReconcileOptions,
): Promise<NodeReconcileReport[]> {
  const now = options.now ?? Date.now;
  const timing: LeaseTiming = { ...defaultLeaseTiming, ...options.timing };
  const call = { deadline: options.deadline, now, ...(options.signal ? { signal: options.signal } : {}) };
  const nodes = await retryKube(() => listMarkedNodes(apis.core, options.selector), call);
  const marked = nodes.flatMap((node) => {
    const lease = readLease(node);
    return lease ? [{ node, lease, instanceId: instanceIdOf(node) }] : [];
  });
  const ids = marked.flatMap((m) => (m.instanceId ? [m.instanceId] : []));
  const states =
    options.instanceStates && ids.length > 0 ? await options.instanceStates(ids, call) : undefined;

  const reports: NodeReconcileReport[] = [];
  const queue = [...marked];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const state = item.instanceId ? states?.get(item.instanceId) : undefined;
      const instance: InstanceView = state
        ? { state: state.state, ...(state.launchTime ? { launchTime: state.launchTime.getTime() } : {}) }
        : 'unknown';
      reports.push(
        await reconcileNode(apis, item.node, item.lease, item.instanceId, instance, options, timing, now),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 10) }, worker));
  return reports.sort((a, b) => a.node.localeCompare(b.node));
}

async function reconcileNode(
  apis: KubeApis,
  node: k8s.V1Node,
  lease: DrainLease,
  instanceId: string | undefined,
  instance: InstanceView,
  options: ReconcileOptions,
  timing: LeaseTiming,
  now: () => number,
): Promise<NodeReconcileReport> {
  const name = node.metadata?.name ?? '';
  const decision = decideStep({
    lease,
    node: nodeView(node, now() - Date.now()),
    instance,
    now: now(),
    config: options.lifecycle,
    timing,
    noDeadlineBudgetMs: options.drain.noDeadlineBudgetMs,
  });
  const report: NodeReconcileReport = {
    node: name,
    instanceId,
    leaseState: lease.state,
    step: decision.step,
    why: decision.why,
  };
  if (options.dryRun || decision.step === 'wait') return report;
  const call = { deadline: options.deadline, now, ...(options.signal ? { signal: options.signal } : {}) };
  try {
    switch (decision.step) {
      case 'release': {
        // Only the lease we decided on: a notice that arrived meanwhile keeps the node as it is.
        const result = await retryKube(
          () => releaseNode(apis.core, name, (current) => current.updatedAt === lease.updatedAt, node),
          call,
        );
        if (result === 'released') {
          const events = new NodeEventRecorder(apis.core, node, options.holder);
          events.record(
            NodeEventReason.Uncordon,
            `Marks of ${lease.kind} ${lease.eventId} removed: ${decision.why}`,
          );
          await events.flush();
        }
        report.result = result;
        break;
      }
      case 'out-of-service': {
        const freed = await retryKube(
          () =>
            freePodsOfGoneNode(
              apis,
              node,
              {
                eventId: lease.eventId,
                kind: lease.kind,
                ...(lease.detail ? { detail: lease.detail } : {}),
                deadline: Date.parse(lease.deadline),
                holder: options.holder,
                reason: decision.why,
              },
              options.drain,
              options.hooks,
              now,
            ),
          call,
        );
        report.result = freed.status === 'tainted' ? `tainted (${freed.podsBound} pods bound)` : freed.status;
        break;
      }
      case 'drain': {
        const result = await drainNode(
          {
            nodeName: name,
            kind: lease.kind,
            eventId: lease.eventId,
            action: Action.Drain,
            deadline: Math.min(decision.deadline, options.deadline),
            holder: options.holder,
            node,
            noticeMessage: `Reconcile (${decision.why}) of ${lease.kind} ${lease.eventId}`,
            ...(lease.detail ? { detail: lease.detail } : {}),
            ...(lease.scheduled ? { scheduled: lease.scheduled } : {}),
          },
          {
            apis,
            options: options.drain,
            now,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.hooks ? { hooks: options.hooks } : {}),
            ...(options.timing ? { timing: options.timing } : {}),
          },
        );
        report.drain = result;
        report.result = result.outcome;
        break;
      }
      case 'complete-hooks': {
        const completed = await completeLeaseHooks(apis.core, name, options.hooks);
        report.result = `${completed} of ${lease.hooks.length} hooks completed`;
        break;
      }
    }
  } catch (error) {
    report.error = (error as Error)?.message ?? String(error);
  }
  return report;
}

/** Every node with this project's state label (and `selector`, if given), paged. */
export async function listMarkedNodes(core: k8s.CoreV1Api, selector?: string): Promise<k8s.V1Node[]> {
  const labelSelector = selector ? `${stateLabel},${selector}` : stateLabel;
  const nodes: k8s.V1Node[] = [];
  let _continue: string | undefined;
  do {
    const page = await core.listNode({ labelSelector, limit: 500, _continue });
    nodes.push(...page.items);
    _continue = page.metadata?._continue || undefined;
  } while (_continue);
  return nodes;
}

/** The EC2 instance of a node, from its providerID (aws:///<az>/<instance-id>). */
export function instanceIdOf(node: k8s.V1Node): string | undefined {
  const id = node.spec?.providerID?.split('/').at(-1);
  return id && /^i-[0-9a-f]{8,17}$/.test(id) ? id : undefined;
}

/** What the decision reads of a node; `skewMs` turns the API server's times into our clock's. */
export function nodeView(node: k8s.V1Node, skewMs = 0): NodeView {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const since = ready?.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() + skewMs : undefined;
  return {
    ready: isNodeReady(node),
    bootId: node.status?.nodeInfo?.bootID || undefined,
    readySince: Number.isFinite(since) ? since : undefined,
    outOfServiceTainted: (node.spec?.taints ?? []).some((t) => t.key === outOfServiceTaint.key),
  };
}
