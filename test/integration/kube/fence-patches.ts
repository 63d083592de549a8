/**
 * What the node-fence tests share, for any control plane: nodes that carry someone else's marks,
 * patches as the drainer that resolve to 'allowed' or the policy's refusal, and the door as the
 * drainer with the rules a test gives it.
 */
import * as k8s from '@kubernetes/client-node';
import type { DoorContext } from '../../../src/interruption/door.js';
import type { Input, NoticeInput, Rules } from '../../../src/interruption/inputs.js';
import {
  adminClients,
  type ClusterInfo,
  createSpotNode,
  kubeConfigFor,
  statusOf,
  uniqueSuffix,
  waitFor,
} from '../../bed/kube.js';
import { nodeFencePolicy } from '../../bed/node-fence.js';

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
export const foreignTaint: k8s.V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
export const baseRules: Rules = {
  taintNode: true,
  excludeFromLoadBalancers: true,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 60_000,
  scheduledDrainLeadMs: 30 * 60_000,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 600_000,
  staleAfterMs: 30_000,
};

export const notice = (
  fields: Partial<NoticeInput> & Pick<NoticeInput, 'kind' | 'action' | 'eventId'>,
): Input => ({
  type: 'notice',
  holder: 'fence-test',
  notice: { eventTime: Date.now(), deadline: Date.now() + 60_000, message: 'fence test', ...fields },
});

/** Taint keys of a node, without those the node controller keeps in step with the node (unschedulable). */
export const taintKeys = (node: k8s.V1Node) =>
  (node.spec?.taints ?? []).map((t) => t.key).filter((key) => !key.startsWith('node.kubernetes.io/'));

export const withTaint = (taint: k8s.V1Taint) => (node: k8s.V1Node) => {
  node.spec = { ...node.spec, taints: [...(node.spec?.taints ?? []), taint] };
};
export const withoutTaint = (key: string) => (node: k8s.V1Node) => {
  node.spec = { ...node.spec, taints: (node.spec?.taints ?? []).filter((t) => t.key !== key) };
};

/** A merge patch of a string map: changed and added keys, removed ones as null. */
function diff(before: Record<string, string> = {}, after: Record<string, string> = {}) {
  const patch: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(after)) if (before[key] !== value) patch[key] = value;
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

function refusal(message: string): string {
  return /denied request: ([^"]*)/.exec(message)?.[1] ?? message;
}

export type FencePatches = ReturnType<typeof fencePatches>;

/** The helpers, bound to one control plane's admin and drainer identities. */
export function fencePatches(cluster: ClusterInfo) {
  const admin = adminClients(cluster);
  const drainer = kubeConfigFor(cluster, 'drainer').makeApiClient(k8s.CoreV1Api);

  /** The door as the drainer, with EC2 saying `ec2` of every instance, at `offsetMs` from now. */
  const door = (ec2 = 'running', offsetMs = 0, rules: Rules = baseRules): DoorContext => ({
    core: drainer,
    rules,
    now: () => Date.now() + offsetMs,
    describe: async () => ({ state: ec2 }),
  });

  /** The node controller adds its own taints and labels to a new node: wait until it is done. */
  async function settled(name: string): Promise<void> {
    let last = '';
    let stableSince = Date.now();
    await waitFor(`node ${name} settled`, async () => {
      const rv = (await admin.core.readNode({ name })).metadata?.resourceVersion ?? '';
      if (rv !== last) {
        last = rv;
        stableSince = Date.now();
      }
      return Date.now() - stableSince > 1_500;
    });
  }

  /** A Ready KWOK node with a label, an annotation and taints (`foreignTaint`, `taints`) of someone else's. */
  async function readyNode(taints: k8s.V1Taint[] = []): Promise<string> {
    const node = await createSpotNode(admin.core, {
      extraLabels: { pool: `fence-${uniqueSuffix()}`, team: 'payments' },
    });
    await admin.core.patchNode(
      {
        name: node.name,
        body: {
          metadata: { annotations: { 'owner.example.com/ticket': 'OPS-1' } },
          spec: { taints: [foreignTaint, ...taints] },
        },
      },
      mergePatch,
    );
    await settled(node.name);
    return node.name;
  }

  /** A node no kubelet (nor KWOK) runs: never Ready, no providerID yet. */
  async function notReadyNode(): Promise<string> {
    const name = `fence-dead-${uniqueSuffix()}`;
    await admin.core.createNode({
      body: { metadata: { name, labels: { pool: `fence-${uniqueSuffix()}` } } },
    });
    await settled(name);
    return name;
  }

  /**
   * Patches the node as the drainer: `change` edits a copy of the node as it is now, and a merge patch
   * of the parts it touched (labels, annotations, spec, finalizers) goes out, guarded by the
   * resourceVersion. Resolves to 'allowed', or to the refusing policy's message. `dryRun` asks the
   * API server to admit it without keeping it.
   */
  async function patchAsDrainer(
    name: string,
    change: (node: k8s.V1Node) => void,
    dryRun = false,
  ): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const node = await admin.core.readNode({ name });
      const edited = structuredClone(node);
      change(edited);
      const body = {
        metadata: {
          resourceVersion: node.metadata?.resourceVersion,
          labels: diff(node.metadata?.labels, edited.metadata?.labels),
          annotations: diff(node.metadata?.annotations, edited.metadata?.annotations),
          ...(edited.metadata?.finalizers ? { finalizers: edited.metadata.finalizers } : {}),
        },
        spec: edited.spec,
      };
      try {
        await drainer.patchNode({ name, body, ...(dryRun ? { dryRun: 'All' } : {}) }, mergePatch);
        return 'allowed';
      } catch (error) {
        if (statusOf(error) === 409 && attempt < 5) continue;
        const message = String((error as { body?: unknown }).body ?? error);
        if (statusOf(error) === 403 && message.includes(nodeFencePolicy)) return refusal(message);
        throw error;
      }
    }
  }

  /** What the fence guards, to compare a node before and after a refused patch. */
  async function guarded(name: string) {
    const node = await admin.core.readNode({ name });
    return {
      labels: node.metadata?.labels,
      annotations: node.metadata?.annotations,
      finalizers: node.metadata?.finalizers,
      spec: node.spec,
    };
  }

  return { admin, drainer, door, settled, readyNode, notReadyNode, patchAsDrainer, guarded };
}
