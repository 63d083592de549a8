/**
 * Volumes before the instance: a drained node's terminate hook is completed only once no
 * VolumeAttachment names the node, or at the bound (the drain's deadline, the invocation's end) with
 * a Warning Event naming those left. The test plays the CSI driver: the bed's attach-detach
 * controller attaches nothing to KWOK nodes, so the VolumeAttachments are created and deleted here,
 * as admin. Through the Lambda app, with the Auto Scaling stand-in recording the calls.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NoticeReport } from '../../../src/app/app-types.js';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { terminatingInGroup } from '../../bed/aws-witnesses.js';
import { adminClients, createNamespace, uniqueSuffix, waitFor, waitForReadyPods } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { podTemplate } from '../../bed/workloads.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const storage = admin.kc.makeApiClient(k8s.StorageV1Api);
const saved = { ...process.env };
const created: string[] = [];
const volumes: string[] = [];
let stub: AutoScalingStub;
let app: LambdaApp;
let delayed: LambdaApp;

beforeAll(async () => {
  // DescribeAutoScalingInstances (which confirms a hook's event) goes on to moto.
  stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  const env = lambdaEnv(bed, {
    AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
    LIFECYCLE_HEARTBEAT_SECONDS: '1',
  });
  Object.assign(process.env, env);
  app = createLambdaApp(env);
  delayed = createLambdaApp({ ...env, HOOK_COMPLETION_DELAY_SECONDS: '3' });
});
afterAll(async () => {
  process.env = saved;
  await stub?.stop();
  for (const name of created) await storage.deleteVolumeAttachment({ name }).catch(() => {});
  for (const name of volumes) await admin.core.deletePersistentVolume({ name }).catch(() => {});
});

/** A VolumeAttachment of `nodeName`, attached, as a CSI driver's external-attacher leaves it. */
async function attach(nodeName: string, persistentVolumeName?: string): Promise<string> {
  const name = `csi-${uniqueSuffix()}${uniqueSuffix()}`;
  await storage.createVolumeAttachment({
    body: {
      metadata: { name },
      spec: {
        attacher: 'ebs.csi.aws.com',
        nodeName,
        source: { persistentVolumeName: persistentVolumeName ?? `pv-${name}` },
      },
    },
  });
  created.push(name);
  return name;
}

/** The terminate hook's notice, handled until its drain ended: `handled` still waits on the volumes. */
async function hookedDrainEnded(on: LambdaApp, instanceId: string, nodeName: string) {
  const handled = on.handle(
    sampleEvent('asg-terminate', { instanceId }),
    lambdaContext(`asg-${randomUUID()}`),
  );
  await waitFor(
    'the drain ended',
    async () => recordOn(await admin.core.readNode({ name: nodeName }))?.state === 'drained',
  );
  return { handled };
}

async function exists(name: string): Promise<boolean> {
  return storage.readVolumeAttachment({ name }).then(
    () => true,
    () => false,
  );
}

function completionsOf(instanceId: string, from = 0) {
  return stub.calls
    .slice(from)
    .filter((c) => c.action === 'CompleteLifecycleAction' && c.params.InstanceId === instanceId);
}

