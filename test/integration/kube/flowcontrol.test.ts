import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { createKubeApis, type KubeApis } from '../../../src/kube/connection.js';
import { readApiServerMetrics, sumOf } from '../../bed/apiserver-metrics.js';
import {
  adminClients,
  createNamespace,
  kubeConfigFor,
  uniqueSuffix,
  waitForReadyPods,
} from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { createDeployment } from '../../bed/workloads.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const flowcontrol = admin.kc.makeApiClient(k8s.FlowcontrolApiserverV1Api);
// Quiet: what is asserted is the API server's view, not the function's logs and metrics.
const env = lambdaEnv(bed, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
const saved = { ...process.env };
const lane = 'eks-spot-drainer';
const opened: KubeApis[] = [];

/** The flow schema and priority level UIDs the API server put a request in (response headers). */
async function classification(apis: KubeApis, nodeName: string) {
  const response = await apis.core.readNodeWithHttpInfo({ name: nodeName });
  return {
    flowSchema: response.headers['x-kubernetes-pf-flowschema-uid'],
    priorityLevel: response.headers['x-kubernetes-pf-prioritylevel-uid'],
  };
}

beforeAll(() => {
  // The SDK's default credential chain reads the environment, as in Lambda.
  Object.assign(process.env, env);
});
afterAll(() => {
  process.env = saved;
  for (const apis of opened) apis.close();
});

describe('deploy/flowcontrol.yaml', () => {
  it('is accepted as shipped: its flow schema points at its own priority level', async () => {
    // Act
    const shipped = k8s.loadAllYaml(
      await readFile(join(projectRoot, 'deploy/flowcontrol.yaml'), 'utf8'),
    ) as k8s.KubernetesObject[];
    const schema = await flowcontrol.readFlowSchema({ name: lane });
    const level = await flowcontrol.readPriorityLevelConfiguration({ name: lane });

    // Assess
    expect(shipped.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      `PriorityLevelConfiguration/${lane}`,
      `FlowSchema/${lane}`,
    ]);
    expect(schema.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Dangling', status: 'False' }),
    );
    expect(level.spec?.limited?.limitResponse?.type).toBe('Queue');
  });

  it("classifies the drainer's requests into its own flow schema and priority level", async () => {
    // Prepare: both identities of the group, the bed's drainer token and the function's own EKS token.
    const schema = await flowcontrol.readFlowSchema({ name: lane });
    const level = await flowcontrol.readPriorityLevelConfiguration({ name: lane });
    const { node } = await spotNodeWithInstance(bed, admin, `lane-${uniqueSuffix()}`);
    const drainerToken = createKubeApis(kubeConfigFor(bed.cluster, 'drainer'));
    const lambdaToken = await createLambdaApp(env).deps.access.connect(bed.clusterName, {
      deadline: Date.now() + 30_000,
    });
    opened.push(drainerToken, lambdaToken);

    // Act
    const seen = {
      'drainer token': await classification(drainerToken, node.name),
      'Lambda EKS token': await classification(lambdaToken, node.name),
    };

    // Assess
    const expected = { flowSchema: schema.metadata?.uid, priorityLevel: level.metadata?.uid };
    expect(expected.flowSchema).toBeTruthy();
    expect(seen).toEqual({ 'drainer token': expected, 'Lambda EKS token': expected });
  });

  it("dispatches a drain's requests through the lane", async () => {
    // Prepare
    const namespace = await createNamespace(admin.core, 'lane');
    const pool = `lane-${uniqueSuffix()}`;
    const { instance } = await spotNodeWithInstance(bed, admin, pool);
    await createDeployment(admin, namespace, 'web', 4, { pool, gracePeriodSeconds: 2 });
    await waitForReadyPods(admin.core, namespace, 'app=web', 4);
    const dispatched = async () =>
      sumOf(await readApiServerMetrics(bed.cluster), 'apiserver_flowcontrol_dispatched_requests_total', {
        flow_schema: lane,
        priority_level: lane,
      });
    const before = await dispatched();

    // Act
    const report = await createLambdaApp(env).handle(
      sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
      lambdaContext(`lane-${uniqueSuffix()}`),
    );

    // Assess: at least the four evictions and the cordon went through the lane.
    const done = report.notices[0];
    expect(done?.status === 'done' && done.result.counts.evicted).toBe(4);
    expect((await dispatched()) - before).toBeGreaterThanOrEqual(4 + 1);
  });
});
