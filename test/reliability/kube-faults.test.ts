import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { drainNode } from '../../src/app/drain-node.js';
import type { NoticeResult } from '../../src/app/notice-result.js';
import { defaultDrainOptions } from '../../src/drain/options.js';
import { resyncAfterQuietMs, watchStartTimeoutMs } from '../../src/drain/pod-tracker.js';
import { DeadlineExceededError } from '../../src/errors.js';
import { recordOn } from '../../src/interruption/record.js';
import { createKubeApis } from '../../src/kube/connection.js';
import { Action, NoticeKind } from '../../src/types.js';
import {
  adminClients,
  createNamespace,
  createSpotNode,
  kubeConfigFor,
  type SpotNode,
  uniqueSuffix,
  waitFor,
} from '../bed/kube.js';
import {
  failFirstOfEachRoute,
  type KubeFaultPlan,
  type KubeFaultProxy,
  routeOf,
  startKubeFaultProxy,
} from '../bed/kube-fault-proxy.js';
import {
  createBarePod,
  createDeployment,
  createPdb,
  createStatefulSet,
  pdbStatus,
} from '../bed/workloads.js';
import { measured, podsStillOn, reportedLeft, unexplainedMarks } from './invariants.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
let proxy: KubeFaultProxy;
let namespace: string;
const pools: string[] = [];

