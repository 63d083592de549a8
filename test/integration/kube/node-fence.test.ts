/**
 * deploy/node-fence.yaml on the real control plane (v1.33), as the `drainer` identity: the drainer's
 * own node patches pass (cordon, its taint, its record, its labels, and taking each away again, the
 * door's own patches included) and every patch outside the fence is refused by the
 * policy, leaving the node as it was. The test bed applies the fence for every test, so every drain
 * test also runs through it.
 */
import { request } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { applyInput, type DoorContext } from '../../../src/interruption/door.js';
import type { Input, NoticeInput } from '../../../src/interruption/inputs.js';
import { cordonVouchLabel, lbVouchLabel, writePatch } from '../../../src/interruption/marks.js';
import { recordAnnotation, recordOn } from '../../../src/interruption/record.js';
import { excludeFromLoadBalancersLabel } from '../../../src/interruption/world.js';
import {
  adminClients,
  createSpotNode,
  kubeConfigFor,
  statusOf,
  uniqueSuffix,
  waitFor,
} from '../../bed/kube.js';
import { nodeFencePolicy } from '../../bed/node-fence.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const drainer = kubeConfigFor(bed.cluster, 'drainer').makeApiClient(k8s.CoreV1Api);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const outOfService = 'node.kubernetes.io/out-of-service';
const foreignTaint: k8s.V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
const rules = {
  taintNode: true,
  excludeFromLoadBalancers: true,
  outOfServiceTaint: true,
  rebalanceCordonTtlMs: 60_000,
  scheduledDrainLeadMs: 30 * 60_000,
  scheduledCordonAtNotice: false,
  noDeadlineBudgetMs: 600_000,
  staleAfterMs: 30_000,
};
/** The door as the drainer, with EC2 saying `ec2` of every instance, at `offsetMs` from now. */
const door = (ec2 = 'running', offsetMs = 0): DoorContext => ({
  core: drainer,
  rules,
  now: () => Date.now() + offsetMs,
  describe: async () => ({ state: ec2 }),
});
const notice = (fields: Partial<NoticeInput> & Pick<NoticeInput, 'kind' | 'action' | 'eventId'>): Input => ({
  type: 'notice',
  holder: 'fence-test',
  notice: { eventTime: Date.now(), deadline: Date.now() + 60_000, message: 'fence test', ...fields },
});

/** Taint keys of a node, without those the node controller keeps in step with the node (unschedulable). */
const taintKeys = (node: k8s.V1Node) =>
  (node.spec?.taints ?? []).map((t) => t.key).filter((key) => !key.startsWith('node.kubernetes.io/'));

/** A Ready KWOK node with a label, an annotation and a taint that are someone else's. */
async function readyNode(): Promise<string> {
  const node = await createSpotNode(admin.core, {
    extraLabels: { pool: `fence-${uniqueSuffix()}`, team: 'payments' },
  });
  await admin.core.patchNode(
    {
      name: node.name,
      body: {
        metadata: { annotations: { 'owner.example.com/ticket': 'OPS-1' } },
        spec: { taints: [foreignTaint] },
      },
    },
    mergePatch,
  );
  await settled(node.name);
  return node.name;
}

/** A node no kubelet (nor KWOK) runs: never Ready, no providerID yet. */
async function notReadyNode(): Promise<string> {
  const name = `fence-dead-${uniqueSuffix()}`;
  await admin.core.createNode({ body: { metadata: { name, labels: { pool: `fence-${uniqueSuffix()}` } } } });
  await settled(name);
  return name;
}

/** The node controller adds its own taints and labels to a new node: wait until it is done. */
async function settled(name: string): Promise<void> {
  let last = '';
  let stableSince = Date.now();
  await waitFor(`node ${name} settled`, async () => {
    const rv = (await admin.core.readNode({ name })).metadata?.resourceVersion ?? '';
    if (rv !== last) {
      last = rv;
      stableSince = Date.now();
    }
    return Date.now() - stableSince > 1_500;
  });
}

/**
 * Patches the node as the drainer: `change` edits a copy of the node as it is now, and a merge patch
 * of the parts it touched (labels, annotations, spec, finalizers) goes out, guarded by the
 * resourceVersion. Resolves to 'allowed', or to the refusing policy's message.
 */
