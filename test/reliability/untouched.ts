/**
 * What the forged-event tests share: a settled node with its instance, one event through a fresh
 * container with its output captured, and what a drain would have left on a node.
 */
import { randomUUID } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { EventReport } from '../../src/app/handle-event.js';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import type { SampleEvent } from '../../src/events/samples.js';
import { recordAnnotation } from '../../src/interruption/record.js';
import { taintPrefix } from '../../src/interruption/world.js';
import { type AdminClients, waitFor } from '../bed/kube.js';
import { lambdaContext, spotNodeWithInstance } from '../bed/lambda.js';
import type { TestBedInfo } from '../bed/testbed.js';
import { captureOutput } from './capture-output.js';

/** A node with its instance, once the node controller is done with it: any later change is ours. */
export async function settledNode(
  bed: Pick<TestBedInfo, 'awsEndpoint' | 'clusterName'>,
  admin: AdminClients,
  pool: string,
  options: { onDemand?: boolean } = {},
) {
  const made = await spotNodeWithInstance(bed, admin, pool, options);
  await waitFor(`node ${made.node.name} settled`, async () => {
    const node = await admin.core.readNode({ name: made.node.name });
    return (
      !node.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready') &&
      node.metadata?.labels?.['beta.kubernetes.io/arch'] !== undefined
    );
  });
  const node = await admin.core.readNode({ name: made.node.name });
  return { ...made, resourceVersion: node.metadata?.resourceVersion };
}

/** Runs one event through a fresh container, its output kept from the terminal. */
export async function invoke(
  env: Record<string, string>,
  event: SampleEvent,
  requestId = `forged-${randomUUID()}`,
) {
  const app = createLambdaApp(env);
  const output = captureOutput({ passThrough: false });
  let report: EventReport;
  try {
    report = await app.handle(event, lambdaContext(requestId));
  } finally {
    output.stop();
  }
  return { report, logs: output.jsonLines, requestId };
}

/** What a drain would have left on the node: each is undefined or false on an untouched node. */
export function marks(node: k8s.V1Node) {
  return {
    unschedulable: node.spec?.unschedulable ?? false,
    ourTaints: (node.spec?.taints ?? []).filter((t) => t.key.startsWith(taintPrefix)).map((t) => t.key),
    lease: node.metadata?.annotations?.[recordAnnotation],
  };
}

/** Kubernetes Events reported by one invocation. */
export async function eventsBy(core: k8s.CoreV1Api, requestId: string): Promise<number> {
  const events = await core.listNamespacedEvent({ namespace: 'default' });
  return events.items.filter((e) => e.reportingInstance === requestId).length;
}

export const untouched = { unschedulable: false, ourTaints: [], lease: undefined };
