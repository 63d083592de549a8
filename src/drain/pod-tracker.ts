import * as k8s from '@kubernetes/client-node';
import { sleep } from '../retry.js';

/** namespace/name: how the tracker and the drain name pods. */
export function podKey(pod: k8s.V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/**
 * Knows, from one watch on the node's pods, when each pod is gone: deleted, or replaced by a pod of
 * the same name with another UID. One watch for the whole node instead of a GET per pod per second
 * (kubectl's way) is what keeps the drain's API cost near one request per pod.
 * If the watch breaks, it lists again, settles what happened meanwhile, and watches on.
 */
export class PodTracker {
  private readonly tracked = new Map<string, string | undefined>();
  private readonly goneAt = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private controller: AbortController | undefined;
  private stopped = false;
  private lastWatchStart = 0;
  /** How many times the watch was (re)started: 1 when nothing went wrong. */
  watches = 0;

  private constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly core: k8s.CoreV1Api,
    private readonly nodeName: string,
    private readonly now: () => number,
  ) {}

  /** Starts watching from the resourceVersion of the list the pods came from. */
  static async start(
    kc: k8s.KubeConfig,
    core: k8s.CoreV1Api,
    nodeName: string,
    pods: k8s.V1Pod[],
    resourceVersion: string | undefined,
    now: () => number = Date.now,
  ): Promise<PodTracker> {
    const tracker = new PodTracker(kc, core, nodeName, now);
    for (const pod of pods) tracker.tracked.set(podKey(pod), pod.metadata?.uid);
    await tracker.watch(resourceVersion);
    return tracker;
  }

  /** When the pod was seen gone (epoch ms), or undefined while it is still there. */
  goneTime(key: string): number | undefined {
    return this.goneAt.get(key);
  }

  /** Resolves when every pod in `keys` is gone, or at `deadline`; returns the pods still there. */
  async waitForGone(keys: string[], deadline: number, signal?: AbortSignal): Promise<string[]> {
    const remaining = () => keys.filter((k) => !this.goneAt.has(k));
    while (remaining().length > 0 && this.now() < deadline && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, deadline - this.now()));
        signal?.addEventListener('abort', wake, { once: true });
        this.waiters.add(wake);
      });
    }
    return remaining();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    for (const wake of [...this.waiters]) wake();
  }

  private markGone(key: string): void {
    if (!this.tracked.has(key) || this.goneAt.has(key)) return;
    this.goneAt.set(key, this.now());
    for (const wake of [...this.waiters]) wake();
  }

  private onEvent(type: string, pod: k8s.V1Pod): void {
    const key = podKey(pod);
    if (!this.tracked.has(key)) return;
    const uid = this.tracked.get(key);
    if (type === 'DELETED' && pod.metadata?.uid === uid) this.markGone(key);
    else if ((type === 'ADDED' || type === 'MODIFIED') && uid && pod.metadata?.uid !== uid)
      this.markGone(key);
  }

  private async watch(resourceVersion: string | undefined): Promise<void> {
    if (this.stopped) return;
    this.watches++;
    this.lastWatchStart = this.now();
    const watcher = new k8s.Watch(this.kc);
    this.controller = await watcher.watch(
      '/api/v1/pods',
      {
        fieldSelector: `spec.nodeName=${this.nodeName}`,
        resourceVersion,
        allowWatchBookmarks: true,
        // The server ends the watch after this; we simply watch again.
        timeoutSeconds: 300,
      },
      (type, pod: k8s.V1Pod, raw: { object?: { code?: number } }) => {
        if (type === 'ERROR') {
          // 410 Gone: our resourceVersion is too old to resume from; the relist below recovers.
          if (raw?.object?.code === 410) this.controller?.abort();
          return;
        }
        if (type !== 'BOOKMARK') this.onEvent(type, pod);
      },
      () => {
        void this.resume();
      },
    );
  }

  /** The watch ended (timeout, API server restart, network): list, settle, watch again. */
  private async resume(): Promise<void> {
    // A watch refused at once (say, forbidden) must not turn into a busy loop of lists.
    if (this.now() - this.lastWatchStart < 1_000) await sleep(500);
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const list = await this.core.listPodForAllNamespaces({
          fieldSelector: `spec.nodeName=${this.nodeName}`,
        });
        const present = new Map(list.items.map((p) => [podKey(p), p.metadata?.uid]));
        for (const [key, uid] of this.tracked) {
          if (!present.has(key) || (uid && present.get(key) !== uid)) this.markGone(key);
        }
        await this.watch(list.metadata?.resourceVersion);
        return;
      } catch {
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }
}
