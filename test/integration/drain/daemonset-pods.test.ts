/**
 * EVICT_DAEMONSET_PODS and the Events on evicted pods, on the real control plane as `drainer`
 * (deploy/rbac.yaml only): DaemonSet pods are left by default; with the param they go after the
 * critical tier, each tier once the one before it is gone, through their budgets like any pod; and
 * each pod the drain evicts carries an Event naming the notice that drained its node.
 */
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventSource } from '../../../src/kube/event-writer.js';
import { PodEventReason } from '../../../src/kube/pod-events.js';
import type { SpotNode } from '../../bed/kube.js';
import { waitFor, waitForReadyPods } from '../../bed/kube.js';
import { createDaemonSet, createDeployment, createPdb, pdbStatus, podTemplate } from '../../bed/workloads.js';
import { createScenario, names, type Scenario } from './scenario.js';

let s: Scenario;
beforeEach(async () => {
  s = await createScenario('daemonsets');
});
afterEach(() => s.close());

/** What a pod's Events say, as events.k8s.io/v1 shows them (reportingController, not reportingComponent). */
interface PodEvent {
  reason: string;
  note: string;
  type: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** This project's Events about the pods of the scenario's namespace, by pod name. */
async function podEvents(): Promise<Map<string, PodEvent[]>> {
  const events = s.admin.kc.makeApiClient(k8s.EventsV1Api);
  const list = await events.listNamespacedEvent({ namespace: s.namespace });
  const byPod = new Map<string, PodEvent[]>();
  for (const e of list.items.filter((item) => item.reportingController === eventSource)) {
    const name = e.regarding?.name ?? '';
    byPod.set(name, [
      ...(byPod.get(name) ?? []),
      {
        reason: e.reason ?? '',
        note: e.note ?? '',
        type: e.type ?? '',
        reportingController: e.reportingController ?? '',
        reportingInstance: e.reportingInstance ?? '',
        regarding: {
          kind: e.regarding?.kind,
          name,
          namespace: e.regarding?.namespace,
          uid: e.regarding?.uid,
        },
      },
    ]);
  }
  return byPod;
}

/** The Events once every pod in `podNames` has one: they are written beside the evictions. */
async function podEventsFor(podNames: string[]): Promise<Map<string, PodEvent[]>> {
  let byPod = new Map<string, PodEvent[]>();
  await waitFor(`Events on ${podNames.join(', ')}`, async () => {
    byPod = await podEvents();
    return podNames.every((name) => byPod.has(name));
  });
  return byPod;
}

/**
 * Watches the namespace's pods and numbers, in the API server's order (one watch stream), when each
 * pod started terminating and when it was gone.
 */
async function watchPodEnds(namespace: string) {
  const started = new Map<string, number>();
  const gone = new Map<string, number>();
  let seq = 0;
  const controller = await new k8s.Watch(s.admin.kc).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    {},
    (type: string, pod: k8s.V1Pod) => {
      const name = pod.metadata?.name ?? '';
      seq++;
      if (pod.metadata?.deletionTimestamp && !started.has(name)) started.set(name, seq);
      if (type === 'DELETED') {
        if (!started.has(name)) started.set(name, seq);
        gone.set(name, seq);
      }
    },
    () => {},
  );
  return { started, gone, stop: () => controller.abort() };
}

/** Pods on the node whose name starts with `prefix`. */
async function podsNamed(node: SpotNode, prefix: string): Promise<k8s.V1Pod[]> {
  return (await s.podsOn(node)).filter((p) => p.metadata?.name?.startsWith(prefix));
}

