import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';

export const eventSource = 'eks-spot-drainer';

/** The reasons written on the node, so `kubectl describe node` tells what happened. */
export const NodeEventReason = {
  SpotInterruption: 'SpotInterruption',
  RebalanceRecommendation: 'RebalanceRecommendation',
  InstanceStateChange: 'InstanceStateChange',
  ScheduledChange: 'ScheduledChange',
  AutoScalingTermination: 'AutoScalingTermination',
  CapacityReservationInterruption: 'CapacityReservationInterruption',
  Cordon: 'Cordon',
  Drain: 'Drain',
  DrainComplete: 'DrainComplete',
  DrainBlocked: 'DrainBlocked',
  /** A Health scheduled change recorded, to be drained when it is due. */
  DrainScheduled: 'DrainScheduled',
  /** A voluntary drain waits for the cluster's disruption budget (MAX_VOLUNTARY_DISRUPTIONS). */
  WaitingForBudget: 'WaitingForBudget',
  /** The interruption is over (the instance stayed or came back): this project's marks removed. */
  Uncordon: 'Uncordon',
  /** The instance is gone and its kubelet stopped: the out-of-service taint frees its pods. */
  OutOfService: 'OutOfService',
} as const;
export type NodeEventReason = (typeof NodeEventReason)[keyof typeof NodeEventReason];

/**
 * Writes core/v1 Events about a node without slowing the drain: each write runs in the background
 * and a failure (RBAC, API hiccup) never fails the drain. `flush` waits for them, briefly.
 */
export class NodeEventRecorder {
  private readonly pending: Promise<unknown>[] = [];
  failures = 0;

  constructor(
    private readonly core: k8s.CoreV1Api,
    private readonly node: k8s.V1Node,
    private readonly instance: string,
  ) {}

  record(reason: NodeEventReason, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    const name = this.node.metadata?.name ?? '';
    const now = new Date();
    const event: k8s.CoreV1Event = {
      metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace: 'default' },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name, uid: this.node.metadata?.uid },
      reason,
      // The API server rejects messages over 1 KiB.
      message: message.length > 1_000 ? `${message.slice(0, 997)}...` : message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: undefined,
      source: { component: eventSource },
      reportingComponent: eventSource,
      reportingInstance: this.instance,
    };
    this.pending.push(
      this.core.createNamespacedEvent({ namespace: 'default', body: event }).catch(() => {
        this.failures++;
      }),
    );
  }

  /** Waits for the writes in flight, at most `timeoutMs`. */
  async flush(timeoutMs = 2_000): Promise<void> {
    const all = Promise.allSettled(this.pending.splice(0));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}
