/**
 * Capacity back at once: the `running` state change of an instance this project marked releases its
 * node as soon as the kubelet is Ready again, with no reconcile run. Played on the real control
 * plane through the Lambda app as `drainer`, EC2 from moto (stopped, hibernated, started: a start
 * moves the launch time), kubelets that stop and come back (KWOK).
 */
import { randomUUID } from 'node:crypto';
import { EKSClient } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EventReport } from '../../../src/app/handle-event.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { reconcileAll } from '../../../src/app/reconcile-all.js';
import { ClusterEndpointCache } from '../../../src/aws/eks-cluster.js';
import { EksTokenProvider } from '../../../src/aws/eks-token.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { EksClusterAccess } from '../../../src/kube/cluster-access.js';
import { instances, setBootId, startKubelet, stopKubelet } from '../../bed/instance-life.js';
import { adminClients, uniqueSuffix, waitFor } from '../../bed/kube.js';
import { type KubeFaultProxy, startKubeFaultProxy } from '../../bed/kube-fault-proxy.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const outOfService = 'node.kubernetes.io/out-of-service';
let app: LambdaApp;

beforeAll(() => {
  const env = lambdaEnv(bed);
  Object.assign(process.env, env);
  app = createLambdaApp(env);
});
afterAll(() => {
  process.env = saved;
});

/** A node of its own pool with its EC2 instance and a boot id. */
async function markedLater(name: string) {
  const pool = `running-${name}-${uniqueSuffix()}`;
  const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
  const bootId = `boot-${uniqueSuffix()}`;
  await setBootId(admin.core, node.name, bootId);
  return { pool, instanceId: instance.instanceId, node: node.name, bootId };
}

function send(event: Record<string, unknown>, lambda = app): Promise<EventReport> {
  return lambda.handle(event, lambdaContext(`running-${randomUUID()}`));
}

async function nodeNow(name: string) {
  const node = await admin.core.readNode({ name });
  return {
    unschedulable: node.spec?.unschedulable === true,
    taints: (node.spec?.taints ?? [])
      .map((t) => t.key)
      // The node controller's own taints come and go with the kubelet.
      .filter((k) => !/^node\.kubernetes\.io\/(un|not-ready)/.test(k))
      .sort(),
    record: node.metadata?.annotations?.['eks-spot-drainer/drain'],
    // Not the resourceVersion: the kubelet's heartbeats move it.
    labels: node.metadata?.labels,
  };
}

/** EC2 and the API server keep whole seconds: a start is a later second than what came before it. */
async function startInstance(instanceId: string) {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await instances.start(bed.awsEndpoint, instanceId);
}

