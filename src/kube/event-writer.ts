import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';

/** The `source.component` and `reportingComponent` of every Event this project writes. */
export const eventSource = 'eks-spot-drainer';

/**
 * What an Event is about. A node's Events go in `default`, where kubectl looks for those of
 * cluster-scoped objects; a pod's in its own namespace, where `kubectl describe pod` finds them.
 */
export type EventSubject =
  | { kind: 'Node'; name: string; uid?: string | undefined }
  | { kind: 'Pod'; namespace: string; name: string; uid?: string | undefined };

/** Event names are DNS subdomains (at most 253 characters): the subject's name, a dot, 16 hex digits. */
const maxSubjectNameInEventName = 253 - 17;
/** The API server rejects messages over 1 KiB. */
const maxMessageLength = 1_000;

/**
 * Writes core/v1 Events without slowing its caller: each write runs in the background, at most
 * `maxInFlight` at once (the others wait their turn), and a failure (RBAC, an API hiccup) never
 * fails the caller, it is only counted. `flush` waits for them, briefly.
 */
export class EventWriter {
  /** Writes that failed, or were dropped by a flush that ran out of time before they started. */
  failures = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  /** Set by flush: what is queued goes now, whatever `mayStart` says. */
  private flushing = false;

  constructor(
    private readonly core: k8s.CoreV1Api,
    /** Who writes (`reportingInstance`): the invocation's id. */
    private readonly instance: string,
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
    /** Whether a write may start now (queued writes wait for `poke`); e.g. not while evictions are in flight. */
    private readonly mayStart: () => boolean = () => true,
  ) {}

  write(subject: EventSubject, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    const namespace = subject.kind === 'Pod' ? subject.namespace : 'default';
    const body = eventBody(subject, namespace, reason, message, type, this.instance);
    const done = new Promise<void>((resolve) => {
      const start = () => {
        this.running++;
        this.core
          .createNamespacedEvent({ namespace, body })
          .then(
            () => {},
            () => {
              this.failures++;
            },
          )
          .finally(() => {
            this.running--;
            resolve();
            this.poke();
          });
      };
      if (this.canStart()) start();
      else this.waiting.push(start);
    });
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  /** Starts the queued writes the limit and `mayStart` allow now: call it when `mayStart` may have turned true. */
  poke(): void {
    while (this.waiting.length > 0 && this.canStart()) this.waiting.shift()!();
  }

  private canStart(): boolean {
    return this.running < this.maxInFlight && (this.flushing || this.mayStart());
  }

  /**
   * Waits for the writes in flight and queued, at most `timeoutMs`; those still queued then are
   * dropped (counted as failures), so that none starts after its caller has ended.
   */
  async flush(timeoutMs = 2_000): Promise<void> {
    this.flushing = true;
    this.poke();
    const all = Promise.allSettled([...this.pending]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.failures += this.waiting.length;
    this.waiting.length = 0;
  }
}

function eventBody(
  subject: EventSubject,
  namespace: string,
  reason: string,
  message: string,
  type: 'Normal' | 'Warning',
  instance: string,
): k8s.CoreV1Event {
  const now = new Date();
  const suffix = randomBytes(8).toString('hex');
  return {
    metadata: { name: `${subject.name.slice(0, maxSubjectNameInEventName)}.${suffix}`, namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: subject.kind,
      name: subject.name,
      ...(subject.kind === 'Pod' ? { namespace: subject.namespace } : {}),
      uid: subject.uid,
    },
    reason,
    message: message.length > maxMessageLength ? `${message.slice(0, maxMessageLength - 3)}...` : message,
    type,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    eventTime: undefined,
    source: { component: eventSource },
    reportingComponent: eventSource,
    reportingInstance: instance,
  };
}
