import type * as k8s from '@kubernetes/client-node';
import type { DrainLease } from './lease.js';
import { renewLease } from './lease-store.js';

export interface LeaseKeeperOptions {
  intervalMs: number;
  now?: () => number;
  /** Each renewal: the lease as it is now (others may have amended it) and the node as it is now. */
  onRenewed: (lease: DrainLease, node: k8s.V1Node) => void;
  /** The lease is no longer ours (taken over) or the node is gone. */
  onLost: (lease: DrainLease | undefined) => void;
  /** A renewal failed; the next one tries again. */
  onError?: (error: unknown) => void;
}

/**
 * Renews the holder's lease every few seconds while it drains, so that a holder that died (out of
 * memory, a crashed sandbox) is noticed within seconds and its drain taken over, and so that the
 * holder hears of what other notices amended: an earlier deadline, lifecycle hooks to complete.
 */
export class LeaseKeeper {
  #lease: DrainLease;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly core: k8s.CoreV1Api,
    private readonly nodeName: string,
    lease: DrainLease,
    private readonly options: LeaseKeeperOptions,
  ) {
    this.#lease = lease;
  }

  /** The lease as last written or read by the holder. */
  get lease(): DrainLease {
    return this.#lease;
  }

  start(): this {
    this.#schedule();
    return this;
  }

  /** Stops renewing; waits for a renewal in flight, so the caller's next write comes after it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#renew().finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
    }, this.options.intervalMs);
    // A CLI process must not stay alive for a renewal of a drain that has ended.
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    try {
      const result = await renewLease(this.core, this.nodeName, this.#lease, this.options.now);
      if (this.#stopped) return;
      if (result.status === 'lost') {
        this.#stopped = true;
        this.options.onLost(result.lease);
        return;
      }
      this.#lease = result.lease;
      this.options.onRenewed(result.lease, result.node);
    } catch (error) {
      if (!this.#stopped) this.options.onError?.(error);
    }
  }
}