describe('DaemonSet pods', () => {
  it('are left alone by default, and only the evicted pods get an Event', async () => {
    // Prepare
    const node = await s.addNode();
    const shape = { pool: s.pool, gracePeriodSeconds: 2 };
    await createDeployment(s.admin, s.namespace, 'web', 2, shape);
    await createDaemonSet(s.admin, s.namespace, 'agent', shape);
    await createDaemonSet(s.admin, s.namespace, 'proxy', {
      ...shape,
      priorityClassName: 'system-node-critical',
    });
    await waitForReadyPods(s.admin.core, s.namespace, undefined, 4);
    const web = names(await podsNamed(node, 'web-'));
    const daemons = names([...(await podsNamed(node, 'agent-')), ...(await podsNamed(node, 'proxy-'))]);
    const eventId = randomUUID();

    // Act
    const result = await s.drain(node, { eventId });

    // Assess
    expect(result.outcome).toBe('drained');
    expect(result.pods.filter((p) => daemons.includes(p.name))).toMatchObject([
      { outcome: 'skipped', reason: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' },
      { outcome: 'skipped', reason: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' },
    ]);
    expect(names(await s.podsOn(node))).toEqual(daemons);
    const events = await podEventsFor(web);
    for (const name of web) {
      expect(events.get(name)).toEqual([
        expect.objectContaining({ reason: PodEventReason.DrainEviction, type: 'Normal' }),
      ]);
      expect(events.get(name)?.[0]?.note).toContain(`spot-interruption ${eventId}`);
    }
    for (const name of daemons) expect(events.has(name)).toBe(false);
  });

  it('are evicted after the critical tier with EVICT_DAEMONSET_PODS, critical ones last, each with its Event', async () => {
    // Prepare
    const node = await s.addNode();
    const shape = { pool: s.pool, gracePeriodSeconds: 2 };
    await createDeployment(s.admin, s.namespace, 'web', 2, shape);
    await createDeployment(s.admin, s.namespace, 'dns', 1, {
      ...shape,
      priorityClassName: 'system-cluster-critical',
    });
    await createDaemonSet(s.admin, s.namespace, 'agent', shape);
    await createDaemonSet(s.admin, s.namespace, 'proxy', {
      ...shape,
      priorityClassName: 'system-node-critical',
    });
    await waitForReadyPods(s.admin.core, s.namespace, undefined, 5);
    const tiers = {
      ordinary: names(await podsNamed(node, 'web-')),
      critical: names(await podsNamed(node, 'dns-')),
      daemonset: names(await podsNamed(node, 'agent-')),
      'critical-daemonset': names(await podsNamed(node, 'proxy-')),
    };
    const all = Object.values(tiers).flat();
    const pods = Object.fromEntries((await s.podsOn(node)).map((p) => [p.metadata?.name, p.metadata?.uid]));
    const eventId = randomUUID();
    const holder = `test-${randomUUID()}`;
    const ends = await watchPodEnds(s.namespace);

    // Act
    const result = await s.drain(node, { eventId, holder }, { evictDaemonSetPods: true });
    ends.stop();

    // Assess
    expect(result.outcome).toBe('drained');
    expect(
      Object.fromEntries(result.pods.filter((p) => all.includes(p.name)).map((p) => [p.name, p.tier])),
    ).toEqual(Object.fromEntries(Object.entries(tiers).flatMap(([tier, ns]) => ns.map((n) => [n, tier]))));
    expect(result.pods.filter((p) => all.includes(p.name)).every((p) => p.outcome === 'evicted')).toBe(true);
    expect(await s.podsOn(node)).toEqual([]);
    // Each tier began only once every pod of the tier before it was gone.
    const order = Object.values(tiers);
    for (let i = 1; i < order.length; i++) {
      const lastGone = Math.max(...order[i - 1]!.map((n) => ends.gone.get(n) ?? Number.POSITIVE_INFINITY));
      const firstStarted = Math.min(...order[i]!.map((n) => ends.started.get(n) ?? Number.NEGATIVE_INFINITY));
      expect(firstStarted, `${order[i]} after ${order[i - 1]}`).toBeGreaterThan(lastGone);
    }
    const events = await podEventsFor(all);
    for (const name of all) {
      expect(events.get(name)).toEqual([
        {
          reason: PodEventReason.DrainEviction,
          note: expect.stringMatching(
            new RegExp(`^Evicted: node ${node.name} is drained for spot-interruption ${eventId} before `),
          ),
          type: 'Normal',
          reportingController: eventSource,
          reportingInstance: holder,
          regarding: { kind: 'Pod', name, namespace: s.namespace, uid: pods[name] },
        },
      ]);
    }
    // The DaemonSet does not put them back: they do not tolerate the drainer's taint.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await s.podsOn(node)).toEqual([]);
  });

  it('are evicted only as their budget allows, like any pod', async () => {
    // Prepare
    const node = await s.addNode();
    await createDaemonSet(s.admin, s.namespace, 'agent', { pool: s.pool, gracePeriodSeconds: 1 });
    // An integer minAvailable: the disruption controller cannot count a DaemonSet's pods for maxUnavailable.
    await createPdb(s.admin, s.namespace, 'agent', { app: 'agent' }, { minAvailable: 1 });
    const [agent] = await waitForReadyPods(s.admin.core, s.namespace, 'app=agent', 1);
    await waitFor(
      'budget counted',
      async () => (await pdbStatus(s.admin, s.namespace, 'agent'))?.currentHealthy === 1,
    );

    // Act
    const result = await s.drain(node, { deadline: Date.now() + 6_000 }, { evictDaemonSetPods: true });

    // Assess
    expect(result.outcome).toBe('deadline-reached');
    expect(result.pods).toMatchObject([{ name: agent?.metadata?.name, outcome: 'blocked', pdb: 'agent' }]);
    expect(names(await s.podsOn(node))).toEqual([agent?.metadata?.name]);
    expect((await podEvents()).size).toBe(0);
  });

  it('are left when they tolerate every taint of the node: their DaemonSet would put them back', async () => {
    // Prepare
    const node = await s.addNode();
    const template = podTemplate('everywhere', { pool: s.pool, gracePeriodSeconds: 1 });
    template.spec!.tolerations = [{ operator: 'Exists' }];
    await s.admin.apps.createNamespacedDaemonSet({
      namespace: s.namespace,
      body: {
        metadata: { name: 'everywhere' },
        spec: { selector: { matchLabels: { app: 'everywhere' } }, template },
      },
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=everywhere', 1);

    // Act
    const result = await s.drain(node, {}, { evictDaemonSetPods: true });

    // Assess
    expect(result.outcome).toBe('drained');
    expect(result.pods).toMatchObject([
      {
        outcome: 'skipped',
        reason: 'DaemonSet pod that tolerates every taint of the node: its DaemonSet would put it back',
      },
    ]);
    expect(await podsNamed(node, 'everywhere-')).toHaveLength(1);
  });
});
