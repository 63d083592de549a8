import type * as k8s from '@kubernetes/client-node';
import type { HookHandler } from '../drain/drain-types.js';
import { isFinished as isFinishedPod } from '../drain/filters.js';
import { type DrainLease, type LeaseRequest, readLease } from '../drain/lease.js';
import { type MarkOptions, markOutOfService, removeHooks } from '../drain/lease-store.js';
import { NodeEventReason, NodeEventRecorder } from '../drain/node-events.js';
import type { KubeApis } from '../kube/connection.js';
import { sleep } from '../retry.js';

/**
 * Pods that are already terminating when the kubelet has stopped get this long to be gone (a
 * graceful node shutdown that was finishing) before the node is tainted out of service.
 */
export const shutdownGraceMs = 5_000;

export type FreePodsResult =
  | { status: 'tainted' | 'already'; podsBound: number; lease: DrainLease; hooksCompleted: number }
  | { status: 'nothing-bound' }
  | { status: 'node-gone' };

/**
 * Frees the pods of a node whose instance EC2 reports gone and whose kubelet has stopped: evicted pods
 * could never finish terminating there, and StatefulSet pods would stay bound with their volumes
 * attached. The node.kubernetes.io/out-of-service taint (Kubernetes' non-graceful node shutdown)
 * has the pod garbage collector delete them and lets their volumes detach at once. Returns quickly:
 * the controllers do the rest. The caller has checked EC2 and the node's readiness.
 */
export async function freePodsOfGoneNode(
  apis: KubeApis,
  node: k8s.V1Node,
  request: Pick<LeaseRequest, 'eventId' | 'kind' | 'detail' | 'deadline'> & {
    holder: string;
    reason: string;
  },
  options: MarkOptions,
  hooks: HookHandler | undefined,
  now: () => number = Date.now,
): Promise<FreePodsResult> {
  const nodeName = node.metadata?.name ?? '';
  const bound = async () =>
    (await apis.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` })).items.filter(
      (p) => !isFinishedPod(p) && !p.metadata?.annotations?.['kubernetes.io/config.mirror'],
    );
  let pods = await bound();
  if (pods.length === 0 && readLease(node)?.state !== 'out-of-service') return { status: 'nothing-bound' };
  if (pods.some((p) => p.metadata?.deletionTimestamp)) {
    const until = now() + shutdownGraceMs;
    while (now() < until && pods.some((p) => p.metadata?.deletionTimestamp)) {
      await sleep(500);
      pods = await bound();
    }
  }
  const marked = await markOutOfService(apis.core, nodeName, request, options, now);
  if (marked.status === 'node-gone') return marked;
  if (marked.status === 'tainted') {
    const events = new NodeEventRecorder(apis.core, node, request.holder);
    events.record(
      NodeEventReason.OutOfService,
      `${request.reason}: tainted node.kubernetes.io/out-of-service so that its ${pods.length} pods are deleted and their volumes detach`,
      'Warning',
    );
    await events.flush();
  }
  const completed = await completeLeaseHooks(apis.core, nodeName, hooks);
  return { status: marked.status, podsBound: pods.length, lease: marked.lease, hooksCompleted: completed };
}

/**
 * Completes the lifecycle hooks recorded on a lease whose drain is over (or whose instance is gone),
 * and removes those completed from it. Returns how many it completed.
 */
export async function completeLeaseHooks(
  core: k8s.CoreV1Api,
  nodeName: string,
  hooks: HookHandler | undefined,
): Promise<number> {
  if (!hooks) return 0;
  let lease: DrainLease | undefined;
  try {
    lease = readLease(await core.readNode({ name: nodeName }));
  } catch {
    return 0;
  }
  if (!lease || lease.hooks.length === 0) return 0;
  const done = await hooks.complete(lease.hooks);
  if (done.length > 0) await removeHooks(core, nodeName, done);
  return done.length;
}
