import * as k8s from '@kubernetes/client-node';
import {
  type AdminClients,
  createNamespace,
  createSpotNode,
  type SpotNode,
  uniqueSuffix,
  waitFor,
  waitForReadyPods,
} from '../test/bed/kube.js';
import { lambdaEnv as testBedLambdaEnv } from '../test/bed/lambda.js';
import { createInstance } from '../test/bed/moto.js';
import type { TestBedInfo } from '../test/bed/testbed.js';
import { createDeployment, createPdb, type PodShape, podTemplate } from '../test/bed/workloads.js';

/** Every pod of the bench shuts down like a container that handles SIGTERM in 2 s. */
export const exitAfterMs = 2_000;
export const benchPodShape = { gracePeriodSeconds: 30, exitAfter: `${exitAfterMs / 1000}s` } as const;

/** One node full of pods, ready to drain, plus a spare node of its pool for the replacements. */
export interface DrainWorld {
  namespace: string;
  pool: string;
  node: SpotNode;
  spares: SpotNode[];
  /** namespace/name of every pod on the node before the drain. */
  pods: string[];
}

export interface WorldSpec {
  prefix: string;
  pods: number;
  /** How many of the pods a PodDisruptionBudget (maxUnavailable 1) covers. */
  guarded?: number;
}

/**
 * A fresh namespace and pool: the node first, so every pod lands on it, then the spare node, so the
 * replacements of evicted pods go Ready elsewhere (the budget of guarded pods depends on it).
 */
export async function prepareWorld(admin: AdminClients, spec: WorldSpec): Promise<DrainWorld> {
  const namespace = await createNamespace(admin.core, spec.prefix);
  const pool = `${spec.prefix}-${uniqueSuffix()}`;
  const node = await createSpotNode(admin.core, { extraLabels: { pool } });
  const shape: PodShape = { pool, ...benchPodShape };
  const guarded = spec.guarded ?? 0;
  const free = spec.pods - guarded;
  // Ten replicas a Deployment: a node's pods come from many owners, as on a real node.
  for (let i = 0; i * 10 < free; i++) {
    await createDeployment(admin, namespace, `app-${i}`, Math.min(10, free - i * 10), shape);
  }
  if (guarded > 0) {
    await createDeployment(admin, namespace, 'guarded', guarded, shape);
    await createPdb(admin, namespace, 'guarded', { app: 'guarded' }, { maxUnavailable: 1 });
  }
  const ready = await waitForReadyPods(admin.core, namespace, undefined, spec.pods, 120_000);
  const strays = ready.filter((p) => p.spec?.nodeName !== node.name);
  if (strays.length > 0) throw new Error(`${strays.length} pods of ${namespace} are not on ${node.name}`);
  const spares = [await createSpotNode(admin.core, { extraLabels: { pool } })];
  if (guarded > 0) {
    await waitFor('the budget to allow one disruption', async () => {
      const pdb = await admin.policy.readNamespacedPodDisruptionBudget({ name: 'guarded', namespace });
      return pdb.status?.expectedPods === guarded && pdb.status?.disruptionsAllowed === 1;
    });
  }
  return {
    namespace,
    pool,
    node,
    spares,
    pods: ready.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`),
  };
}

/**
 * Removes a world at once, so the next run starts on an API server as small and as quiet as the
 * first: the namespace (no pod can be created in it any more), its pods without grace, the nodes.
 */
export async function removeWorld(admin: AdminClients, namespace: string, nodes: string[]): Promise<void> {
  await admin.core.deleteNamespace({ name: namespace });
  // Thousands of pods (a burst) may outlast one request's 60 s on a busy server: ask again until gone.
  const deletePods = () =>
    admin.core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  await deletePods();
  let asked = Date.now();
  await waitFor(
    `the pods of ${namespace} to go`,
    async () => {
      if ((await admin.core.listNamespacedPod({ namespace, limit: 1 })).items.length === 0) return true;
      if (Date.now() - asked > 10_000) {
        await deletePods();
        asked = Date.now();
      }
      return false;
    },
    600_000,
    250,
  );
  await Promise.all(nodes.map((name) => admin.core.deleteNode({ name }).catch(() => undefined)));
}

/** A pod template pinned by a label of its own: each of many nodes gets its own Deployment's pods. */
export function slotTemplate(app: string, slotLabel: string, shape: PodShape): k8s.V1PodTemplateSpec {
  const template = podTemplate(app, shape);
  template.spec!.nodeSelector = { [slotLabel]: 'y' };
  return template;
}

/** Who the API server says a kubeconfig's user is (audit records name users this way). */
export async function whoAmI(kc: k8s.KubeConfig): Promise<string> {
  const review = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const name = review.status?.userInfo?.username;
  if (!name) throw new Error('SelfSubjectReview returned no user');
  return name;
}

/** The environment the function gets in Lambda, pointed at moto (AWS) and the test bed (EKS). */
export function lambdaEnv(bed: TestBedInfo): Record<string, string> {
  return testBedLambdaEnv(bed, {
    POWERTOOLS_SERVICE_NAME: 'eks-spot-drainer',
    POWERTOOLS_METRICS_NAMESPACE: 'EksSpotDrainerBench',
  });
}

/** What Lambda passes as the context, with `remainingMs` left (default: the 660 s function timeout). */
export function lambdaContext(id: string, remainingMs = 660_000) {
  const end = Date.now() + remainingMs;
  return {
    awsRequestId: id,
    functionName: 'eks-spot-drainer-bench-interruption',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:eks-spot-drainer-bench-interruption',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => end - Date.now(),
  };
}

/** An EC2 instance in moto, tagged for the test bed's cluster, and its KWOK node (same id, name, zone). */
export async function instanceWithNode(
  admin: AdminClients,
  bed: TestBedInfo,
  labels: Record<string, string>,
): Promise<SpotNode> {
  const instance = await createInstance(bed.awsEndpoint, {
    clusterTagStyle: 'aws:eks:cluster-name',
    clusterName: bed.clusterName,
  });
  return createSpotNode(admin.core, {
    instanceId: instance.instanceId,
    name: instance.privateDnsName,
    availabilityZone: instance.availabilityZone,
    extraLabels: labels,
  });
}

/**
 * How long a new world is left alone before it is measured. The controller-manager is still writing
 * its Events about the new pods for a second or so; a drain started at once finds the API server busy
 * (its first list took 30-45 ms instead of 5), and whichever tool went first would pay for it.
 */
export const settleMs = 2_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