beforeAll(async () => {
  namespace = await createNamespace(admin.core, 'kube-faults');
  proxy = await startKubeFaultProxy(bed.cluster);
});
afterAll(async () => {
  await proxy?.stop();
  for (const pool of pools) expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

/** A node of its own pool with `app`'s pods on it (and a spare node when the pods need somewhere to go). */
async function nodeWithPods(
  app: string,
  replicas: number,
  shape: { exitAfter?: string; pdb?: boolean; spare?: boolean; extras?: boolean } = {},
) {
  const pool = `kf-${app}-${uniqueSuffix()}`;
  pools.push(pool);
  const node = await createSpotNode(admin.core, { extraLabels: { pool } });
  const pod = { pool, gracePeriodSeconds: 5, exitAfter: shape.exitAfter ?? '1s' };
  await createDeployment(admin, namespace, app, replicas, pod);
  let expected = replicas;
  if (shape.extras) {
    await createStatefulSet(admin, namespace, `${app}-db`, 1, pod);
    await createBarePod(admin, namespace, `${app}-bare`, node.name, pod);
    expected += 2;
  }
  await waitFor(`${expected} pods of ${app} ready on ${node.name}`, async () => {
    const list = await admin.core.listNamespacedPod({
      namespace,
      fieldSelector: `spec.nodeName=${node.name}`,
    });
    return list.items.filter((p) => p.status?.phase === 'Running').length >= expected;
  });
  if (shape.pdb) {
    await createPdb(admin, namespace, app, { app }, { maxUnavailable: 1 });
    await waitFor(
      'budget counted',
      async () => (await pdbStatus(admin, namespace, app))?.disruptionsAllowed === 1,
    );
  }
  if (shape.spare) await createSpotNode(admin.core, { extraLabels: { pool } });
  return node;
}

/**
 * A drain whose watch is dead or silent ends by a list after resyncAfterQuietMs (5 s) of silence, or
 * after watchStartTimeoutMs (10 s) for a watch never answered; its pods take 1-2 s. This bound leaves
 * room for a loaded machine and stays far under the 38 s a drain held by the dead watch would last.
 */
const notHeldMs = watchStartTimeoutMs + resyncAfterQuietMs + 10_000;

/** Drains as `drainer` through the fault proxy; each request is abandoned after 3 s (the default is 10 s). */
async function drainThroughProxy(node: SpotNode, plan: KubeFaultPlan, windowMs = 45_000) {
  proxy.setPlan(plan);
  const from = proxy.records.length;
  const apis = createKubeApis(
    kubeConfigFor({ ...bed.cluster, server: proxy.server, caData: proxy.caData }, 'drainer'),
    { requestTimeoutMs: 3_000 },
  );
  const started = Date.now();
  const deadline = started + windowMs;
  try {
    const result = await drainNode(
      {
        nodeName: node.name,
        kind: NoticeKind.SpotInterruption,
        eventId: randomUUID(),
        action: Action.Drain,
        deadline,
        holder: `kube-faults-${uniqueSuffix()}`,
        noticeMessage: `EC2 Spot Instance Interruption Warning for ${node.instanceId}`,
      },
      { apis, options: { ...defaultDrainOptions, safetyMarginMs: 2_000 } },
    );
    const returnedAt = Date.now();
    const records = proxy.records.slice(from);
    return { result, tookMs: returnedAt - started, returnedAt, deadline, records };
  } finally {
    proxy.setPlan({});
    apis.close();
  }
}

/** The drain kept its promise: it returned in time, and what it says is left is exactly what is left. */
async function expectHonestReport(
  node: SpotNode,
  run: { result: NoticeResult; returnedAt: number; deadline: number },
) {
  expect(run.returnedAt).toBeLessThanOrEqual(run.deadline);
  const left = await podsStillOn(admin.core, node.name, namespace);
  const stillTerminating = run.result.pods
    .filter((p) => p.outcome === 'still-terminating')
    .map((p) => `${p.namespace}/${p.name}`);
  // A pod reported still terminating may finish between the report and our look: never the reverse.
  expect(left.filter((p) => !reportedLeft(run.result).includes(p))).toEqual([]);
  expect(reportedLeft(run.result).filter((p) => !left.includes(p) && !stillTerminating.includes(p))).toEqual(
    [],
  );
}

describe('drainNode behind a faulty API server', () => {
  it('drains although the first request of every kind fails (429, 500, 503, lost response)', async () => {
    // Prepare
    const node = await nodeWithPods('first', 3, { extras: true });

    // Act
    const run = await drainThroughProxy(node, {
      force: failFirstOfEachRoute(['unavailable', 'too-many-requests', 'internal-error', 'lost-response']),
      retryAfterSeconds: 1,
    });

    // Assess
    const faulted = run.records.filter((r) => r.fault).map((r) => `${routeOf(r)} -> ${r.fault}`);
    measured('kube first-of-each-route', {
      outcome: run.result.outcome,
      evicted: run.result.counts.evicted,
      requests: run.records.length,
      faults: faulted,
      tookMs: run.tookMs,
    });
    expect(faulted.length).toBeGreaterThanOrEqual(5);
    expect(run.result.outcome).toBe('drained');
    expect(run.result.counts.evicted).toBe(5);
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
    await expectHonestReport(node, run);
  });

  it.each([7, 1234])(
    'drains behind a budget while a seeded quarter of all requests fail, stall or lose their answer (seed %i)',
    async (seed) => {
      // Prepare
      const node = await nodeWithPods(`soak-${seed}`, 10, { pdb: true, spare: true, extras: true });

      // Act
      const run = await drainThroughProxy(node, {
        seed,
        rates: {
          'too-many-requests': 0.08,
          'internal-error': 0.05,
          unavailable: 0.05,
          stall: 0.03,
          'lost-response': 0.04,
        },
        retryAfterSeconds: 1,
      });

      // Assess
      const byFault: Record<string, number> = {};
      for (const r of run.records) if (r.fault) byFault[r.fault] = (byFault[r.fault] ?? 0) + 1;
      measured(`kube seeded faults seed=${seed}`, {
        outcome: run.result.outcome,
        counts: run.result.counts,
        requests: run.records.length,
        faults: byFault,
        tookMs: run.tookMs,
        timeLeftMs: run.result.timeLeftMs,
      });
      expect(Object.values(byFault).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      await expectHonestReport(node, run);
      expect(run.result.outcome).toBe('drained');
      expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
    },
  );

  it('retries the conflicts and the transient 403s of a busy budget, and drains', async () => {
    // Prepare: the first two evictions of each pod answer as a contended budget does.
    const node = await nodeWithPods('busy-budget', 3);
    const evictions = new Map<string, number>();
    const plan: KubeFaultPlan = {
      force: (info) => {
        if (info.method !== 'POST' || !info.path.endsWith('/eviction')) return undefined;
        const tries = (evictions.get(info.path) ?? 0) + 1;
        evictions.set(info.path, tries);
        return tries === 1 ? 'budget-conflict' : tries === 2 ? 'budget-forbidden' : undefined;
      },
    };

    // Act
    const run = await drainThroughProxy(node, plan);

    // Assess: 409 and 403 were not taken for "gone" or "forbidden": every pod was evicted for real
    measured('kube budget 409 and 403', {
      outcome: run.result.outcome,
      attempts: run.result.pods.map((p) => p.evictionAttempts),
    });
    expect(run.result.outcome).toBe('drained');
    expect(run.result.pods.map((p) => [p.outcome, p.evictionAttempts])).toEqual([
      ['evicted', 3],
      ['evicted', 3],
      ['evicted', 3],
    ]);
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('fails a drain that cannot list pods before its deadline, leaves a lease saying so, and lets a retry finish', async () => {
    // Prepare: every pod list fails until the drain gives up.
    const node = await nodeWithPods('no-list', 2);
    const plan: KubeFaultPlan = {
      force: (info) =>
        info.method === 'GET' && info.path === '/api/v1/pods' && !info.watch ? 'internal-error' : undefined,
    };

    // Act
    const failure = await drainThroughProxy(node, plan, 6_000).then(
      () => undefined,
      (error: unknown) => error,
    );
    const afterFailure = await admin.core.readNode({ name: node.name });
    const retry = await drainThroughProxy(node, {});

    // Assess
    measured('kube pod list failing to the deadline', {
      first: failure instanceof Error ? `${failure.name}: ${failure.message.slice(0, 80)}` : 'no error',
      leaseAfterFailure: recordOn(afterFailure)?.state,
      retry: retry.result.outcome,
    });
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect(afterFailure.spec?.unschedulable).toBe(true);
    expect(recordOn(afterFailure)?.state).toBe('failed');
    expect(retry.result.outcome).toBe('drained');
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('re-lists and watches again when the watch is cut mid-way, and still sees every pod go', async () => {
    // Prepare: pods take 3 s to go; every watch is cut after 700 ms.
    const node = await nodeWithPods('cut', 4, { exitAfter: '3s' });

    // Act
    const run = await drainThroughProxy(node, { cutWatchesAfterMs: 700 });

    // Assess
    const watches = run.records.filter((r) => r.watch).length;
    measured('kube watch cut', {
      outcome: run.result.outcome,
      watches,
      cut: proxy.cutWatches,
      tookMs: run.tookMs,
    });
    expect(watches).toBeGreaterThanOrEqual(2);
    expect(proxy.cutWatches).toBeGreaterThanOrEqual(1);
    expect(run.result.outcome).toBe('drained');
    // Seen gone only once they were: nothing was declared gone by a broken watch.
    for (const pod of run.result.pods) expect(pod.goneAfterMs).toBeGreaterThanOrEqual(2_500);
    expect(await podsStillOn(admin.core, node.name, namespace)).toEqual([]);
  });

  it('does not hang when the watch request is never answered', async () => {
    // Prepare
    const node = await nodeWithPods('stalled-watch', 3, { exitAfter: '1s' });
    let watchRequests = 0;

    // Act
    const run = await drainThroughProxy(
      node,
      { force: (info) => (info.watch && ++watchRequests === 1 ? 'stall' : undefined) },
      40_000,
    );

    // Assess
    measured('kube watch stalled', {
      outcome: run.result.outcome,
      tookMs: run.tookMs,
      watches: watchRequests,
    });
    // Not held to the stop time (38 s): the tracker listed instead of waiting on the dead watch.
    expect(run.tookMs).toBeLessThan(notHeldMs);
    await expectHonestReport(node, run);
    expect(run.result.outcome).toBe('drained');
  });

  it('notices pods gone although the watch falls silent without closing', async () => {
    // Prepare
    const node = await nodeWithPods('muted', 3, { exitAfter: '2s' });

    // Act
    const run = await drainThroughProxy(node, { muteWatchesAfterMs: 300 }, 40_000);

    // Assess
    measured('kube watch muted', {
      outcome: run.result.outcome,
      tookMs: run.tookMs,
      muted: proxy.mutedWatches,
    });
    expect(proxy.mutedWatches).toBeGreaterThanOrEqual(1);
    await expectHonestReport(node, run);
    expect(run.result.outcome).toBe('drained');
    expect(run.tookMs).toBeLessThan(notHeldMs);
  });
});
