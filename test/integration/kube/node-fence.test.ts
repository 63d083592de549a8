/**
 * deploy/node-fence.yaml on the real control plane (v1.33), as the `drainer` identity: the drainer's
 * own node patches pass (cordon, its taint, its record, its labels, and taking each away again, the
 * door's own patches included) and every patch outside the fence is refused by the
 * policy, leaving the node as it was. The test bed applies the fence for every test, so every drain
 * test also runs through it.
 */
import { request } from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { applyInput } from '../../../src/interruption/door.js';
import { cordonVouchLabel, lbVouchLabel, writePatch } from '../../../src/interruption/marks.js';
import { recordAnnotation, recordOn } from '../../../src/interruption/record.js';
import { excludeFromLoadBalancersLabel } from '../../../src/interruption/world.js';
import { statusOf } from '../../bed/kube.js';
import { nodeFencePolicy } from '../../bed/node-fence.js';
import {
  fencePatches,
  foreignTaint,
  mergePatch,
  notice,
  baseRules as rules,
  taintKeys,
  withoutTaint,
  withTaint,
} from './fence-patches.js';

const bed = inject('testbed');
const { admin, drainer, door, settled, readyNode, notReadyNode, patchAsDrainer, guarded } = fencePatches(
  bed.cluster,
);
const outOfService = 'node.kubernetes.io/out-of-service';

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
      // Only the fence rendered for NTH_TAINT_KEYS=true lets those keys through.
      "an NTH taint key, even with a value of this project's",
      withTaint({ key: 'aws-node-termination-handler/spot-itn', value: 'marked', effect: 'NoSchedule' }),
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