async function warningsOn(nodeName: string): Promise<string[]> {
  const list = await admin.core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.name=${nodeName},reason=VolumesStillAttached`,
  });
  return list.items.map((e) => e.message ?? '');
}

function outcomeOf(notice: NoticeReport | undefined): string | undefined {
  return notice?.status === 'done' ? notice.result.outcome : notice?.status;
}

describe('a drained node whose volumes are still attached', () => {
  it('gets its terminate hook completed only once its VolumeAttachments are gone', async () => {
    // Prepare: two volumes on the node, one on another node (not the drained node's to wait for).
    const { instance, node } = await spotNodeWithInstance(bed, admin, `volumes-${uniqueSuffix()}`);
    await terminatingInGroup(bed, instance.instanceId);
    const { node: other } = await spotNodeWithInstance(bed, admin, `volumes-${uniqueSuffix()}`);
    const volumes = [await attach(node.name), await attach(node.name)];
    const elsewhere = await attach(other.name);

    // Act: the hook's drain (no pods) ends at once; the volumes go one after the other, later.
    const { handled } = await hookedDrainEnded(app, instance.instanceId, node.name);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const waitingWithTwo = completionsOf(instance.instanceId).length;
    await storage.deleteVolumeAttachment({ name: volumes[0]! });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const waitingWithOne = completionsOf(instance.instanceId).length;
    const lastGone = Date.now();
    await storage.deleteVolumeAttachment({ name: volumes[1]! });
    const report = await handled;

    // Assess: no CONTINUE while a volume of the node was attached; one after the last went
    expect(waitingWithTwo).toBe(0);
    expect(waitingWithOne).toBe(0);
    expect(outcomeOf(report.notices[0])).toBe('drained');
    expect(report.notices[0]).toMatchObject({ lifecycleAction: 'completed' });
    const completions = completionsOf(instance.instanceId);
    expect(completions).toHaveLength(1);
    expect(completions[0]!.at).toBeGreaterThanOrEqual(lastGone);
    expect(completions[0]!.params.LifecycleActionResult).toBe('CONTINUE');
    expect(await exists(elsewhere)).toBe(true);
    expect(recordOn(await admin.core.readNode({ name: node.name }))).toMatchObject({ hooks: [] });
    expect(await warningsOn(node.name)).toEqual([]);
  });

  it('gets it completed anyway at the bound, with a Warning Event naming the volumes left', async () => {
    // Prepare: an invocation with 12 s left (5 s kept back by the app, 2 s for the completion).
    const { instance, node } = await spotNodeWithInstance(bed, admin, `volumes-${uniqueSuffix()}`);
    await terminatingInGroup(bed, instance.instanceId);
    const volume = await attach(node.name);
    const started = Date.now();

    // Act
    const report = await app.handle(
      sampleEvent('asg-terminate', { instanceId: instance.instanceId }),
      lambdaContext(`asg-${randomUUID()}`, 12_000),
    );

    // Assess: completed at the bound, the volume still there, the node says so
    expect(report.notices[0]).toMatchObject({ lifecycleAction: 'completed' });
    const completions = completionsOf(instance.instanceId);
    expect(completions).toHaveLength(1);
    expect(completions[0]!.at - started).toBeGreaterThanOrEqual(4_000);
    expect(completions[0]!.at - started).toBeLessThan(7_000);
    expect(await exists(volume)).toBe(true);
    await waitFor('the Warning Event', async () => (await warningsOn(node.name)).length === 1);
    expect((await warningsOn(node.name))[0]).toContain(volume);
  });

  it('waits HOOK_COMPLETION_DELAY_SECONDS too, for volumes no VolumeAttachment tracks', async () => {
    // Prepare: no VolumeAttachment at all
    const { instance, node } = await spotNodeWithInstance(bed, admin, `volumes-${uniqueSuffix()}`);
    await terminatingInGroup(bed, instance.instanceId);

    // Act
    const { handled } = await hookedDrainEnded(delayed, instance.instanceId, node.name);
    const ended = Date.now();
    const report = await handled;

    // Assess
    expect(report.notices[0]).toMatchObject({ lifecycleAction: 'completed' });
    const completions = completionsOf(instance.instanceId);
    expect(completions).toHaveLength(1);
    expect(completions[0]!.at - ended).toBeGreaterThanOrEqual(2_500);
    expect(await warningsOn(node.name)).toEqual([]);
  });

  it('does not wait for the volumes of the pods that stay on the node (a DaemonSet pod and its claim)', async () => {
    // Prepare: a DaemonSet pod (never evicted) mounting a claim bound to an EBS volume, and another
    // volume of the node, whose pod went.
    const pool = `volumes-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await terminatingInGroup(bed, instance.instanceId);
    const namespace = await createNamespace(admin.core, 'volumes');
    const [pv, claim, agent] = [`pv-${uniqueSuffix()}`, 'agent-data', `agent-${uniqueSuffix()}`];
    await admin.core.createPersistentVolume({
      body: {
        metadata: { name: pv },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          persistentVolumeReclaimPolicy: 'Retain',
          csi: { driver: 'ebs.csi.aws.com', volumeHandle: `vol-${uniqueSuffix()}` },
          claimRef: { namespace, name: claim },
        },
      },
    });
    volumes.push(pv);
    await admin.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: claim },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          volumeName: pv,
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    const template = podTemplate(agent, { pool });
    template.spec!.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: claim } }];
    await admin.apps.createNamespacedDaemonSet({
      namespace,
      body: { metadata: { name: agent }, spec: { selector: { matchLabels: { app: agent } }, template } },
    });
    await waitForReadyPods(admin.core, namespace, `app=${agent}`, 1);
    const staying = await attach(node.name, pv);
    const going = await attach(node.name);

    // Act: the drain leaves the DaemonSet pod; the other volume detaches a little later.
    const { handled } = await hookedDrainEnded(app, instance.instanceId, node.name);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const waitingForTheOther = completionsOf(instance.instanceId).length;
    const gone = Date.now();
    await storage.deleteVolumeAttachment({ name: going });
    const report = await handled;

    // Assess: completed once the going volume went, the staying one still attached, no warning
    expect(waitingForTheOther).toBe(0);
    expect(report.notices[0]).toMatchObject({ lifecycleAction: 'completed' });
    const completions = completionsOf(instance.instanceId);
    expect(completions).toHaveLength(1);
    expect(completions[0]!.at).toBeGreaterThanOrEqual(gone);
    expect(await exists(staying)).toBe(true);
    const agentPods = await admin.core.listNamespacedPod({ namespace, labelSelector: `app=${agent}` });
    expect(agentPods.items.map((p) => p.spec?.nodeName)).toEqual([node.name]);
    expect(await warningsOn(node.name)).toEqual([]);
  });
});
