import type * as k8s from '@kubernetes/client-node';
import { Watch } from '../kube/client-node.js';
import { sleep } from '../retry.js';

/** A watch the API server has not answered in this long is given up and started again. */
export const watchStartTimeoutMs = 10_000;
/**
 * After this long without a word from the watch (no event, no bookmark), a list settles which pods
 * are gone: a watch can fall silent without closing (a stuck API server, a half-open connection).
 */
export const resyncAfterQuietMs = 5_000;

function isTerminal(pod: k8s.V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** namespace/name: how the tracker and the drain name pods. */
export function podKey(pod: k8s.V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/**
 * Knows, from one watch on the node's pods, when each pod is gone: deleted, or replaced by a pod of
 * the same name with another UID. One watch for the whole node instead of a GET per pod per second
 * (kubectl's way) is what keeps the drain's API cost near one request per pod.
 * If the watch breaks, it lists again, settles what happened meanwhile, and watches on; if it is
 * never answered or falls silent, lists settle the pods until a new watch works.
 */
export class PodTracker {
  private readonly tracked = new Map<string, string | undefined>();
  private readonly goneAt = new Map<string, number>();
  /** The last version seen of each tracked pod (its deletionTimestamp tells when its grace ends). */
  private readonly latest = new Map<string, k8s.V1Pod>();
  /** Pods bound to the node after the list, by UID: a pod that tolerates the cordon lands back. */
  private readonly arrived = new Map<string, k8s.V1Pod>();
  private readonly goneSignals = new Map<string, AbortController>();
  /** UIDs of pods already accounted for (listed at the start, skipped or followed). */
  private readonly known = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private controller: AbortController | undefined;
  private stopped = false;
  private lastWatchStart = 0;
  /** Which watch is current: callbacks of an abandoned one are ignored. */
  private generation = 0;
  private lastHeard = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private waitingForWatch: AbortController | undefined;
  /** How many times the watch was (re)started: 1 when nothing went wrong. */
  watches = 0;

  private constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly core: k8s.CoreV1Api,
    private readonly nodeName: string,
    private readonly now: () => number,
  ) {}

  /**
   * Starts watching from the resourceVersion of the list the pods came from. It does not wait for the
   * API server to answer the watch: events since the list are replayed whenever it does.
   */
  static async start(
    kc: k8s.KubeConfig,
    core: k8s.CoreV1Api,
    nodeName: string,
    pods: k8s.V1Pod[],
    resourceVersion: string | undefined,
    now: () => number = Date.now,
  ): Promise<PodTracker> {
    const tracker = new PodTracker(kc, core, nodeName, now);
    tracker.track(pods);
    tracker.lastHeard = now();
    tracker.startWatch(resourceVersion);
    tracker.scheduleResync(resyncAfterQuietMs);
    return tracker;
  }

  /** Follows more pods (found after the list) until they are gone. */
  track(pods: k8s.V1Pod[]): void {
    for (const pod of pods) {
      const key = podKey(pod);
      this.tracked.set(key, pod.metadata?.uid);
      this.latest.set(key, pod);
      this.goneAt.delete(key);
      if (pod.metadata?.uid) this.arrived.delete(pod.metadata.uid);
    }
    this.accountFor(pods);
  }

  /** Pods the drain knows of and leaves alone (skipped by a filter): they are not arrivals. */
  accountFor(pods: k8s.V1Pod[]): void {
    for (const pod of pods) {
      if (!pod.metadata?.uid) continue;
      this.known.add(pod.metadata.uid);
      this.arrived.delete(pod.metadata.uid);
    }
  }

  /** The pod as last seen, while it is tracked. */
  latestOf(key: string): k8s.V1Pod | undefined {
    return this.latest.get(key);
  }

  /** Pods that arrived on the node since the list and are still there (not yet tracked). */
  arrivals(): k8s.V1Pod[] {
    return [...this.arrived.values()];
  }

  /** Aborts when the pod is seen gone: an eviction still retrying for it can stop. */
  goneSignal(key: string): AbortSignal {
    let controller = this.goneSignals.get(key);
    if (!controller) {
      controller = new AbortController();
      this.goneSignals.set(key, controller);
      if (this.goneAt.has(key)) controller.abort();
    }
    return controller.signal;
  }

  /** When the pod was seen gone (epoch ms), or undefined while it is still there. */
  goneTime(key: string): number | undefined {
    return this.goneAt.get(key);
  }

  /**
   * Resolves when every pod in `keys` is gone, or at `deadline` (a number, or a function re-read
   * each time something happens, e.g. when a drain's deadline moves), or when `interrupt` fires;
   * returns the pods still there.
   */
  async waitForGone(
    keys: string[],
    deadline: number | (() => number),
    signal?: AbortSignal,
    interrupt?: (wake: () => void) => () => void,
  ): Promise<string[]> {
    const limit = typeof deadline === 'number' ? () => deadline : deadline;
    const remaining = () => keys.filter((k) => !this.goneAt.has(k));
    let interrupted = false;
    while (remaining().length > 0 && this.now() < limit() && !signal?.aborted && !interrupted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          signal?.removeEventListener('abort', wake);
          unsubscribe?.();
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, limit() - this.now()));
        signal?.addEventListener('abort', wake, { once: true });
        const unsubscribe = interrupt?.(() => {
          interrupted = true;
          wake();
        });
        this.waiters.add(wake);
      });
    }
    return remaining();
  }

  /** A consistent list of the node's pods now: settles what is gone and returns what arrived. */
  async relist(): Promise<k8s.V1Pod[]> {
    await this.settle();
    return this.arrivals();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    this.waitingForWatch?.abort();
    this.controller?.abort();
    for (const wake of [...this.waiters]) wake();
  }

  private markGone(key: string): void {
    if (!this.tracked.has(key) || this.goneAt.has(key)) return;
    this.goneAt.set(key, this.now());
    this.goneSignals.get(key)?.abort();
    for (const wake of [...this.waiters]) wake();
  }

  private onEvent(type: string, pod: k8s.V1Pod): void {
    const key = podKey(pod);
    const uid = this.tracked.get(key);
    const podUid = pod.metadata?.uid;
    if (this.tracked.has(key) && podUid === uid) {
      if (type === 'DELETED') this.markGone(key);
      else this.latest.set(key, pod);
      return;
    }
    // Not a pod we follow (or a namesake that replaced it): a pod bound to the node after the list.
    if (this.tracked.has(key) && uid && (type === 'ADDED' || type === 'MODIFIED')) this.markGone(key);
    if (!podUid || this.known.has(podUid)) return;
    if (type === 'DELETED' || isTerminal(pod)) this.arrived.delete(podUid);
    else this.arrived.set(podUid, pod);
  }

  private async watch(resourceVersion: string | undefined): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    this.watches++;
    this.lastWatchStart = this.now();
    const watcher = new Watch(this.kc);
    // client-node's Watch has no timeout of its own: a request never answered would hang for good.
    const starting = watcher.watch(
      '/api/v1/pods',
      {
        fieldSelector: `spec.nodeName=${this.nodeName}`,
        resourceVersion,
        allowWatchBookmarks: true,
        // The server ends the watch after this; we simply watch again.
        timeoutSeconds: 300,
      },
      (type, pod: k8s.V1Pod, raw: { object?: { code?: number } }) => {
        if (!current()) return;
        this.lastHeard = this.now();
        if (type === 'ERROR') {
          // 410 Gone: our resourceVersion is too old to resume from; the relist below recovers.
          if (raw?.object?.code === 410) this.controller?.abort();
          return;
        }
        if (type !== 'BOOKMARK') this.onEvent(type, pod);
      },
      () => {
        if (current()) void this.resume();
      },
    );
    const patience = new AbortController();
    this.waitingForWatch = patience;
    const controller = await Promise.race([
      starting,
      sleep(watchStartTimeoutMs, patience.signal).then(() => undefined),
    ]);
    patience.abort();
    if (controller) {
      if (current()) this.controller = controller;
      else controller.abort();
      return;
    }
    // Abandon it (and close it, should it ever answer), and start over from a fresh list.
    starting.then(
      (late) => late.abort(),
      () => {},
    );
    if (current()) {
      this.generation++;
      void this.resume();
    }
  }

  /** Watches in the background; a watch that cannot even be sent is treated like a broken one. */
  private startWatch(resourceVersion: string | undefined): void {
    this.watch(resourceVersion).catch(() => {
      if (this.stopped) return;
      this.generation++;
      void this.resume();
    });
  }

  /** Lists the node's pods, marks the tracked ones no longer there, and returns the list's version. */
  private async settle(): Promise<string | undefined> {
    const list = await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` });
    this.lastHeard = this.now();
    const present = new Map(list.items.map((p) => [podKey(p), p.metadata?.uid]));
    for (const [key, uid] of this.tracked) {
      if (!present.has(key) || (uid && present.get(key) !== uid)) this.markGone(key);
    }
    const uids = new Set(list.items.map((p) => p.metadata?.uid));
    for (const uid of this.arrived.keys()) if (!uids.has(uid)) this.arrived.delete(uid);
    for (const pod of list.items) {
      const key = podKey(pod);
      const uid = pod.metadata?.uid;
      if (this.tracked.get(key) === uid) this.latest.set(key, pod);
      else if (uid && !this.known.has(uid) && !isTerminal(pod)) this.arrived.set(uid, pod);
    }
    return list.metadata?.resourceVersion;
  }

  /** While pods are awaited, a list after each quiet spell of the watch. */
  private scheduleResync(delayMs: number): void {
    if (this.stopped) return;
    this.resyncTimer = setTimeout(async () => {
      const quietFor = this.now() - this.lastHeard;
      const awaited = [...this.tracked.keys()].some((key) => !this.goneAt.has(key));
      if (awaited && quietFor >= resyncAfterQuietMs) await this.settle().catch(() => {});
      this.scheduleResync(Math.max(1_000, this.lastHeard + resyncAfterQuietMs - this.now()));
    }, delayMs);
    this.resyncTimer.unref();
  }

  /** The watch ended (timeout, API server restart, network): list, settle, watch again. */
  private async resume(): Promise<void> {
    // A watch refused at once (say, forbidden) must not turn into a busy loop of lists.
    if (this.now() - this.lastWatchStart < 1_000) await sleep(500);
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const resourceVersion = await this.settle();
        this.startWatch(resourceVersion);
        return;
      } catch {
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }
}
