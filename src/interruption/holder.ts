import type * as k8s from '@kubernetes/client-node';
import { type Applied, applyInput, type DoorContext } from './door.js';
import type { InterruptionRecord } from './record.js';

export interface HolderOptions {
  intervalMs: number;
  /** Each renewal: the record as it is now (others may have amended it) and the node as it is now. */
  onRenewed: (record: InterruptionRecord, node: k8s.V1Node) => void;
  /** The record is no longer ours (taken over, ended by someone else) or the node is gone. */
  onLost: () => void;
  /** A renewal failed; the next one tries again. */
  onError?: (error: unknown) => void;
}

/**
 * A drain's holder, renewing the record through the door every few seconds while it drains, so that
 * a holder that died (out of memory, a crashed sandbox) is noticed within seconds and its drain
 * taken over, and so that it hears what other notices amended: an earlier deadline, hooks to keep
 * alive.
 */
export class Holder {
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly nodeName: string,
    private readonly holder: string,
    private readonly door: DoorContext,
    private readonly options: HolderOptions,
  ) {}

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
    let applied: Applied | 'node-gone';
    try {
      applied = await applyInput(this.nodeName, { type: 'renew', holder: this.holder }, this.door);
    } catch (error) {
      if (!this.#stopped) this.options.onError?.(error);
      return;
    }
    if (this.#stopped) return;
    const renewed = applied === 'node-gone' ? undefined : applied.transitions.at(-1);
    if (applied === 'node-gone' || renewed?.outcome !== 'renewed' || !renewed.record) {
      this.#stopped = true;
      this.options.onLost();
      return;
    }
    this.options.onRenewed(renewed.record, applied.node);
  }
}
