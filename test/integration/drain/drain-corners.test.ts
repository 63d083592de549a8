import { randomUUID } from 'node:crypto';
/**
 * The corners kubectl's pkg/drain and Karpenter's terminator handle, on the real control plane as
 * `drainer`: grace periods that must end before the deadline, a deadline that moves earlier, pods
 * already terminating or stuck, pods that come back, namespaces that go away, replaced pods, and
 * DaemonSets that no longer exist. Each asserts the cluster's final state.
 */
import type * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NoticeResult } from '../../../src/app/notice-result.js';
import { evictPod } from '../../../src/drain/evict.js';
import { recordOn } from '../../../src/interruption/record.js';
import { NoticeKind } from '../../../src/types.js';
import { stopKubelet } from '../../bed/instance-life.js';
import { createNamespace, waitFor, waitForReadyPods } from '../../bed/kube.js';
import {
  createBarePod,
  createDaemonSet,
  createDeployment,
  createPdb,
  podTemplate,
} from '../../bed/workloads.js';
import { createScenario, type Scenario, scenarioSafetyMarginMs } from './scenario.js';

let s: Scenario;
beforeEach(async () => {
  s = await createScenario('corner');
});
afterEach(() => s.close());

/**
 * Records the deletionGracePeriodSeconds a pod is seen with while it lives, each time it changes, and
 * when the last grace asked for ends (its deletionTimestamp).
 */
