import { createNamespace, createSpotNode, type SpotNode, uniqueSuffix, waitFor } from '../test/bed/kube.js';
import type { BenchContext } from './types.js';
import { benchPodShape, instanceWithNode, removeWorld, slotTemplate } from './world.js';

/** N nodes full of pods, each node with an EC2 instance in moto, and spare nodes for the replacements. */
export interface BurstWorld {
  namespace: string;
  nodes: SpotNode[];
  spares: SpotNode[];
  pods: number;
  setupMs: number;
}

/** How many pods a spare node takes (createSpotNode's capacity is 250). */
const podsPerSpare = 200;

/**
 * One Deployment per node, pinned to it by a label of its own; then spares that carry every node's
 * label, so the replacements of evicted pods are scheduled and go Ready during the burst, as on a
 * cluster whose other nodes have room.
 */
export async function prepareBurstWorld(
  context: BenchContext,
  nodeCount: number,
  podsPerNode: number,
): Promise<BurstWorld> {
  const { admin } = context;
  const started = performance.now();
  const namespace = await createNamespace(admin.core, 'bench-burst');
  const nodes: SpotNode[] = [];
  const spares: SpotNode[] = [];
  try {
    const pool = `bench-burst-${uniqueSuffix()}`;
    // Ten at a time: moto is one Python process.
    for (let i = 0; i < nodeCount; i += 10) {
      const batch = Array.from({ length: Math.min(10, nodeCount - i) }, (_, j) => i + j);
      nodes.push(
        ...(await Promise.all(
          batch.map((n) => instanceWithNode(admin, context.bed.info, { pool, [slotLabel(n)]: 'y' })),
        )),
      );
    }
    await Promise.all(
      nodes.map((_, i) =>
        admin.apps.createNamespacedDeployment({
          namespace,
          body: {
            metadata: { name: `slot-${i}` },
            spec: {
              replicas: podsPerNode,
              selector: { matchLabels: { app: `slot-${i}` } },
              template: slotTemplate(`slot-${i}`, slotLabel(i), { pool: 'unused', ...benchPodShape }),
              strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
            },
          },
        }),
      ),
    );
    const pods = nodeCount * podsPerNode;
    // Deployment status, not a pod list: thousands of pods listed every second would load the bed.
    await waitFor(
      `${pods} burst pods ready`,
      async () => {
        const list = await admin.apps.listNamespacedDeployment({ namespace });
        return list.items.reduce((sum, d) => sum + (d.status?.readyReplicas ?? 0), 0) >= pods;
      },
      900_000,
      1_000,
    );
    const spareLabels = Object.fromEntries(nodes.map((_, i) => [slotLabel(i), 'y']));
    spares.push(
      ...(await Promise.all(
        Array.from({ length: Math.ceil(pods / podsPerSpare) }, () =>
          createSpotNode(admin.core, { extraLabels: spareLabels }),
        ),
      )),
    );
    return { namespace, nodes, spares, pods, setupMs: performance.now() - started };
  } catch (error) {
    await removeBurstWorld(context, { namespace, nodes, spares });
    throw error;
  }
}

/** Pods still bound to the burst's nodes, terminating or not. */
export async function podsLeftOn(context: BenchContext, world: BurstWorld): Promise<number> {
  const names = new Set(world.nodes.map((n) => n.name));
  const list = await context.admin.core.listNamespacedPod({ namespace: world.namespace });
  return list.items.filter((p) => names.has(p.spec?.nodeName ?? '')).length;
}

export async function removeBurstWorld(
  context: BenchContext,
  world: Pick<BurstWorld, 'namespace' | 'nodes' | 'spares'>,
): Promise<void> {
  await removeWorld(
    context.admin,
    world.namespace,
    [...world.nodes, ...world.spares].map((n) => n.name),
  );
}

function slotLabel(i: number): string {
  return `bench-slot-${i}`;
}
