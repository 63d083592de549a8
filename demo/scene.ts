/**
 * The demo's cluster: three Spot nodes, each backed by an EC2 instance in moto tagged for cluster
 * `testbed` (as EKS tags them), and on the first node a small but realistic mix of pods.
 */
import type * as k8s from '@kubernetes/client-node';
import type { AdminClients } from '../test/bed/kube.js';
import {
  createNamespace,
  createSpotNode,
  type SpotNode,
  uniqueSuffix,
  waitFor,
  waitForReadyPods,
} from '../test/bed/kube.js';
import { createInstance } from '../test/bed/moto.js';
import type { TestBedInfo } from '../test/bed/testbed.js';
import {
  createBarePod,
  createDaemonSet,
  createDeployment,
  createPdb,
  createStatefulSet,
  pdbStatus,
} from '../test/bed/workloads.js';

export interface Scene {
  namespace: string;
  /** The label value `pool` of the scene's nodes, which the scene's pods select. */
  pool: string;
  nodes: SpotNode[];
  /** The node whose instance gets the interruption warning. */
  doomed: SpotNode;
}

/** What runs on the doomed node, and what a drain should make of it. */
export const workloadDescription = [
  'Deployment web (3 replicas) with a PodDisruptionBudget maxUnavailable 1: evicted one at a time',
  'StatefulSet db (2 replicas): evicted, recreated under the same names elsewhere',
  'DaemonSet log-agent: skipped, as kubectl drain --ignore-daemonsets does',
  'Deployment cache with an emptyDir volume: evicted, its scratch data is lost',
  'bare pod debug (no controller): evicted, nothing recreates it',
  'Deployment coredns in kube-system, system-cluster-critical: evicted last',
];

async function spotNode(bed: TestBedInfo, core: k8s.CoreV1Api, pool: string): Promise<SpotNode> {
  const instance = await createInstance(bed.awsEndpoint, {
    clusterTagStyle: 'aws:eks:cluster-name',
    clusterName: bed.clusterName,
  });
  return createSpotNode(core, {
    instanceId: instance.instanceId,
    name: instance.privateDnsName,
    availabilityZone: instance.availabilityZone,
    extraLabels: { pool },
  });
}

/**
 * Builds the scene. The first node comes alone so that every pod lands on it; the other two come
 * once the pods are Ready, as room for the replacements.
 */
export async function buildScene(
  bed: TestBedInfo,
  admin: AdminClients,
  say: (line: string) => void,
): Promise<Scene> {
  const namespace = await createNamespace(admin.core, 'demo');
  const pool = `demo-${uniqueSuffix()}`;
  const doomed = await spotNode(bed, admin.core, pool);
  say(
    `  node ${doomed.name}  instance ${doomed.instanceId}  ${doomed.availabilityZone}  (the one to be interrupted)`,
  );

  const graceful = { pool, gracePeriodSeconds: 10, exitAfter: '2s' };
  await createDeployment(admin, namespace, 'web', 3, graceful);
  await createPdb(admin, namespace, 'web', { app: 'web' }, { maxUnavailable: 1 });
  await createStatefulSet(admin, namespace, 'db', 2, { ...graceful, exitAfter: '3s' });
  await createDaemonSet(admin, namespace, 'log-agent', { pool, exitAfter: '1s' });
  await createDeployment(admin, namespace, 'cache', 1, { pool, emptyDir: true, exitAfter: '1s' });
  await createBarePod(admin, namespace, 'debug', doomed.name, { pool, exitAfter: '1s' });
  await createDeployment(admin, 'kube-system', 'coredns', 2, {
    pool,
    priorityClassName: 'system-cluster-critical',
    exitAfter: '1s',
    gracePeriodSeconds: 5,
  });
  for (const line of workloadDescription) say(`  - ${line}`);

  await waitForReadyPods(admin.core, namespace, undefined, 8, 120_000);
  await waitForReadyPods(admin.core, 'kube-system', 'app=coredns', 2, 120_000);
  // The budget allows nothing until the disruption controller has counted its pods.
  await waitFor('PodDisruptionBudget web to count its pods', async () => {
    const status = await pdbStatus(admin, namespace, 'web');
    return status?.currentHealthy === 3 && status.disruptionsAllowed === 1;
  });
  const spares = [await spotNode(bed, admin.core, pool), await spotNode(bed, admin.core, pool)];
  for (const node of spares) {
    say(
      `  node ${node.name}  instance ${node.instanceId}  ${node.availabilityZone}  (room for replacements)`,
    );
  }
  return { namespace, pool, nodes: [doomed, ...spares], doomed };
}

/** The demo's pods (and coredns) by node, for a before/after picture. */
export async function podsByNode(admin: AdminClients, scene: Scene): Promise<Map<string, string[]>> {
  const [own, dns] = await Promise.all([
    admin.core.listNamespacedPod({ namespace: scene.namespace }),
    admin.core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'app=coredns' }),
  ]);
  const byNode = new Map<string, string[]>(scene.nodes.map((n) => [n.name, []]));
  for (const pod of [...own.items, ...dns.items]) {
    const node = pod.spec?.nodeName;
    if (!node || pod.metadata?.deletionTimestamp || !byNode.has(node)) continue;
    byNode.get(node)!.push(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }
  for (const pods of byNode.values()) pods.sort();
  return byNode;
}