function watchGrace(namespace: string, name: string) {
  const seen: number[] = [];
  let endsAt: number | undefined;
  let stop = false;
  const polling = (async () => {
    while (!stop) {
      try {
        const pod = await s.admin.core.readNamespacedPod({ namespace, name });
        const grace = pod.metadata?.deletionGracePeriodSeconds;
        // 0 is the kubelet's (KWOK's) own delete once the containers are gone, not a grace asked for.
        if (grace !== undefined && grace > 0 && seen.at(-1) !== grace) {
          seen.push(grace);
          endsAt = endOfGrace(pod);
        }
      } catch {
        // gone
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    seen,
    get endsAt() {
      return endsAt;
    },
    stop: async () => {
      stop = true;
      await polling;
    },
  };
}

/** When a terminating pod's grace ends (its deletionTimestamp), in epoch ms. */
function endOfGrace(pod: k8s.V1Pod): number | undefined {
  const stamp = pod.metadata?.deletionTimestamp;
  return stamp ? new Date(stamp).getTime() : undefined;
}

/**
 * The drain cuts a grace to end by its stop time, then waits for the pod until that time: whether
 * the pod is seen gone before it or just after is the machine's speed, not a promise. Either way
 * each pod is reported as what it was at the stop time, and the outcome follows.
 */
function expectGoneOrGoingAtStop(
  result: NoticeResult,
  pods: string[],
  gone: 'evicted' | 'already-terminating',
) {
  const reported = result.pods.filter((p) => pods.includes(p.name));
  expect(reported.map((p) => p.name).sort()).toEqual([...pods].sort());
  for (const pod of reported) expect([gone, 'still-terminating']).toContain(pod.outcome);
  const allGone = reported.every((p) => p.outcome === gone);
  expect(result.outcome).toBe(allGone ? 'drained' : 'deadline-reached');
}

describe('grace periods and deadlines', () => {
  it('gives a pod a budget lets go late only the time then left, not its own 90 s', async () => {
    // Prepare: one replica behind a budget that allows nothing, a spare node for its replacement.
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'slow', 1, {
      pool: s.pool,
      gracePeriodSeconds: 90,
      ignoreSigterm: true,
    });
    const [pod] = await waitForReadyPods(s.admin.core, s.namespace, 'app=slow', 1);
    await createPdb(s.admin, s.namespace, 'slow', { app: 'slow' }, { minAvailable: 1 });
    await waitFor(
      'budget counted',
      async () =>
        (await s.admin.policy.readNamespacedPodDisruptionBudget({ namespace: s.namespace, name: 'slow' }))
          .status?.currentHealthy === 1,
    );
    await s.addNode();
    const grace = watchGrace(s.namespace, pod!.metadata!.name!);
    const started = Date.now();
    const deadline = started + 25_000;

    // Act: 8 s into the drain, a second replica comes up and the budget lets one go.
    const draining = s.drain(node, { deadline });
    await new Promise((r) => setTimeout(r, 8_000));
    await s.admin.apps.patchNamespacedDeploymentScale({
      namespace: s.namespace,
      name: 'slow',
      body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
    });
    const result = await draining;
    const returnedAt = Date.now();
    await grace.stop();

    // Assess: the grace asked for fits in what was left (25 s - 1 s margin - ~9 s) and ends by the
    // stop time; the drain returned before the deadline.
    expect(grace.seen).toHaveLength(1);
    expect(grace.seen[0]).toBeLessThanOrEqual(16);
    expect(grace.seen[0]).toBeGreaterThan(5);
    expect(grace.endsAt).toBeLessThanOrEqual(deadline - scenarioSafetyMarginMs);
    expect(returnedAt).toBeLessThan(deadline);
    expectGoneOrGoingAtStop(result, [pod!.metadata!.name!], 'evicted');
    await waitFor('the pod gone', async () => (await s.podsOn(node)).length === 0);
  });

  it('follows an earlier deadline another notice records: grace cut, pods gone, drain ended by then', async () => {
    // Prepare: a drain with a 10-minute budget (an ASG hook) of pods that take their whole 120 s grace.
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'stubborn', 2, {
      pool: s.pool,
      gracePeriodSeconds: 120,
      ignoreSigterm: true,
    });
    const stubborn = await waitForReadyPods(s.admin.core, s.namespace, 'app=stubborn', 2);
    const timing = { renewIntervalMs: 1_000, staleAfterMs: 5_000 };
    const long = s.drain(
      node,
      { kind: NoticeKind.AsgTerminate, eventId: 'asg', deadline: Date.now() + 600_000, holder: 'asg-holder' },
      {},
      timing,
    );
    await waitFor('the pods terminating with their own grace', async () =>
      (await s.podsOn(node)).every((p) => p.metadata?.deletionGracePeriodSeconds === 120),
    );

    // Act: a Spot warning: 20 s left.
    const spotDeadline = Date.now() + 20_000;
    const spot = await s.drain(
      node,
      { eventId: 'spot', deadline: spotDeadline, holder: 'spot-holder' },
      {},
      timing,
    );
    const result = await long;

    // Assess: the running holder learned of it, cut the grace to end by the stop time, and finished
    // before it
    expect(Date.now()).toBeLessThan(spotDeadline);
    expect(result.deadline).toBe(new Date(spotDeadline).toISOString());
    const going = await s.podsOn(node);
    for (const pod of going)
      expect(endOfGrace(pod)).toBeLessThanOrEqual(spotDeadline - scenarioSafetyMarginMs);
    expectGoneOrGoingAtStop(
      result,
      stubborn.map((p) => p.metadata?.name ?? ''),
      'evicted',
    );
    // It stood by while the holder drained; the holder's drain, ended, is its answer.
    expect(spot).toMatchObject({ outcome: 'already-done', state: result.state, holder: 'asg-holder' });
    expect(recordOn(await s.admin.core.readNode({ name: node.name }))).toMatchObject({
      state: result.outcome,
      holder: 'asg-holder',
      deadline: new Date(spotDeadline).toISOString(),
    });
    await waitFor('the pods gone', async () => (await s.podsOn(node)).length === 0);
  });

  it('cuts the grace of a pod already terminating when it would outlast the deadline', async () => {
    // Prepare: someone deleted a pod with its 300 s grace; the drain has 15 s.
    const node = await s.addNode();
    await createBarePod(s.admin, s.namespace, 'leaving', node.name, {
      pool: s.pool,
      gracePeriodSeconds: 300,
      ignoreSigterm: true,
    });
    await waitForReadyPods(s.admin.core, s.namespace, undefined, 1);
    await s.admin.core.deleteNamespacedPod({ namespace: s.namespace, name: 'leaving' });
    const grace = watchGrace(s.namespace, 'leaving');

    // Act
    const deadline = Date.now() + 15_000;
    const result = await s.drain(node, { deadline });
    await grace.stop();

    // Assess
    expect(grace.seen[0]).toBe(300);
    expect(grace.seen.at(-1)).toBeLessThanOrEqual(14);
    expect(grace.endsAt).toBeLessThanOrEqual(deadline - scenarioSafetyMarginMs);
    expectGoneOrGoingAtStop(result, ['leaving'], 'already-terminating');
  });

  it('reports a pod stuck terminating past its grace as stuck, and stops waiting for it', async () => {
    // Prepare: a node whose kubelet is gone: evicted pods can never finish terminating.
    const node = await s.addNode();
    await createBarePod(s.admin, s.namespace, 'frozen', node.name, { pool: s.pool, gracePeriodSeconds: 1 });
    await waitForReadyPods(s.admin.core, s.namespace, undefined, 1);
    await stopKubelet(s.admin.core, node.name);
    const deadline = Date.now() + 60_000;

    // Act
    const result = await s.drain(node, { deadline });

    // Assess: reported by name, not waited for until the deadline
    expect(result.pods).toMatchObject([{ name: 'frozen', outcome: 'stuck' }]);
    expect(result.outcome).toBe('incomplete');
    expect(Date.now()).toBeLessThan(deadline - 30_000);
    await s.admin.core.deleteNamespacedPod({ namespace: s.namespace, name: 'frozen', gracePeriodSeconds: 0 });
  });
});

describe('pods that are replaced, come back, or lose their namespace or DaemonSet', () => {
  it('takes a failed UID precondition for a pod replaced by a namesake, and leaves the namesake', async () => {
    // Prepare: a bare pod, deleted and created again under the same name (as a StatefulSet does).
    const node = await s.addNode();
    const shape = { pool: s.pool, gracePeriodSeconds: 1 };
    await createBarePod(s.admin, s.namespace, 'phoenix', node.name, shape);
    const [old] = await waitForReadyPods(s.admin.core, s.namespace, undefined, 1);
    await s.admin.core.deleteNamespacedPod({
      namespace: s.namespace,
      name: 'phoenix',
      gracePeriodSeconds: 0,
    });
    await waitFor('old pod gone', async () => (await s.podsOn(node)).length === 0);
    await createBarePod(s.admin, s.namespace, 'phoenix', node.name, shape);
    await waitForReadyPods(s.admin.core, s.namespace, undefined, 1);

    // Act: the eviction of the pod as it was listed before
    const outcome = await evictPod(s.drainer.core, old!, {
      gracePeriodSeconds: () => 1,
      stopAt: () => Date.now() + 10_000,
    });

    // Assess
    expect(outcome).toEqual({ status: 'gone', attempts: 1 });
    const [namesake] = await s.podsOn(node);
    expect(namesake?.metadata?.uid).not.toBe(old!.metadata!.uid);
    expect(namesake?.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('evicts a pod that lands back on the cordoned node once, then reports it by name, without a loop', async () => {
    // Prepare: a pod that tolerates everything, and this node is the only one its selector allows.
    const node = await s.addNode();
    const template = podTemplate('sticky', { pool: s.pool, gracePeriodSeconds: 1 });
    template.spec!.tolerations = [{ operator: 'Exists' }];
    await s.admin.apps.createNamespacedDeployment({
      namespace: s.namespace,
      body: {
        metadata: { name: 'sticky' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'sticky' } }, template },
      },
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=sticky', 1);
    const deadline = Date.now() + 60_000;

    // Act
    const result = await s.drain(node, { deadline });

    // Assess: evicted, came back, evicted again, came back: reported once and left
    const returned = result.pods.filter((p) => p.outcome === 'returned');
    expect(returned).toHaveLength(1);
    expect(returned[0]?.reason).toMatch(/tolerates/);
    expect(result.pods.filter((p) => p.outcome === 'evicted').length).toBeLessThanOrEqual(3);
    expect(result.outcome).toBe('incomplete');
    expect(Date.now()).toBeLessThan(deadline - 20_000);
    const running = (await s.podsOn(node)).filter((p) => !p.metadata?.deletionTimestamp);
    expect(running.map((p) => p.metadata?.name)).toEqual([returned[0]?.name]);
  });

  it('waits for the pods of a namespace being deleted, and reports the node drained', async () => {
    // Prepare: two pods in their own namespace behind a budget that allows nothing.
    const node = await s.addNode();
    const doomed = await createNamespace(s.admin.core, 'doomed');
    await createDeployment(s.admin, doomed, 'web', 2, { pool: s.pool, gracePeriodSeconds: 2 });
    await waitForReadyPods(s.admin.core, doomed, 'app=web', 2);
    await createPdb(s.admin, doomed, 'web', { app: 'web' }, { minAvailable: 2 });
    await waitFor(
      'budget counted',
      async () =>
        (await s.admin.policy.readNamespacedPodDisruptionBudget({ namespace: doomed, name: 'web' })).status
          ?.currentHealthy === 2,
    );

    // Act: the namespace is deleted once the budget holds both pods.
    const blocked = new Set<string>();
    let bothBlocked!: () => void;
    const held = new Promise<void>((resolve) => {
      bothBlocked = resolve;
    });
    const draining = s.drain(node, { deadline: Date.now() + 45_000 }, {}, undefined, (p) => {
      if (p.type === 'pod' && p.status === 'blocked') blocked.add(p.pod);
      if (blocked.size === 2) bothBlocked();
    });
    await Promise.race([held, draining]);
    await s.admin.core.deleteNamespace({ name: doomed });
    const result = await draining;

    // Assess
    expect(result.outcome).toBe('drained');
    expect(result.pods.map((p) => p.outcome)).toEqual(['gone', 'gone']);
    const list = await s.admin.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node.name}` });
    expect(list.items.filter((p) => p.metadata?.namespace === doomed)).toEqual([]);
    const events = await s.nodeEventsWith(node, ['DrainComplete']);
    expect(events).not.toContain('DrainBlocked');
  });

  it('evicts the pod of a DaemonSet that no longer exists, as an unmanaged pod', async () => {
    // Prepare: a pod whose controller is a DaemonSet that is not there. (Its owner reference names an
    // API version the garbage collector cannot resolve, so the pod stays: the window kubectl's filter
    // is for, between a DaemonSet's deletion and its pods', held open.)
    const node = await s.addNode();
    const template = podTemplate('orphan', { pool: s.pool, gracePeriodSeconds: 1 });
    await s.admin.core.createNamespacedPod({
      namespace: s.namespace,
      body: {
        metadata: {
          ...template.metadata,
          name: 'orphan',
          ownerReferences: [
            {
              apiVersion: 'extensions/v1beta1',
              kind: 'DaemonSet',
              name: 'ghost',
              uid: randomUUID(),
              controller: true,
            },
          ],
        },
        spec: { ...template.spec!, nodeName: node.name },
      },
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=orphan', 1);

    // Act
    const result = await s.drain(node);

    // Assess
    expect(result.outcome).toBe('drained');
    expect(result.pods).toMatchObject([
      {
        name: 'orphan',
        outcome: 'evicted',
        reason: 'its DaemonSet ghost no longer exists: it will not be recreated',
      },
    ]);
    expect(await s.podsOn(node)).toEqual([]);
  });

  it('leaves the pod of a DaemonSet that exists', async () => {
    // Prepare
    const node = await s.addNode();
    await createDaemonSet(s.admin, s.namespace, 'agent', { pool: s.pool, gracePeriodSeconds: 1 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=agent', 1);

    // Act
    const result = await s.drain(node);

    // Assess
    expect(result.pods).toMatchObject([
      { outcome: 'skipped', reason: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' },
    ]);
    expect(await s.podsOn(node)).toHaveLength(1);
  });
});

describe('a drain of a node whose kubelet stops for good', () => {
  it('stops at once when the instance is going away, for a look at EC2 to free the pods', async () => {
    // Prepare
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'web', 1, {
      pool: s.pool,
      gracePeriodSeconds: 60,
      ignoreSigterm: true,
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=web', 1);
    const deadline = Date.now() + 120_000;

    // Act: the kubelet stops once the drain, of an instance EC2 says is shutting down, has evicted.
    const draining = s.drain(
      node,
      { deadline, kind: NoticeKind.StateChange, detail: 'shutting-down' },
      {},
      { renewIntervalMs: 1_000, staleAfterMs: 5_000 },
    );
    await waitFor('the pod terminating', async () =>
      (await s.podsOn(node)).some((p) => p.metadata?.deletionTimestamp),
    );
    await stopKubelet(s.admin.core, node.name);
    const result = await draining;

    // Assess
    expect(result.outcome).toBe('halted');
    expect(recordOn(await s.admin.core.readNode({ name: node.name }))?.state).toBe('incomplete');
    expect(Date.now()).toBeLessThan(deadline - 90_000);
  });
});
