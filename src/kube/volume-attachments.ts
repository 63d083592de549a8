/**
 * Volumes before the instance: a terminate hook completed while a volume is still attached lets EC2
 * take the instance before the CSI driver detached it, and the pod that moved elsewhere waits for
 * the volume (a Multi-Attach error) until EC2 force-detaches it, minutes later. Karpenter's
 * terminator waits for the node's VolumeAttachments to go for the same reason.
 */
import { sleep } from '../retry.js';
import type { KubeApis } from './connection.js';

/** How often the node's VolumeAttachments are listed again while some remain. */
export const detachPollMs = 1_000;

/** What the wait saw last. */
export interface DetachResult {
  /** The node's VolumeAttachments still there when the wait ended (empty: all gone). */
  attached: string[];
  /** The list failed (no right to list them, the API down): the wait could not tell. */
  error?: unknown;
}

export interface DetachWaitOptions {
  now: () => number;
  signal?: AbortSignal;
  pollMs?: number;
}

/** The names of the node's VolumeAttachments (spec.nodeName has no field selector: filtered here). */
export async function attachmentsOf(apis: Pick<KubeApis, 'storage'>, nodeName: string): Promise<string[]> {
  const list = await apis.storage.listVolumeAttachment();
  return list.items
    .filter((attachment) => attachment.spec.nodeName === nodeName)
    .map((attachment) => attachment.metadata?.name ?? '(unnamed)')
    .sort();
}

/**
 * Waits until none of the node's VolumeAttachments remains, or `until` (epoch ms), whichever comes
 * first; lists at least once. A list that fails ends the wait at once: a cluster whose RBAC predates
 * this check must not hold every hook to its bound.
 */
export async function waitForDetached(
  apis: Pick<KubeApis, 'storage'>,
  nodeName: string,
  until: number,
  options: DetachWaitOptions,
): Promise<DetachResult> {
  const pollMs = options.pollMs ?? detachPollMs;
  for (;;) {
    let attached: string[];
    try {
      attached = await attachmentsOf(apis, nodeName);
    } catch (error) {
      return { attached: [], error };
    }
    const left = until - options.now();
    if (attached.length === 0 || left <= 0 || options.signal?.aborted) return { attached };
    await sleep(Math.min(pollMs, left), options.signal);
  }
}
