/**
 * FORCE_AT_DEADLINE on a control plane of its own (deploy/rbac-force-delete.yaml grants the drainer
 * group pods/delete there, which the shared bed's least-privilege test must never see): at the
 * deadline only the pods a PodDisruptionBudget still holds are deleted, each with a UID precondition
 * and a grace of at least one second, and each gets a Warning Event naming the budget and the notice;
 * a pod that failed for another reason is left alone.
 */

import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { drainNode } from '../../../src/app/drain-node.js';
import { defaultDrainOptions } from '../../../src/drain/options.js';
import { createKubeApis, type KubeApis } from '../../../src/kube/connection.js';
import { eventSource } from '../../../src/kube/event-writer.js';
import { PodEventReason } from '../../../src/kube/pod-events.js';
import { Action, NoticeKind } from '../../../src/types.js';
import {
  type AdminClients,
  adminClients,
  createNamespace,
  createSpotNode,
  kubeConfigFor,
  uniqueSuffix,
  waitFor,
  waitForReadyPods,
} from '../../bed/kube.js';
import { type PrivateBed, startPrivateBed } from '../../bed/private-bed.js';
import { applyManifest } from '../../bed/testbed.js';
import { createDeployment, createPdb } from '../../bed/workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = inject('testbed');
let bed: PrivateBed;
let admin: AdminClients;
let drainer: KubeApis;
let namespace: string;

beforeAll(async () => {
  bed = await startPrivateBed(shared);
  admin = adminClients(bed.info.cluster);
  await applyManifest(bed.info.cluster, join(root, 'deploy/rbac-force-delete.yaml'));
  drainer = createKubeApis(kubeConfigFor(bed.info.cluster, 'drainer'));
  namespace = await createNamespace(admin.core, 'force');
});
afterAll(async () => {
  drainer?.close();
  await bed?.stop();
});

describe('FORCE_AT_DEADLINE', () => {
  it('deletes only the pods a budget still blocks, by UID, with at least one second of grace', async () => {
    // Prepare: "held" behind a budget that allows nothing; "twice" covered by two budgets (refused
    // with 500, a failure no deadline changes); both ignore SIGTERM for their 60 s grace.
    const pool = `force-${uniqueSuffix()}`;
    const node = await createSpotNode(admin.core, { extraLabels: { pool } });
    const shape = { pool, gracePeriodSeconds: 60, ignoreSigterm: true };
    await createDeployment(admin, namespace, 'held', 1, shape);
    await createDeployment(admin, namespace, 'twice', 1, { ...shape, labels: { tier: 'twice' } });
    await waitForReadyPods(admin.core, namespace, undefined, 2);
    await createPdb(admin, namespace, 'held', { app: 'held' }, { minAvailable: 1 });
    await createPdb(admin, namespace, 'twice-a', { app: 'twice' }, { maxUnavailable: 1 });
    await createPdb(admin, namespace, 'twice-b', { tier: 'twice' }, { maxUnavailable: 1 });
    await waitFor('budgets counted', async () => {
      const list = await admin.policy.listNamespacedPodDisruptionBudget({ namespace });
      return list.items.length === 3 && list.items.every((p) => p.status?.currentHealthy === 1);
    });

    const [heldPod] = await waitForReadyPods(admin.core, namespace, 'app=held', 1);
    // Every change of the pod, from a watch: a poll could miss a one-second grace on a busy machine.
    const graces: number[] = [];
    const watch = await new k8s.Watch(admin.kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { fieldSelector: `metadata.name=${heldPod!.metadata!.name!}` },
      (_type: string, pod: k8s.V1Pod) => {
        const grace = pod.metadata?.deletionGracePeriodSeconds;
        // 0 is the kubelet's (KWOK's) own delete once the containers are gone, not a grace asked for.
        if (grace !== undefined && grace > 0 && graces.at(-1) !== grace) graces.push(grace);
      },
      () => {},
    );

    // Act
    const eventId = randomUUID();
    const result = await drainNode(
      {
        nodeName: node.name,
        kind: NoticeKind.SpotInterruption,
        eventId,
        action: Action.Drain,
        deadline: Date.now() + 8_000,
        holder: `force-${uniqueSuffix()}`,
        noticeMessage: 'test',
      },
      { apis: drainer, options: { ...defaultDrainOptions, safetyMarginMs: 2_000, forceAtDeadline: true } },
    );

    await waitFor('the held pod gone', async () => {
      const list = await admin.core.listNamespacedPod({ namespace, labelSelector: 'app=held' });
      return !list.items.some((p) => p.metadata?.uid === heldPod!.metadata!.uid);
    });
    watch.abort();

    // Assess
    const byApp = Object.fromEntries(result.pods.map((p) => [p.name.split('-')[0], p]));
    expect(byApp.held).toMatchObject({ outcome: 'force-deleted', pdb: 'held' });
    expect(byApp.twice).toMatchObject({ outcome: 'failed' });
    // The held pod went with a real grace (at least 1 s, at most what was left), not a force kill.
    expect(graces).toHaveLength(1);
    expect(graces[0]).toBeGreaterThanOrEqual(1);
    expect(graces[0]).toBeLessThanOrEqual(2);
    const left = await admin.core.listNamespacedPod({
      namespace,
      fieldSelector: `spec.nodeName=${node.name}`,
    });
    const twice = left.items.find((p) => p.metadata?.name?.startsWith('twice-'));
    expect(twice?.metadata?.deletionTimestamp).toBeUndefined();
    // The held pod's Event says who deleted it past its budget, and for which notice; "twice" has none.
    const events = await admin.core.listNamespacedEvent({ namespace });
    const ours = events.items.filter((e) => e.reportingComponent === eventSource);
    expect(ours).toEqual([
      expect.objectContaining({
        involvedObject: expect.objectContaining({ kind: 'Pod', uid: heldPod!.metadata!.uid }),
        reason: PodEventReason.DrainForceDelete,
        type: 'Warning',
        message: expect.stringMatching(
          new RegExp(
            `^Deleted at the deadline though PodDisruptionBudget held .* spot-interruption ${eventId}`,
          ),
        ),
      }),
    ]);
  });
});
