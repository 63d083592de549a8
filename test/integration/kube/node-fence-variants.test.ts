/**
 * The node fence as `eks-spot-drainer rbac` renders it for another configuration (src/cli/rbac.ts),
 * on a control plane of its own (the shared bed's fence is the default one, which every other test
 * file relies on): for NTH_TAINT_KEYS=true the door's marks under NTH's keys pass,
 * as the `drainer` identity, while NTH's own taints stay out of its reach; for TAINT_EFFECT=NoExecute
 * its NoExecute taints pass. Each variant lets through what its configuration writes and no more.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { packageRoot } from '../../../src/cli/package-root.js';
import { nodeFenceManifest, type RbacOptions, renderNodeFence } from '../../../src/cli/rbac.js';
import { applyInput } from '../../../src/interruption/door.js';
import type { Rules } from '../../../src/interruption/inputs.js';
import { recordOn } from '../../../src/interruption/record.js';
import { TaintKeys } from '../../../src/taint-keys.js';
import { waitFor } from '../../bed/kube.js';
import { type PrivateBed, startPrivateBed } from '../../bed/private-bed.js';
import {
  baseRules,
  type FencePatches,
  fencePatches,
  foreignTaint,
  notice,
  taintKeys,
  withoutTaint,
  withTaint,
} from './fence-patches.js';

const shared = inject('testbed');
const spotItn = 'aws-node-termination-handler/spot-itn';
const hour = 3_600_000;
/** A node's taints, without those the node controller keeps in step with the node (unschedulable). */
const taintsOf = (node: k8s.V1Node) =>
  (node.spec?.taints ?? []).filter((t) => !t.key.startsWith('node.kubernetes.io/'));
let bed: PrivateBed;
let fence: FencePatches;

beforeAll(async () => {
  bed = await startPrivateBed(shared);
  fence = fencePatches(bed.info.cluster);
}, 180_000);
afterAll(async () => {
  await bed?.stop();
});

/**
 * Replaces the bed's fence with the one rendered for `choice`, and waits until the API server
 * enforces it: `probe`, a dry-run patch as the drainer that only the new fence admits, is admitted.
 */
async function applyRenderedFence(choice: RbacOptions, probe: (node: k8s.V1Node) => void): Promise<void> {
  const shipped = readFileSync(join(packageRoot(), 'deploy', nodeFenceManifest), 'utf8');
  const objects = k8s.loadAllYaml(renderNodeFence(shipped, choice)) as k8s.KubernetesObject[];
  const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
  const client = k8s.KubernetesObjectApi.makeApiClient(fence.admin.kc);
  const current = await client.read({
    apiVersion: policy.apiVersion,
    kind: policy.kind,
    metadata: { name: policy.metadata?.name ?? '' },
  });
  await client.replace({
    ...policy,
    metadata: { ...policy.metadata, resourceVersion: current.metadata?.resourceVersion },
  });
  const name = await fence.notReadyNode();
  await waitFor(
    'the rendered fence enforced',
    async () => (await fence.patchAsDrainer(name, probe, true)) === 'allowed',
  );
  await fence.admin.core.deleteNode({ name });
}

/** Marks the node as the door does for a notice of `kind` (cordon only), then releases it an hour later. */
async function markAndRelease(
  name: string,
  rules: Rules,
  kind: 'spot-interruption' | 'rebalance-recommendation',
) {
  await applyInput(
    name,
    notice({ kind, action: 'cordon', eventId: `e-${kind}` }),
    fence.door('running', 0, rules),
  );
  const marked = await fence.admin.core.readNode({ name });
  const released = await applyInput(
    name,
    { type: 'look', holder: 'fence-test' },
    fence.door('running', hour, rules),
  );
  const after = await fence.admin.core.readNode({ name });
  return { marked, released: released !== 'node-gone' && released.transitions.at(-1)?.outcome, after };
}

