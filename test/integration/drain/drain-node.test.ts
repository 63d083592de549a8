import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordAnnotation, recordOn } from '../../../src/interruption/record.js';
import { readyPods, waitFor, waitForReadyPods } from '../../bed/kube.js';
import {
  createBarePod,
  createDaemonSet,
  createDeployment,
  createPdb,
  createStatefulSet,
  pdbStatus,
} from '../../bed/workloads.js';
import { createScenario, names, type Scenario } from './scenario.js';

describe('drainNode', () => {
  // Each test has its own namespace and node pool: replacements of one test never land on another's nodes.
  let s: Scenario;
  beforeEach(async () => {
    s = await createScenario('drain');
  });
  afterEach(() => s.close());

  it('evicts ordinary pods, deletes finished ones, leaves DaemonSet and mirror pods, and marks the node', async () => {
    const node = await s.addNode();
    const shape = { pool: s.pool, gracePeriodSeconds: 5 };
    await createDeployment(s.admin, s.namespace, 'api', 3, shape);
    await createStatefulSet(s.admin, s.namespace, 'db', 1, shape);
    await createDaemonSet(s.admin, s.namespace, 'agent', shape);
    await createBarePod(s.admin, s.namespace, 'scratch', node.name, { ...shape, emptyDir: true });
    await createBarePod(s.admin, s.namespace, 'finished', node.name, shape);
    await s.admin.core.createNamespacedPod({
      namespace: s.namespace,
      body: {
        metadata: { name: 'static-proxy', annotations: { 'kubernetes.io/config.mirror': 'f00d' } },
        spec: { nodeName: node.name, containers: [{ name: 'proxy', image: 'registry.k8s.io/pause:3.10' }] },
      },
    });
    await waitForReadyPods(s.admin.core, s.namespace, undefined, 8);
    await s.admin.core.patchNamespacedPodStatus({
      name: 'finished',
      namespace: s.namespace,
      body: [{ op: 'replace', path: '/status/phase', value: 'Succeeded' }],
    });

    const result = await s.drain(node);

    expect(result.outcome).toBe('drained');
    const byName = Object.fromEntries(result.pods.map((p) => [p.name, p]));
    expect(byName['db-0']?.outcome).toBe('evicted');
    expect(byName.scratch).toMatchObject({ outcome: 'evicted' });
    expect(byName.scratch?.reason).toMatch(/emptyDir.*no controller|no controller|emptyDir/);
    // kubectl deletes finished pods too: they hold nothing, and their eviction skips every budget.
    expect(byName.finished).toMatchObject({ outcome: 'evicted', reason: 'finished (Succeeded): deleted' });
    expect(byName['static-proxy']).toMatchObject({ outcome: 'skipped', reason: 'mirror pod (static)' });
    expect(result.pods.filter((p) => p.name.startsWith('agent-'))).toMatchObject([
      { outcome: 'skipped', reason: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' },
    ]);
    expect(result.counts.evicted).toBe(6);
    const left = await s.podsOn(node);
    expect(names(left)).toEqual(
      ['static-proxy', ...names(left.filter((p) => p.metadata?.name?.startsWith('agent-')))].sort(),
    );
    const marked = await s.admin.core.readNode({ name: node.name });
    expect(marked.spec?.unschedulable).toBe(true);
    expect(marked.spec?.taints).toContainEqual(
      expect.objectContaining({ key: 'eks-spot-drainer/spot-interruption', effect: 'NoSchedule' }),
    );
    expect(marked.metadata?.labels?.['node.kubernetes.io/exclude-from-external-load-balancers']).toBe('true');
    expect(recordOn(marked)).toMatchObject({
      state: 'drained',
      reasons: [expect.objectContaining({ kind: 'spot-interruption', action: 'drain' })],
    });
    await s.nodeEventsWith(node, ['SpotInterruption', 'Drain', 'DrainComplete']);
  });

  it('drains a Deployment behind a PDB one pod at a time as replacements become Ready elsewhere', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'web', 4, {
      pool: s.pool,
      gracePeriodSeconds: 2,
      exitAfter: '500ms',
    });
    await createPdb(s.admin, s.namespace, 'web', { app: 'web' }, { maxUnavailable: 1 });
    const before = await waitForReadyPods(s.admin.core, s.namespace, 'app=web', 4);
    expect(before.every((p) => p.spec?.nodeName === node.name)).toBe(true);
    await waitFor(
      'budget counted',
      async () => (await pdbStatus(s.admin, s.namespace, 'web'))?.disruptionsAllowed === 1,
    );
    const spare = await s.addNode();
    // Watch the budget hold from outside: never fewer than 3 of the 4 Ready while the drain runs.
    let minReady = 4;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        minReady = Math.min(minReady, (await readyPods(s.admin.core, s.namespace, 'app=web')).length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const result = await s.drain(node);
    watching = false;
    await watcher;

    expect(result.outcome).toBe('drained');
    const web = result.pods.filter((p) => p.name.startsWith('web-'));
    expect(web).toHaveLength(4);
    expect(web.every((p) => p.outcome === 'evicted')).toBe(true);
    // Paced by the budget's status, not sent to be refused: about one eviction request per pod
    // (one refusal allowed for a status read a moment before another drain's disruption).
    expect(web.reduce((sum, p) => sum + (p.evictionAttempts ?? 0), 0)).toBeLessThanOrEqual(5);
    expect(minReady).toBeGreaterThanOrEqual(3);
    expect((await s.podsOn(node)).filter((p) => p.metadata?.name?.startsWith('web-'))).toHaveLength(0);
    const after = await waitForReadyPods(s.admin.core, s.namespace, 'app=web', 4);
    expect(after.every((p) => p.spec?.nodeName === spare.name)).toBe(true);
  });

  it('reports pods a PDB never lets go as blocked at the deadline, naming the budget', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'ledger', 2, { pool: s.pool, gracePeriodSeconds: 2 });
    await createPdb(s.admin, s.namespace, 'ledger', { app: 'ledger' }, { maxUnavailable: 0 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=ledger', 2);
    await waitFor(
      'budget counted',
      async () => (await pdbStatus(s.admin, s.namespace, 'ledger'))?.currentHealthy === 2,
    );

    const started = Date.now();
    const result = await s.drain(node, { deadline: Date.now() + 5_000 });

    expect(result.outcome).toBe('deadline-reached');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.pods.filter((p) => p.name.startsWith('ledger-'))).toMatchObject([
      { outcome: 'blocked', pdb: 'ledger' },
      { outcome: 'blocked', pdb: 'ledger' },
    ]);
    expect((await s.podsOn(node)).filter((p) => p.metadata?.name?.startsWith('ledger-'))).toHaveLength(2);
    expect(recordOn(await s.admin.core.readNode({ name: node.name }))?.state).toBe('deadline-reached');
    await s.nodeEventsWith(node, ['DrainBlocked']);
  });

  it('reports a pod covered by two PDBs as failed (the API refuses it with 500) and drains the rest', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'twin', 1, { pool: s.pool, gracePeriodSeconds: 1 });
    await createDeployment(s.admin, s.namespace, 'solo', 1, { pool: s.pool, gracePeriodSeconds: 1 });
    await createPdb(s.admin, s.namespace, 'twin-a', { app: 'twin' }, { maxUnavailable: 1 });
    await createPdb(s.admin, s.namespace, 'twin-b', { app: 'twin' }, { maxUnavailable: 1 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app in (twin,solo)', 2);

    const result = await s.drain(node);

    expect(result.outcome).toBe('incomplete');
    const twin = result.pods.find((p) => p.name.startsWith('twin-'));
    expect(twin).toMatchObject({ outcome: 'failed' });
    expect(twin?.reason).toMatch(/more than one PodDisruptionBudget/);
    expect(result.pods.find((p) => p.name.startsWith('solo-'))?.outcome).toBe('evicted');
  });

  it('waits for a pod that lingers in Terminating until its kubelet lets go', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'slow', 1, {
      pool: s.pool,
      gracePeriodSeconds: 3,
      ignoreSigterm: true,
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=slow', 1);
    await s.addNode();

    const started = Date.now();
    const result = await s.drain(node);

    const slow = result.pods.find((p) => p.name.startsWith('slow-'));
    expect(result.outcome).toBe('drained');
    expect(slow?.outcome).toBe('evicted');
    // It stayed for its whole grace period, and the drain waited for it.
    expect(slow?.goneAfterMs).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });

  it('caps a grace period that would outlast the deadline, and reports a pod still terminating', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'stubborn', 1, {
      pool: s.pool,
      gracePeriodSeconds: 60,
      ignoreSigterm: true,
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=stubborn', 1);

    const result = await s.drain(node, { deadline: Date.now() + 4_000 });

    const pod = result.pods.find((p) => p.name.startsWith('stubborn-'));
    expect(pod?.outcome === 'evicted' || pod?.outcome === 'still-terminating').toBe(true);
    const [left] = (await s.podsOn(node)).filter((p) => p.metadata?.name?.startsWith('stubborn-'));
    // Evicted with the grace period cut to the time left (≤ 3 s), not its own 60 s.
    if (left) expect(left.metadata?.deletionGracePeriodSeconds).toBeLessThanOrEqual(3);
    expect(result.timeLeftMs).toBeGreaterThan(0);
  });

  it('changes nothing in a dry run and predicts what a budget would block', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'frozen', 1, { pool: s.pool });
    await createPdb(s.admin, s.namespace, 'frozen', { app: 'frozen' }, { maxUnavailable: 0 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=frozen', 1);
    await waitFor(
      'budget counted',
      async () => (await pdbStatus(s.admin, s.namespace, 'frozen'))?.currentHealthy === 1,
    );
    const before = await s.admin.core.readNode({ name: node.name });

    const result = await s.drain(node, {}, { dryRun: true });

    const after = await s.admin.core.readNode({ name: node.name });
    expect(result.outcome).toBe('dry-run');
    expect(result.pods).toMatchObject([{ outcome: 'blocked', pdb: 'frozen' }]);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.annotations?.[recordAnnotation]).toBeUndefined();
    expect(await s.podsOn(node)).toHaveLength(1);
    expect(await s.nodeEvents(node)).toEqual([]);
  });
});
