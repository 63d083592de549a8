import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { type MetricSample, sumOf } from '../test/bed/apiserver-metrics.js';
import { type ClusterInfo, kubeConfigFor, waitFor } from '../test/bed/kube.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The name of deploy/flowcontrol.yaml's FlowSchema and PriorityLevelConfiguration. */
export const laneName = 'eks-spot-drainer';

/** The flow schema the API server puts the drainer identity's requests in now (response header). */
export async function drainerFlowSchema(cluster: ClusterInfo): Promise<string> {
  const drainer = kubeConfigFor(cluster, 'drainer').makeApiClient(k8s.CoreV1Api);
  const admin = kubeConfigFor(cluster, 'admin').makeApiClient(k8s.FlowcontrolApiserverV1Api);
  const uid = (await drainer.listNodeWithHttpInfo({ limit: 1 })).headers['x-kubernetes-pf-flowschema-uid'];
  const schemas = await admin.listFlowSchema();
  return schemas.items.find((s) => s.metadata?.uid === uid)?.metadata?.name ?? `unknown (${uid})`;
}

/** Deletes deploy/flowcontrol.yaml's objects; returns once the drainer's requests are in global-default. */
export async function removeLane(cluster: ClusterInfo): Promise<void> {
  const admin = kubeConfigFor(cluster, 'admin').makeApiClient(k8s.FlowcontrolApiserverV1Api);
  await admin.deleteFlowSchema({ name: laneName });
  await admin.deletePriorityLevelConfiguration({ name: laneName });
  await waitFor(
    'the drainer back in global-default',
    async () => (await drainerFlowSchema(cluster)) === 'global-default',
  );
}

/** Creates what is missing of deploy/flowcontrol.yaml; returns once the drainer's requests are in the lane. */
export async function restoreLane(cluster: ClusterInfo): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kubeConfigFor(cluster, 'admin'));
  const manifest = await readFile(join(projectRoot, 'deploy/flowcontrol.yaml'), 'utf8');
  for (const object of k8s.loadAllYaml(manifest) as k8s.KubernetesObject[]) {
    await client.create(object).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 409) throw error;
    });
  }
  await waitFor('the drainer in its lane', async () => (await drainerFlowSchema(cluster)) === laneName);
}

/** What API Priority and Fairness did between two readings of the API server's metrics. */
export interface FlowControlDelta {
  /** Requests rejected with 429, by "flow schema / priority level (reason)". */
  rejected: Record<string, number>;
  /** Requests dispatched (executed) at the priority level. */
  dispatched: number;
  /** Mean time dispatched requests of the priority level waited in its queues, in ms. */
  meanWaitMs: number;
}

/** The change of the flow-control counters from `before` to `after`, for one priority level. */
export function flowControlDelta(
  before: readonly MetricSample[],
  after: readonly MetricSample[],
  priorityLevel: string,
): FlowControlDelta {
  const increase = (name: string, labels: Record<string, string>) =>
    sumOf(after, name, labels) - sumOf(before, name, labels);
  const rejected: Record<string, number> = {};
  for (const sample of after.filter((s) => s.name === 'apiserver_flowcontrol_rejected_requests_total')) {
    const { flow_schema: schema = '', priority_level: level = '', reason = '' } = sample.labels;
    const n = increase(sample.name, { flow_schema: schema, priority_level: level, reason });
    if (n > 0) rejected[`${schema} / ${level} (${reason})`] = n;
  }
  const level = { priority_level: priorityLevel };
  const waitSeconds = increase('apiserver_flowcontrol_request_wait_duration_seconds_sum', {
    ...level,
    execute: 'true',
  });
  const waited = increase('apiserver_flowcontrol_request_wait_duration_seconds_count', {
    ...level,
    execute: 'true',
  });
  return {
    rejected,
    dispatched: increase('apiserver_flowcontrol_dispatched_requests_total', level),
    meanWaitMs: waited > 0 ? (waitSeconds / waited) * 1000 : 0,
  };
}
