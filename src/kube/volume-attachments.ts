/**
 * Volumes before the instance: a terminate hook completed while a volume is still attached lets EC2
 * take the instance before the CSI driver detached it, and the pod that moved elsewhere waits for
 * the volume (a Multi-Attach error) until EC2 force-detaches it, minutes later. Karpenter's
 * terminator waits for the node's VolumeAttachments to go for the same reason.
 */
import type * as k8s from '@kubernetes/client-node';
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
  /**
   * PersistentVolumes not waited for: those of the pods that stay on the node (volumesStaying).
   * Asked once, and only if the node has a VolumeAttachment at all: most drained nodes have none.
   */
  staying?: () => Promise<ReadonlySet<string>>;
}

/**
 * The names of the node's VolumeAttachments (spec.nodeName has no field selector: filtered here),
 * but those of the `staying` PersistentVolumes.
 */
export async function attachmentsOf(
  apis: Pick<KubeApis, 'storage'>,
  nodeName: string,
  staying: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  return namesOf(await onNode(apis, nodeName), staying);
}

async function onNode(apis: Pick<KubeApis, 'storage'>, nodeName: string): Promise<k8s.V1VolumeAttachment[]> {
  const list = await apis.storage.listVolumeAttachment();
  return list.items.filter((attachment) => attachment.spec.nodeName === nodeName);
}

function namesOf(attachments: k8s.V1VolumeAttachment[], staying: ReadonlySet<string> = new Set()): string[] {
  return attachments
    .filter((attachment) => !staying.has(attachment.spec.source.persistentVolumeName ?? ''))
    .map((attachment) => attachment.metadata?.name ?? '(unnamed)')
    .sort();
}

/**
 * The PersistentVolumes of the pods that stay on the node once its drain ended (DaemonSet and
 * mirror pods, pods a budget kept, pods that asked not to be disrupted): running, not terminating,
 * they keep their volumes attached until the instance goes, so waiting for those would only hold the
 * hook to its bound. Karpenter's terminator leaves them out of its wait the same way. A claim that
 * cannot be read (no right to, gone) is waited for, as before.
 */
export async function volumesStaying(apis: Pick<KubeApis, 'core'>, nodeName: string): Promise<Set<string>> {
  const pods = await apis.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  const claims = pods.items
    .filter(stays)
    .flatMap((pod) =>
      claimsOf(pod).map((name) => ({ namespace: pod.metadata?.namespace ?? 'default', name })),
    );
  const volumes = await Promise.all(
    claims.map((claim) =>
      apis.core.readNamespacedPersistentVolumeClaim(claim).then(
        (pvc) => pvc.spec?.volumeName,
        () => undefined,
      ),
    ),
  );
  return new Set(volumes.filter((v): v is string => v !== undefined && v !== ''));
}

function stays(pod: k8s.V1Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** The claims a pod mounts: its own, and those of its generic ephemeral volumes (`<pod>-<volume>`). */
function claimsOf(pod: k8s.V1Pod): string[] {
  return (pod.spec?.volumes ?? []).flatMap((volume) => {
    if (volume.persistentVolumeClaim) return [volume.persistentVolumeClaim.claimName];
    if (volume.ephemeral) return [`${pod.metadata?.name}-${volume.name}`];
    return [];
  });
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
  let staying: ReadonlySet<string> | undefined;
  for (;;) {
    let attached: string[];
    try {
      const found = await onNode(apis, nodeName);
      if (found.length > 0 && staying === undefined && options.staying) staying = await options.staying();
      attached = namesOf(found, staying);
    } catch (error) {
      return { attached: [], error };
    }
    const left = until - options.now();
    if (attached.length === 0 || left <= 0 || options.signal?.aborted) return { attached };
    await sleep(Math.min(pollMs, left), options.signal);
  }
}
