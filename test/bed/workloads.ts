import type * as k8s from '@kubernetes/client-node';
import type { AdminClients } from './kube.js';

/** How a test's pods behave when deleted (see test/bed/kwok.yaml). */
export interface Termination {
  /** terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number;
  /** Gone this long after deletion starts, like a container handling SIGTERM (default 1 s). */
  exitAfter?: string;
  /** Stay until the grace period ends, like a container that ignores SIGTERM. */
  ignoreSigterm?: boolean;
}

export interface PodShape extends Termination {
  /** Pods only land on nodes with this label `pool=<pool>`; tests keep to their own nodes. */
  pool: string;
  priorityClassName?: string;
  emptyDir?: boolean;
  labels?: Record<string, string>;
}

/** A pod template for KWOK nodes: one container, the test's node pool, the wanted termination. */
export function podTemplate(app: string, shape: PodShape): k8s.V1PodTemplateSpec {
  const annotations: Record<string, string> = {};
  if (shape.exitAfter) annotations['pod-delete.stage.kwok.x-k8s.io/delay'] = shape.exitAfter;
  if (shape.ignoreSigterm) annotations['eks-spot-drainer.test/ignore-sigterm'] = 'true';
  return {
    metadata: { labels: { app, ...shape.labels }, annotations },
    spec: {
      nodeSelector: { pool: shape.pool },
      terminationGracePeriodSeconds: shape.gracePeriodSeconds ?? 30,
      priorityClassName: shape.priorityClassName,
      containers: [{ name: 'app', image: 'public.ecr.aws/docker/library/nginx:1.27' }],
      volumes: shape.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : undefined,
    },
  };
}

export async function createDeployment(
  admin: AdminClients,
  namespace: string,
  name: string,
  replicas: number,
  shape: PodShape,
): Promise<void> {
  await admin.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: podTemplate(name, shape),
        // Replacements come up as fast as KWOK makes them Ready; no surge limit slows a test.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      },
    },
  });
}

export async function createStatefulSet(
  admin: AdminClients,
  namespace: string,
  name: string,
  replicas: number,
  shape: PodShape,
): Promise<void> {
  await admin.apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name },
      spec: {
        replicas,
        serviceName: name,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: name } },
        template: podTemplate(name, shape),
      },
    },
  });
}

export async function createDaemonSet(admin: AdminClients, namespace: string, name: string, shape: PodShape) {
  await admin.apps.createNamespacedDaemonSet({
    namespace,
    body: {
      metadata: { name },
      spec: { selector: { matchLabels: { app: name } }, template: podTemplate(name, shape) },
    },
  });
}

/** A pod with no controller, pinned to a node by name (as kubectl run or a static manifest would). */
export async function createBarePod(
  admin: AdminClients,
  namespace: string,
  name: string,
  nodeName: string,
  shape: PodShape,
): Promise<void> {
  const template = podTemplate(name, shape);
  await admin.core.createNamespacedPod({
    namespace,
    body: { metadata: { ...template.metadata, name }, spec: { ...template.spec!, nodeName } },
  });
}

export async function createPdb(
  admin: AdminClients,
  namespace: string,
  name: string,
  matchLabels: Record<string, string>,
  budget: { minAvailable?: number | string; maxUnavailable?: number | string },
): Promise<void> {
  await admin.policy.createNamespacedPodDisruptionBudget({
    namespace,
    body: { metadata: { name }, spec: { selector: { matchLabels }, ...budget } },
  });
}

/** Waits until the disruption controller has counted the budget's pods. */
export async function pdbStatus(admin: AdminClients, namespace: string, name: string) {
  const pdb = await admin.policy.readNamespacedPodDisruptionBudget({ name, namespace });
  return pdb.status;
}