async function patchAsDrainer(name: string, change: (node: k8s.V1Node) => void): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const node = await admin.core.readNode({ name });
    const edited = structuredClone(node);
    change(edited);
    const body = {
      metadata: {
        resourceVersion: node.metadata?.resourceVersion,
        labels: diff(node.metadata?.labels, edited.metadata?.labels),
        annotations: diff(node.metadata?.annotations, edited.metadata?.annotations),
        ...(edited.metadata?.finalizers ? { finalizers: edited.metadata.finalizers } : {}),
      },
      spec: edited.spec,
    };
    try {
      await drainer.patchNode({ name, body }, mergePatch);
      return 'allowed';
    } catch (error) {
      if (statusOf(error) === 409 && attempt < 5) continue;
      const message = String((error as { body?: unknown }).body ?? error);
      if (statusOf(error) === 403 && message.includes(nodeFencePolicy)) return refusal(message);
      throw error;
    }
  }
}

/** A merge patch of a string map: changed and added keys, removed ones as null. */
function diff(before: Record<string, string> = {}, after: Record<string, string> = {}) {
  const patch: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(after)) if (before[key] !== value) patch[key] = value;
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

function refusal(message: string): string {
  return /denied request: ([^"]*)/.exec(message)?.[1] ?? message;
}

/** What the fence guards, to compare a node before and after a refused patch. */
async function guarded(name: string) {
  const node = await admin.core.readNode({ name });
  return {
    labels: node.metadata?.labels,
    annotations: node.metadata?.annotations,
    finalizers: node.metadata?.finalizers,
    spec: node.spec,
  };
}

const withTaint = (taint: k8s.V1Taint) => (node: k8s.V1Node) => {
  node.spec = { ...node.spec, taints: [...(node.spec?.taints ?? []), taint] };
};
const withoutTaint = (key: string) => (node: k8s.V1Node) => {
  node.spec = { ...node.spec, taints: (node.spec?.taints ?? []).filter((t) => t.key !== key) };
};

describe('the node fence (deploy/node-fence.yaml) for the drainer', () => {
  it("lets the drainer's own patches through, and taking each away again", async () => {
    // Prepare
    const name = await readyNode();
    const lease = JSON.stringify({ holder: 'fence-test', state: 'cordoned' });

    // Act
    const steps = {
      cordon: await patchAsDrainer(name, (n) => {
        n.spec = { ...n.spec, unschedulable: true };
        n.metadata!.labels = { ...n.metadata?.labels, [cordonVouchLabel]: 'true' };
      }),
      taint: await patchAsDrainer(
        name,
        withTaint({ key: 'eks-spot-drainer/spot-interruption', value: 'e-1', effect: 'NoSchedule' }),
      ),
      lease: await patchAsDrainer(name, (n) => {
        n.metadata!.annotations = { ...n.metadata?.annotations, [recordAnnotation]: lease };
      }),
      labels: await patchAsDrainer(name, (n) => {
        n.metadata!.labels = {
          ...n.metadata?.labels,
          'eks-spot-drainer/state': 'draining',
          [excludeFromLoadBalancersLabel]: 'true',
          [lbVouchLabel]: 'true',
        };
      }),
    };
    const marked = await admin.core.readNode({ name });
    const undo = {
      uncordon: await patchAsDrainer(name, (n) => {
        n.spec = { ...n.spec, unschedulable: false };
      }),
      untaint: await patchAsDrainer(name, withoutTaint('eks-spot-drainer/spot-interruption')),
      unlease: await patchAsDrainer(name, (n) => {
        delete n.metadata!.annotations![recordAnnotation];
      }),
      unlabel: await patchAsDrainer(name, (n) => {
        delete n.metadata!.labels!['eks-spot-drainer/state'];
        delete n.metadata!.labels![excludeFromLoadBalancersLabel];
        delete n.metadata!.labels![cordonVouchLabel];
        delete n.metadata!.labels![lbVouchLabel];
      }),
    };

    // Assess
    expect(steps).toEqual({ cordon: 'allowed', taint: 'allowed', lease: 'allowed', labels: 'allowed' });
    expect(undo).toEqual({ uncordon: 'allowed', untaint: 'allowed', unlease: 'allowed', unlabel: 'allowed' });
    expect(marked.spec?.unschedulable).toBe(true);
    expect(taintKeys(marked)).toEqual(['dedicated', 'eks-spot-drainer/spot-interruption']);
    expect(marked.metadata?.annotations?.[recordAnnotation]).toBe(lease);
    expect(marked.metadata?.labels).toMatchObject({
      'eks-spot-drainer/state': 'draining',
      [excludeFromLoadBalancersLabel]: 'true',
    });
    const after = await admin.core.readNode({ name });
    expect(after.spec?.unschedulable).toBeFalsy();
    expect(taintKeys(after)).toEqual(['dedicated']);
    expect(after.spec?.taints).toContainEqual(foreignTaint);
    expect(after.metadata?.annotations?.[recordAnnotation]).toBeUndefined();
    expect(after.metadata?.labels?.['eks-spot-drainer/state']).toBeUndefined();
    expect(after.metadata?.labels?.team).toBe('payments');
  });

  it("lets the door's own marking patch through, as the drainer", async () => {
    // Prepare
    const name = await readyNode();

    // Act
    const applied = await applyInput(
      name,
      notice({ kind: 'spot-interruption', action: 'drain', eventId: 'e-fence' }),
      door(),
    );

    // Assess
    expect(applied).not.toBe('node-gone');
    const node = await admin.core.readNode({ name });
    expect(recordOn(node)).toMatchObject({ holder: 'fence-test', state: 'draining' });
    expect(taintKeys(node)).toEqual(['dedicated', 'eks-spot-drainer/spot-interruption']);
  });

  it('lets the door taint PreferNoSchedule (TAINT_EFFECT) through, and release it', async () => {
    // Prepare
    const name = await readyNode();
    const preferring = { ...door(), rules: { ...rules, taintEffect: 'PreferNoSchedule' as const } };

    // Act
    await applyInput(
      name,
      notice({ kind: 'rebalance-recommendation', action: 'cordon', eventId: 'e-prefer' }),
      preferring,
    );
    const marked = await admin.core.readNode({ name });
    const released = await applyInput(
      name,
      { type: 'look', holder: 'fence-test' },
      {
        ...door('running', 120_000),
        rules: preferring.rules,
      },
    );

    // Assess
    expect(marked.spec?.taints).toContainEqual(
      expect.objectContaining({
        key: 'eks-spot-drainer/rebalance-recommendation',
        effect: 'PreferNoSchedule',
      }),
    );
    expect(released !== 'node-gone' && released.transitions.at(-1)?.outcome).toBe('released');
    expect(taintKeys(await admin.core.readNode({ name }))).toEqual(['dedicated']);
  });

  it("lets the record's renewal and the release of exactly this project's marks through", async () => {
    // Prepare: a rebalance cordon, whose reason closes after a minute.
    const name = await readyNode();
    await applyInput(
      name,
      notice({ kind: 'rebalance-recommendation', action: 'cordon', eventId: 'e-renew' }),
      door(),
    );

    // Act: two minutes later, a look at the world: nothing holds the node any more.
    const released = await applyInput(name, { type: 'look', holder: 'fence-test' }, door('running', 120_000));

    // Assess
    expect(released !== 'node-gone' && released.transitions.at(-1)?.outcome).toBe('released');
    const node = await admin.core.readNode({ name });
    expect(recordOn(node)).toBeUndefined();
    expect(taintKeys(node)).toEqual(['dedicated']);
    expect(node.spec?.unschedulable).toBeFalsy();
  });

  it('lets the door taint a NotReady node out of service, and refuses that on a Ready one', async () => {
    // Prepare: a record on each, as a state-change notice leaves it.
    const dead = await notReadyNode();
    const alive = await readyNode();
    const stateChange = notice({
      kind: 'state-change',
      action: 'drain',
      eventId: 'e-oos',
      detail: 'terminated',
    });
    await applyInput(alive, stateChange, door('running'));

    // Act: EC2 says terminated of the dead node's instance; the same patch forced on the Ready node.
    const onDead = await applyInput(dead, stateChange, door('terminated'), {
      instanceId: 'i-0123456789abcdef0',
    });
    const node = await admin.core.readNode({ name: alive });
    const forced = writePatch(node, recordOn(node)!, { mark: true, outOfService: true }, new Date());
    const onAlive = await drainer
      .patchNode({ name: alive, body: forced }, mergePatch)
      .catch((error: unknown) => error);

    // Assess
    const allKeys = async (name: string) =>
      ((await admin.core.readNode({ name })).spec?.taints ?? []).map((t) => t.key);
    expect(onDead !== 'node-gone' && onDead.transitions.at(-1)?.outcome).toBe('out-of-service');
    expect(await allKeys(dead)).toContain('node.kubernetes.io/out-of-service');
    expect(statusOf(onAlive)).toBe(403);
    expect(await allKeys(alive)).not.toContain('node.kubernetes.io/out-of-service');
  });

  it.each<[string, (node: k8s.V1Node) => void, RegExp]>([
    [
      'another label',
      (n) => {
        n.metadata!.labels = { ...n.metadata?.labels, 'node-role.example.com/pci': 'true' };
      },
      /only labels under eks-spot-drainer/,
    ],
    [
      "a change to someone else's label",
      (n) => {
        n.metadata!.labels = { ...n.metadata?.labels, team: 'everyone' };
      },
      /only labels under eks-spot-drainer/,
    ],
    [
      "the removal of someone else's label",
      (n) => {
        delete n.metadata!.labels!.team;
      },
      /only labels under eks-spot-drainer/,
    ],
    [
      'another annotation',
      (n) => {
        n.metadata!.annotations = {
          ...n.metadata?.annotations,
          'cluster-autoscaler.kubernetes.io/scale-down-disabled': 'true',
        };
      },
      /only annotations under eks-spot-drainer/,
    ],
    [
      'another taint',
      withTaint({ key: 'isolated', value: 'true', effect: 'NoSchedule' }),
      /only taints under eks-spot-drainer/,
    ],
    ["the removal of someone else's taint", withoutTaint('dedicated'), /only taints under eks-spot-drainer/],
    [
      'a NoExecute taint of another key',
      withTaint({ key: 'evict-everything', effect: 'NoExecute' }),
      /only taints under eks-spot-drainer/,
    ],
    [
      'a NoExecute taint of its own prefix',
      withTaint({ key: 'eks-spot-drainer/spot-interruption', effect: 'NoExecute' }),
      /may not be NoExecute/,
    ],
    [
      'the out-of-service taint on a Ready node',
      withTaint({ key: outOfService, value: 'nodeshutdown', effect: 'NoExecute' }),
      /out-of-service only while it is not Ready/,
    ],
    [
      'a finalizer',
      (n) => {
        n.metadata!.finalizers = ['example.com/keep'];
      },
      /finalizers or owner references/,
    ],
  ])('refuses %s, leaving the node as it was', async (_, change, message) => {
    // Prepare
    const name = await readyNode();
    const before = await guarded(name);

    // Act
    const outcome = await patchAsDrainer(name, change);

    // Assess
    expect(outcome).toMatch(message);
    expect(await guarded(name)).toEqual(before);
  });

  it('refuses a providerID the node did not have', async () => {
    // Prepare: set once from empty is what API validation allows, so only the fence can refuse it.
    const name = await notReadyNode();

    // Act
    const outcome = await patchAsDrainer(name, (n) => {
      n.spec = { ...n.spec, providerID: 'aws:///us-east-1a/i-0123456789abcdef0' };
    });

    // Assess
    expect(outcome).toMatch(/only spec.unschedulable and its taints/);
    expect((await admin.core.readNode({ name })).spec?.providerID).toBeUndefined();
  });

  it('lets the out-of-service taint on a node that is not Ready, and off again', async () => {
    // Prepare
    const name = await notReadyNode();

    // Act
    const add = await patchAsDrainer(name, (n) => {
      withTaint({ key: outOfService, value: 'nodeshutdown', effect: 'NoExecute' })(n);
      n.metadata!.labels = { ...n.metadata?.labels, 'eks-spot-drainer/state': 'out-of-service' };
    });
    const tainted = await admin.core.readNode({ name });
    const remove = await patchAsDrainer(name, withoutTaint(outOfService));

    // Assess
    expect([add, remove]).toEqual(['allowed', 'allowed']);
    expect(tainted.spec?.taints).toContainEqual(
      expect.objectContaining({ key: outOfService, effect: 'NoExecute' }),
    );
    expect((await admin.core.readNode({ name })).spec?.taints ?? []).not.toContainEqual(
      expect.objectContaining({ key: outOfService }),
    );
  });

  it('refuses to uncordon, or to take the load-balancer label off, a node someone else marked, and to claim that it marked it', async () => {
    // Prepare: an administrator cordons the node and excludes it from load balancers.
    const name = await readyNode();
    await admin.core.patchNode(
      {
        name,
        body: {
          metadata: { labels: { [excludeFromLoadBalancersLabel]: 'true' } },
          spec: { unschedulable: true },
        },
      },
      mergePatch,
    );
    await settled(name);
    const before = await guarded(name);

    // Act
    const refused = {
      uncordon: await patchAsDrainer(name, (n) => {
        n.spec = { ...n.spec, unschedulable: false };
      }),
      claimCordon: await patchAsDrainer(name, (n) => {
        n.metadata!.labels = { ...n.metadata?.labels, [cordonVouchLabel]: 'true' };
      }),
      unlabel: await patchAsDrainer(name, (n) => {
        delete n.metadata!.labels![excludeFromLoadBalancersLabel];
      }),
      claimLabel: await patchAsDrainer(name, (n) => {
        n.metadata!.labels = { ...n.metadata?.labels, [lbVouchLabel]: 'true' };
      }),
    };
    // The drainer's own record on that node, released as the door releases it: the cordon and label stay.
    const marked = await applyInput(
      name,
      notice({ kind: 'rebalance-recommendation', action: 'cordon', eventId: 'e-theirs' }),
      door(),
    );
    const released = await applyInput(name, { type: 'look', holder: 'fence-test' }, door('running', 120_000));

    // Assess
    expect(refused).toEqual({
      uncordon: expect.stringMatching(/may uncordon only a node it cordoned itself/),
      claimCordon: expect.stringMatching(/only in the patch that cordons it/),
      unlabel: expect.stringMatching(/only a load-balancer exclusion it added itself/),
      claimLabel: expect.stringMatching(/only in the patch that does/),
    });
    expect(marked !== 'node-gone' && marked.transitions.at(-1)?.outcome).toBe('cordoned');
    expect(released !== 'node-gone' && released.transitions.at(-1)?.outcome).toBe('released');
    const after = await guarded(name);
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.labels).toEqual(before.labels);
  });

  it('refuses the out-of-service taint without the record that says the machine is shut down', async () => {
    // Prepare
    const name = await notReadyNode();
    const before = await guarded(name);

    // Act
    const outcome = await patchAsDrainer(
      name,
      withTaint({ key: outOfService, value: 'eks-spot-drainer', effect: 'NoExecute' }),
    );

    // Assess
    expect(outcome).toMatch(/only with its record saying the machine is shut down/);
    expect(await guarded(name)).toEqual(before);
  });

  it("refuses a status write by the drainer's group even where RBAC would allow it", async () => {
    // Prepare: the admin, impersonating a member of the group with every right (system:masters).
    const name = await readyNode();
    const before = await guarded(name);

    // Act
    const response = await impersonatedStatusPatch(name, {
      status: { conditions: [{ type: 'Ready', status: 'False' }] },
    });

    // Assess
    expect(response.status).toBe(403);
    expect(response.body).toContain(nodeFencePolicy);
    expect(response.body).toContain("never writes a node's status");
    expect(await guarded(name)).toEqual(before);
  });

  it('leaves everyone else alone: the admin changes what the drainer may not', async () => {
    // Prepare
    const name = await readyNode();

    // Act
    await admin.core.patchNode({ name, body: { metadata: { labels: { team: 'platform' } } } }, mergePatch);

    // Assess
    expect((await admin.core.readNode({ name })).metadata?.labels?.team).toBe('platform');
  });
});

/** PATCH nodes/<name>/status with the admin token, as a user of groups eks-spot-drainer and system:masters. */
function impersonatedStatusPatch(name: string, body: unknown): Promise<{ status: number; body: string }> {
  const url = new URL(`/api/v1/nodes/${name}/status`, bed.cluster.server);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PATCH',
        ca: Buffer.from(bed.cluster.caData, 'base64'),
        headers: {
          Authorization: `Bearer ${bed.cluster.tokens.admin}`,
          'Content-Type': 'application/merge-patch+json',
          'Impersonate-User': 'fence-test',
          'Impersonate-Group': ['eks-spot-drainer', 'system:masters'],
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