describe('an instance this project marked runs again', () => {
  it('is released out of service by its running event once the kubelet is back, with no reconcile', async () => {
    // Prepare: a Spot stop warning drains the node; the kubelet stops, EC2 stops the instance, and
    // the node is taken out of service (the reconcile sees EC2 say stopped).
    const w = await markedLater('stopped');
    await send(sampleEvent('spot-interruption', { instanceId: w.instanceId, instanceAction: 'stop' }));
    await stopKubelet(admin.core, w.node);
    await instances.stop(bed.awsEndpoint, w.instanceId);
    await reconcileAll(
      app.deps,
      { id: `prepare-${randomUUID()}`, deadline: Date.now() + 60_000 },
      { selector: `pool=${w.pool}` },
    );
    const before = await nodeNow(w.node);

    // Act: EC2 starts it and says so before the kubelet is Ready; the kubelet follows 3 s later,
    // with a new boot id.
    await startInstance(w.instanceId);
    const started = Date.now();
    const handled = send(sampleEvent('state-change-running', { instanceId: w.instanceId }));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await startKubelet(admin.core, w.node, `boot-${uniqueSuffix()}`);
    const report = await handled;
    const tookMs = Date.now() - started;

    // Assess
    expect(before).toMatchObject({ unschedulable: true });
    expect(before.taints).toContain(outOfService);
    expect(report).toMatchObject({ status: 'handled', running: { status: 'moved-on', outcome: 'released' } });
    expect(await nodeNow(w.node)).toMatchObject({ unschedulable: false, taints: [], record: undefined });
    expect(tookMs).toBeLessThan(60_000);
  });

  it('is released when it resumes from hibernation with the boot id it had', async () => {
    // Prepare: a Spot hibernate warning drains the node; the kubelet stops and the instance hibernates.
    const w = await markedLater('hibernated');
    await send(sampleEvent('spot-interruption', { instanceId: w.instanceId, instanceAction: 'hibernate' }));
    await stopKubelet(admin.core, w.node);
    await instances.hibernate(bed.motoControlEndpoint, w.instanceId);

    // Act: EC2 resumes it; the kubelet is Ready again with its old boot id; then the event.
    await startInstance(w.instanceId);
    await startKubelet(admin.core, w.node, w.bootId);
    const report = await send(sampleEvent('state-change-running', { instanceId: w.instanceId }));

    // Assess
    expect(report).toMatchObject({ status: 'handled', running: { status: 'moved-on', outcome: 'released' } });
    expect(await nodeNow(w.node)).toMatchObject({ unschedulable: false, taints: [], record: undefined });
  });

  it('stays cordoned while its Spot warning still holds it and no kubelet came back', async () => {
    // Prepare: a Spot warning drains the node; EC2 stops and starts the instance within the two
    // minutes, but the kubelet never comes back.
    const w = await markedLater('not-back');
    await send(sampleEvent('spot-interruption', { instanceId: w.instanceId }));
    await stopKubelet(admin.core, w.node);
    await instances.stop(bed.awsEndpoint, w.instanceId);
    await startInstance(w.instanceId);
    const shortWait = createLambdaApp(lambdaEnv(bed, { RUNNING_WAIT_SECONDS: '3' }));

    // Act
    const report = await send(sampleEvent('state-change-running', { instanceId: w.instanceId }), shortWait);

    // Assess: it waited its 3 s and left the node to the reconcile.
    expect(report).toMatchObject({ status: 'handled', running: { status: 'waiting' } });
    expect(await nodeNow(w.node)).toMatchObject({
      unschedulable: true,
      taints: ['eks-spot-drainer/spot-interruption'],
    });
  });
});

describe('an instance nobody marked runs again', () => {
  let proxy: KubeFaultProxy;
  beforeAll(async () => {
    proxy = await startKubeFaultProxy(bed.cluster);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('changes nothing and costs one request to its cluster', async () => {
    // Prepare: the app reaches the cluster through a proxy that counts requests.
    const w = await markedLater('unmarked');
    const counted = createLambdaApp(lambdaEnv(bed));
    counted.deps.access = new EksClusterAccess(
      new (class extends ClusterEndpointCache {
        override async get() {
          return { name: bed.clusterName, endpoint: proxy.server, certificateAuthorityData: proxy.caData };
        }
      })(new EKSClient({ region: bed.region })),
      new EksTokenProvider({ region: bed.region }),
    );
    // The node controller puts the beta labels on a new node a moment after it is Ready: wait for
    // them, so that a change after `before` is the function's doing.
    await waitFor('the node controller done with the node', async () => {
      const node = await admin.core.readNode({ name: w.node });
      return node.metadata?.labels?.['beta.kubernetes.io/arch'] !== undefined;
    });
    const before = await nodeNow(w.node);
    const from = proxy.records.length;

    // Act
    const report = await send(sampleEvent('state-change-running', { instanceId: w.instanceId }), counted);

    // Assess
    expect(report).toMatchObject({ status: 'handled', running: { status: 'not-marked', node: w.node } });
    expect(proxy.records.slice(from).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /api/v1/nodes/${w.node}`,
    ]);
    expect(await nodeNow(w.node)).toEqual(before);
  });
});
