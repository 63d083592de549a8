import * as k8s from '@kubernetes/client-node';
import { adminClients, type ClusterInfo, kubeConfigFor, statusOf, uniqueSuffix } from './kube.js';

/** The ValidatingAdmissionPolicy of deploy/node-fence.yaml, as the API server names it in a denial. */
export const nodeFencePolicy = 'eks-spot-drainer-node-fence';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/**
 * Waits until the API server enforces deploy/node-fence.yaml: a policy takes effect a moment after
 * it is created. Probes with a dry-run patch, as the drainer, of a label the fence forbids, on a
 * throwaway node; returns once it is refused by the policy, so every test after runs through it.
 */
export async function waitForNodeFence(cluster: ClusterInfo, timeoutMs = 30_000): Promise<void> {
  const admin = adminClients(cluster);
  const drainer = kubeConfigFor(cluster, 'drainer').makeApiClient(k8s.CoreV1Api);
  const name = `fence-probe-${uniqueSuffix()}`;
  await admin.core.createNode({ body: { metadata: { name, labels: { type: 'fence-probe' } } } });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await drainer.patchNode(
          { name, body: { metadata: { labels: { 'fence-probe': 'steer' } } }, dryRun: 'All' },
          mergePatch,
        );
      } catch (error) {
        if (statusOf(error) === 403 && String((error as Error).message).includes(nodeFencePolicy)) return;
        throw error;
      }
      if (Date.now() > deadline) {
        throw new Error(`deploy/node-fence.yaml: the policy did not take effect within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.core.deleteNode({ name });
  }
}
