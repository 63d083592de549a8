import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  adminClients,
  createNamespace,
  createSpotNode,
  kubeConfigFor,
  statusOf,
  uniqueSuffix,
  waitFor,
  waitForReadyPods,
} from '../bed/kube.js';
import { createDeployment, createPdb, pdbStatus } from '../bed/workloads.js';

const bed = inject('testbed');

describe('test bed', () => {
  const admin = adminClients(bed.cluster);
  const drainer = kubeConfigFor(bed.cluster, 'drainer').makeApiClient(k8s.CoreV1Api);
  let namespace: string;
  let pool: string;

  beforeAll(async () => {
    namespace = await createNamespace(admin.core, 'testbed');
    pool = `bed-${uniqueSuffix()}`;
  });

  it('runs a Deployment with a PDB whose pods KWOK makes Ready on an EKS-like Spot node', async () => {
    const node = await createSpotNode(admin.core, { extraLabels: { pool } });
    await createDeployment(admin, namespace, 'web', 2, { pool, gracePeriodSeconds: 2 });
    await createPdb(admin, namespace, 'web', { app: 'web' }, { minAvailable: 2 });

    const pods = await waitForReadyPods(admin.core, namespace, 'app=web', 2);
    const nodeObject = await admin.core.readNode({ name: node.name });

    expect(pods.every((p) => p.spec?.nodeName === node.name)).toBe(true);
    expect(nodeObject.spec?.providerID).toBe(`aws:///us-east-1a/${node.instanceId}`);
    expect(nodeObject.metadata?.labels?.['eks.amazonaws.com/capacityType']).toBe('SPOT');
    await waitFor('PDB counted by the disruption controller', async () => {
      const status = await pdbStatus(admin, namespace, 'web');
      return status?.currentHealthy === 2 && status.disruptionsAllowed === 0;
    });
  });

  it('refuses an eviction with 429 while the PDB allows nothing, and allows it once a replacement is Ready elsewhere', async () => {
    const [victim] = await waitForReadyPods(admin.core, namespace, 'app=web', 2);
    const evict = () =>
      drainer.createNamespacedPodEviction({
        name: victim!.metadata!.name!,
        namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: victim!.metadata!.name!, namespace },
        },
      });

    const refused = await evict().catch((error: unknown) => error);
    expect(statusOf(refused)).toBe(429);
    expect(String((refused as { body?: string }).body)).toContain('disruption budget');

    // A third replica on a second node gives the budget room for one disruption.
    await createSpotNode(admin.core, { extraLabels: { pool } });
    await admin.apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace, body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await waitFor('the budget to allow one disruption', async () => {
      const status = await pdbStatus(admin, namespace, 'web');
      return (status?.disruptionsAllowed ?? 0) >= 1;
    });
    await evict();
    await waitFor('the evicted pod to disappear', async () => {
      const pods = await admin.core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
      return !pods.items.some((p) => p.metadata?.uid === victim!.metadata?.uid);
    });
  });

  it('refuses the drainer what its ClusterRole does not grant', async () => {
    const secrets = await drainer.listNamespacedSecret({ namespace }).catch((error: unknown) => error);
    const deletion = await drainer
      .deleteNamespacedPod({ name: 'anything', namespace })
      .catch((error: unknown) => error);
    const nodes = await drainer.listNode({ limit: 1 });

    expect(statusOf(secrets)).toBe(403);
    expect(statusOf(deletion)).toBe(403);
    expect(nodes.items.length).toBeGreaterThan(0);
  });
});
