import { describe, expect, inject, it } from 'vitest';
import {
  adminClients,
  createNamespace,
  createSpotNode,
  uniqueSuffix,
  waitFor,
  waitForReadyPods,
} from '../../bed/kube.js';
import {
  createBarePod,
  createDaemonSet,
  createDeployment,
  createPdb,
  pdbStatus,
} from '../../bed/workloads.js';
import { runCli } from './run-cli.js';

const bed = inject('testbed');
const kubeconfig = bed.cluster.kubeconfigPaths.drainer;

describe('eks-spot-drainer plan', () => {
  const admin = adminClients(bed.cluster);

  it('lists pods to evict, skipped and why, and the budget that blocks, changing nothing', async () => {
    const namespace = await createNamespace(admin.core, 'plan');
    const pool = `plan-${uniqueSuffix()}`;
    const node = await createSpotNode(admin.core, { extraLabels: { pool } });
    await createDeployment(admin, namespace, 'web', 2, { pool });
    await createPdb(admin, namespace, 'web', { app: 'web' }, { maxUnavailable: 1 });
    await createDeployment(admin, namespace, 'db', 1, { pool });
    await createPdb(admin, namespace, 'db', { app: 'db' }, { minAvailable: 1 });
    await createDaemonSet(admin, namespace, 'agent', { pool });
    await createBarePod(admin, namespace, 'scratch', node.name, { pool, emptyDir: true });
    await waitForReadyPods(admin.core, namespace, undefined, 5);
    await waitFor('budgets counted', async () => {
      const [web, db] = await Promise.all([
        pdbStatus(admin, namespace, 'web'),
        pdbStatus(admin, namespace, 'db'),
      ]);
      return web?.disruptionsAllowed === 1 && db?.currentHealthy === 1;
    });

    const run = await runCli(['plan', '--node', node.name, '--kubeconfig', kubeconfig]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`node ${node.name} (${node.providerId}) of cluster local`);
    expect(run.stdout).toContain('state: schedulable');
    expect(run.stdout).toMatch(new RegExp(`${namespace}/agent-\\S+ +ordinary +skip +DaemonSet pod`));
    expect(run.stdout).toMatch(
      new RegExp(
        `${namespace}/db-\\S+ +ordinary +blocked +PodDisruptionBudget ${namespace}/db allows no disruption since \\d{4}-`,
      ),
    );
    expect(run.stdout).toMatch(
      new RegExp(`${namespace}/web-\\S+ +ordinary +evict +PodDisruptionBudget ${namespace}/web allows 1`),
    );
    expect(run.stdout).toMatch(
      new RegExp(
        `${namespace}/scratch +ordinary +evict +emptyDir data is lost; no controller: it will not be recreated`,
      ),
    );
    expect(run.stdout).toContain(
      `${namespace}/web allows 1 disruption now; 2 pods of this node under it: the rest go as their replacements become ready`,
    );
    expect(run.stdout).toContain('would evict 3 pods, skip 1, 1 blocked by a PodDisruptionBudget now');
    expect(run.stdout).toContain('(plan only: nothing was changed)');
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBeFalsy();
  });

  it('finds the node by instance id, through its providerID', async () => {
    const node = await createSpotNode(admin.core, { extraLabels: { pool: `plan-${uniqueSuffix()}` } });

    const run = await runCli([
      'plan',
      '--instance',
      node.instanceId,
      '--kubeconfig',
      kubeconfig,
      '--context',
      'drainer',
    ]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`node ${node.name} (${node.providerId})`);
    expect(run.stdout).toContain('no pods on this node: a drain would only cordon it');
  });

  it('shows the interruption record and the taint of a node that was drained', async () => {
    const node = await createSpotNode(admin.core, { extraLabels: { pool: `plan-${uniqueSuffix()}` } });
    await runCli(['invoke', '-e', 'spot-interruption', '-i', node.instanceId, '--kubeconfig', kubeconfig]);

    const run = await runCli(['plan', '--node', node.name, '--kubeconfig', kubeconfig]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /state: cordoned; tainted eks-spot-drainer\/spot-interruption:NoSchedule; interruption record: drained by cli-/,
    );
  });
});
