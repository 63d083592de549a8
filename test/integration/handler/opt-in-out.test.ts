/**
 * Which nodes a deployment acts on, through the Lambda app (moto, an EKS token, the `drainer`
 * identity): with MANAGED_TAG only instances carrying the tag (NTH's opt-in), and never a node
 * labelled eks-spot-drainer/exclude=true (the opt-out). What is left alone is left exactly as it was.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { optOutLabel } from '../../../src/app/resolve-target.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { adminClients, uniqueSuffix } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const managedTag = 'aws-node-termination-handler/managed';
const env = lambdaEnv(bed, { MANAGED_TAG: managedTag });
let app: LambdaApp;

beforeAll(() => {
  Object.assign(process.env, env);
  app = createLambdaApp(env);
});
afterAll(() => {
  process.env = saved;
});

/** What a drain would change on a node (the kubelet and node controller change the rest meanwhile). */
function ours(node: k8s.V1Node) {
  return {
    unschedulable: node.spec?.unschedulable ?? false,
    taints: (node.spec?.taints ?? []).filter((t) => t.key.startsWith('eks-spot-drainer/')),
    labels: Object.keys(node.metadata?.labels ?? {}).filter((k) => k.startsWith('eks-spot-drainer/')),
    record: recordOn(node),
  };
}

async function spotWarning(instanceId: string) {
  const report = await app.handle(
    sampleEvent('spot-interruption', { instanceId }),
    lambdaContext(`spot-${randomUUID()}`),
  );
  return report.notices[0]!;
}

describe('the nodes a deployment acts on', () => {
  it('leaves an instance without MANAGED_TAG alone, and drains one with it', async () => {
    // Prepare
    const pool = `opt-in-${uniqueSuffix()}`;
    const untagged = await spotNodeWithInstance(bed, admin, pool);
    const tagged = await spotNodeWithInstance(bed, admin, pool, { extraTags: { [managedTag]: '' } });
    const before = await admin.core.readNode({ name: untagged.node.name });

    // Act
    const left = await spotWarning(untagged.instance.instanceId);
    const drained = await spotWarning(tagged.instance.instanceId);

    // Assess
    expect(left).toMatchObject({ status: 'skipped', reason: 'not-managed' });
    expect(left.status === 'skipped' && left.detail).toMatch(
      /lacks the tag aws-node-termination-handler\/managed/,
    );
    expect(ours(await admin.core.readNode({ name: untagged.node.name }))).toEqual(ours(before));
    expect(drained).toMatchObject({ status: 'done', result: { outcome: 'drained' } });
    expect(recordOn(await admin.core.readNode({ name: tagged.node.name }))?.state).toBe('drained');
  });

  it('leaves a node labelled eks-spot-drainer/exclude=true alone, whatever the notice', async () => {
    // Prepare
    const pool = `opt-out-${uniqueSuffix()}`;
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool, {
      extraTags: { [managedTag]: '' },
    });
    await admin.core.patchNode(
      { name: node.name, body: { metadata: { labels: { [optOutLabel]: 'true' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const before = await admin.core.readNode({ name: node.name });

    // Act
    const left = await spotWarning(instance.instanceId);

    // Assess
    expect(left).toMatchObject({ status: 'skipped', reason: 'opted-out' });
    const after = await admin.core.readNode({ name: node.name });
    expect(ours(after)).toEqual(ours(before));
    expect(after.spec?.unschedulable).toBeFalsy();
  });
});