describe('the node fence rendered for NTH_TAINT_KEYS=true', () => {
  const rules: Rules = {
    ...baseRules,
    taintKeys: TaintKeys.AwsNodeTerminationHandler,
    taintEffect: 'PreferNoSchedule',
  };

  beforeAll(async () => {
    await applyRenderedFence(
      { nthTaintKeys: true },
      withTaint({ key: spotItn, value: 'marked', effect: 'NoSchedule' }),
    );
  }, 60_000);

  it("lets the door mark a node with NTH's keys, PreferNoSchedule, and release it, as the drainer", async () => {
    // Prepare
    const name = await fence.readyNode();

    // Act
    const { marked, released, after } = await markAndRelease(name, rules, 'spot-interruption');

    // Assess: the node as the API server kept it, marked and then released.
    expect(marked.spec?.unschedulable).toBe(true);
    expect(recordOn(marked)?.state).toBe('cordoned');
    expect(taintsOf(marked)).toEqual(
      expect.arrayContaining([
        foreignTaint,
        expect.objectContaining({ key: spotItn, value: 'cordoned.lb-excluded', effect: 'PreferNoSchedule' }),
      ]),
    );
    expect(taintKeys(marked).filter((key) => key.startsWith('eks-spot-drainer/'))).toEqual([]);
    expect(released).toBe('released');
    expect(after.spec?.unschedulable).toBeFalsy();
    expect(taintsOf(after)).toEqual([foreignTaint]);
    expect(recordOn(after)).toBeUndefined();
  });

  it("keeps NTH's own taint through a mark and a release, and refuses the drainer any change to it", async () => {
    // Prepare: NTH, still running during the move, tainted the node first (its value: the event id).
    const nths: k8s.V1Taint = { key: spotItn, value: 'spot-itn-0a1b2c3d', effect: 'NoSchedule' };
    const name = await fence.readyNode([nths]);

    // Act
    const { marked, released, after } = await markAndRelease(name, rules, 'spot-interruption');
    const before = await fence.guarded(name);
    const refused = {
      remove: await fence.patchAsDrainer(name, withoutTaint(spotItn)),
      claim: await fence.patchAsDrainer(name, (n) => {
        n.spec!.taints = n.spec!.taints!.map((t) => (t.key === spotItn ? { ...t, value: 'marked' } : t));
      }),
      foreignValue: await fence.patchAsDrainer(
        name,
        withTaint({
          key: 'aws-node-termination-handler/scheduled-maintenance',
          value: 'e-1',
          effect: 'NoSchedule',
        }),
      ),
    };

    // Assess
    expect(marked.spec?.taints).toEqual(
      expect.arrayContaining([
        nths,
        expect.objectContaining({ key: spotItn, value: 'cordoned.lb-excluded', effect: 'PreferNoSchedule' }),
      ]),
    );
    expect(released).toBe('released');
    expect(taintsOf(after)).toEqual([foreignTaint, nths]);
    expect(after.spec?.unschedulable).toBeFalsy();
    expect(refused).toEqual({
      remove: expect.stringMatching(/only taints under eks-spot-drainer/),
      claim: expect.stringMatching(/only taints under eks-spot-drainer/),
      foreignValue: expect.stringMatching(/only taints under eks-spot-drainer/),
    });
    expect(await fence.guarded(name)).toEqual(before);
  });

  it("marks under this project's key where NTH's own taint holds NTH's key with the same effect", async () => {
    // Prepare
    const nths: k8s.V1Taint = { key: spotItn, value: 'spot-itn-4e5f6a7b', effect: 'NoSchedule' };
    const name = await fence.readyNode([nths]);

    // Act
    const { marked, released, after } = await markAndRelease(
      name,
      { ...rules, taintEffect: 'NoSchedule' },
      'spot-interruption',
    );

    // Assess: a taint of ours vouched for the cordon, so the release lifted it; NTH's stayed.
    expect(taintsOf(marked)).toEqual([
      foreignTaint,
      nths,
      expect.objectContaining({ key: 'eks-spot-drainer/spot-interruption', value: 'cordoned.lb-excluded' }),
    ]);
    expect(released).toBe('released');
    expect(after.spec?.unschedulable).toBeFalsy();
    expect(taintsOf(after)).toEqual([foreignTaint, nths]);
  });

  it('still refuses NoExecute, and keys NTH never wrote', async () => {
    // Prepare
    const name = await fence.readyNode();
    const before = await fence.guarded(name);

    // Act
    const refused = {
      noExecute: await fence.patchAsDrainer(
        name,
        withTaint({ key: spotItn, value: 'marked', effect: 'NoExecute' }),
      ),
      otherKey: await fence.patchAsDrainer(
        name,
        withTaint({
          key: 'aws-node-termination-handler/state-change',
          value: 'marked',
          effect: 'NoSchedule',
        }),
      ),
    };

    // Assess
    expect(refused).toEqual({
      noExecute: expect.stringMatching(/may not be NoExecute/),
      otherKey: expect.stringMatching(/only taints under eks-spot-drainer/),
    });
    expect(await fence.guarded(name)).toEqual(before);
  });
});

describe('the node fence rendered for TAINT_EFFECT=NoExecute', () => {
  const rules: Rules = { ...baseRules, taintEffect: 'NoExecute' };

  beforeAll(async () => {
    await applyRenderedFence(
      { taintEffect: 'NoExecute' },
      withTaint({ key: 'eks-spot-drainer/probe', value: 'marked', effect: 'NoExecute' }),
    );
  }, 60_000);

  it('lets the door taint NoExecute with the cordon, and release it, as the drainer', async () => {
    // Prepare
    const name = await fence.readyNode();

    // Act
    const { marked, released, after } = await markAndRelease(name, rules, 'rebalance-recommendation');

    // Assess
    expect(marked.spec?.unschedulable).toBe(true);
    expect(marked.spec?.taints).toContainEqual(
      expect.objectContaining({ key: 'eks-spot-drainer/rebalance-recommendation', effect: 'NoExecute' }),
    );
    expect(released).toBe('released');
    expect(taintsOf(after)).toEqual([foreignTaint]);
  });

  it("still refuses NTH's keys, and NoExecute under any other key", async () => {
    // Prepare
    const name = await fence.readyNode();
    const before = await fence.guarded(name);

    // Act
    const refused = {
      nthKey: await fence.patchAsDrainer(
        name,
        withTaint({ key: spotItn, value: 'marked', effect: 'NoSchedule' }),
      ),
      otherKey: await fence.patchAsDrainer(name, withTaint({ key: 'evict-everything', effect: 'NoExecute' })),
    };

    // Assess
    expect(refused).toEqual({
      nthKey: expect.stringMatching(/only taints under eks-spot-drainer/),
      otherKey: expect.stringMatching(/only taints under eks-spot-drainer/),
    });
    expect(await fence.guarded(name)).toEqual(before);
  });
});
