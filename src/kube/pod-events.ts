import type * as k8s from '@kubernetes/client-node';
import { EventWriter } from './event-writer.js';

/** The reasons written on a pod a drain removed, so `kubectl describe pod` tells who did and why. */
export const PodEventReason = {
  /** Evicted through the Eviction API (every PodDisruptionBudget over it agreed) to drain its node. */
  DrainEviction: 'DrainEviction',
  /** Deleted at the deadline though a PodDisruptionBudget still protected it (FORCE_AT_DEADLINE). */
  DrainForceDelete: 'DrainForceDelete',
} as const;
export type PodEventReason = (typeof PodEventReason)[keyof typeof PodEventReason];

/** Writes at once, at most: the Events of a 110-pod node go out beside its evictions, not ahead of them. */
const maxEventsInFlight = 4;

/**
 * Writes core/v1 Events about the pods a drain removes, in each pod's namespace, in the background
 * and a few at a time; a failure never fails the drain. `flush` waits for them, briefly. With
 * `mayStart`, they wait while it says no (the drain's evictions in flight: on a small API server,
 * 110 Event writes beside 110 evictions slow the answers the pods' ends wait for) until `poke`.
 */
export class PodEventRecorder {
  private readonly writer: EventWriter;

  constructor(core: k8s.CoreV1Api, instance: string, mayStart?: () => boolean) {
    this.writer = new EventWriter(core, instance, maxEventsInFlight, mayStart);
  }

  /** Starts the Events that waited, if `mayStart` now allows. */
  poke(): void {
    this.writer.poke();
  }

  get failures(): number {
    return this.writer.failures;
  }

  record(
    pod: k8s.V1Pod,
    reason: PodEventReason,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): void {
    const { namespace = '', name = '', uid } = pod.metadata ?? {};
    this.writer.write({ kind: 'Pod', namespace, name, uid }, reason, message, type);
  }

  /** Waits for the writes in flight and queued, at most `timeoutMs`. */
  flush(timeoutMs = 2_000): Promise<void> {
    return this.writer.flush(timeoutMs);
  }
}
