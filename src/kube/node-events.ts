import type * as k8s from '@kubernetes/client-node';
import { EventWriter } from './event-writer.js';

export { eventSource } from './event-writer.js';

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
  /** A drained node's lifecycle hooks completed at the wait's bound, its VolumeAttachments not all gone. */
  VolumesStillAttached: 'VolumesStillAttached',
} as const;
export type NodeEventReason = (typeof NodeEventReason)[keyof typeof NodeEventReason];

/**
 * Writes core/v1 Events about a node without slowing the drain: each write runs in the background
 * and a failure (RBAC, API hiccup) never fails the drain. `flush` waits for them, briefly.
 */
export class NodeEventRecorder {
  private readonly writer: EventWriter;

  constructor(
    core: k8s.CoreV1Api,
    private readonly node: k8s.V1Node,
    instance: string,
  ) {
    this.writer = new EventWriter(core, instance);
  }

  get failures(): number {
    return this.writer.failures;
  }

  record(reason: NodeEventReason, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    const { name = '', uid } = this.node.metadata ?? {};
    this.writer.write({ kind: 'Node', name, uid }, reason, message, type);
  }

  /** Waits for the writes in flight, at most `timeoutMs`. */
  flush(timeoutMs = 2_000): Promise<void> {
    return this.writer.flush(timeoutMs);
  }
}
