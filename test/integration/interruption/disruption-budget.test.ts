/**
 * The disruption budget on a cluster of its own (a private control plane: the budget counts every
 * node of a cluster, and the shared bed's other test files mark nodes of theirs): 30 Health changes
 * for the 30 nodes of a cluster with MAX_VOLUNTARY_DISRUPTIONS=3, through the Lambda app (moto, an
 * EKS token, the `drainer` identity and the budget's Lease from deploy/rbac.yaml).
 */
import { randomUUID } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp, type LambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { stateLabel } from '../../../src/interruption/record.js';
import { scheduleEvent } from '../../bed/aws-witnesses.js';
import { type AdminClients, adminClients, uniqueSuffix } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, reconcileEvent, spotNodeWithInstance } from '../../bed/lambda.js';
import { type PrivateBed, startPrivateBed } from '../../bed/private-bed.js';

const shared = inject('testbed');
const saved = { ...process.env };
const minute = 60_000;
const nodeCount = 30;
const budget = 3;
let bed: PrivateBed;
let admin: AdminClients;
let app: LambdaApp;
/** Node name -> its instance and the start of its Health change (the order places are given in). */
const nodes = new Map<string, { instanceId: string; start: number }>();
/** The start each node's change was sent with, kept after the node is retired. */
const started = new Map<string, number>();

beforeAll(async () => {
  bed = await startPrivateBed(shared);
  admin = adminClients(bed.info.cluster);
  const pool = `budget-${uniqueSuffix()}`;
  const firstStart = Date.now() + 20 * minute;
  for (let i = 0; i < nodeCount; i++) {
    const { instance, node } = await spotNodeWithInstance(
      { awsEndpoint: shared.awsEndpoint, clusterName: bed.info.clusterName },
      admin,
      pool,
    );
    // Distinct starts, a second apart, all due (within the 30 min lead) and more than a drain away.
    nodes.set(node.name, { instanceId: instance.instanceId, start: firstStart + i * 1_000 });
    // EC2 lists each change, as it does for a genuine Health event (docs/trust.md).
    await scheduleEvent(shared, instance.instanceId, new Date(firstStart + i * 1_000));
    started.set(node.name, firstStart + i * 1_000);
  }
  const env = lambdaEnv(bed.info, { MAX_VOLUNTARY_DISRUPTIONS: String(budget) });
  // The AWS SDK reads its credentials and endpoint from the process's environment, as in Lambda.
  Object.assign(process.env, env);
  app = createLambdaApp(env);
}, 180_000);
afterAll(async () => {
  process.env = saved;
  await watches.stop();
  await bed?.stop();
});

/** Every watch started, so that a failing test stops them before its control plane goes. */
const watches = {
  stops: [] as (() => Promise<number>)[],
  async stop() {
    await Promise.all(this.stops.map((stop) => stop()));
  },
};

/** Watches the cluster's cordoned nodes for as long as it runs, keeping the most seen at once. */
function cordonWatch() {
  let most = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const list = await admin.core.listNode();
      most = Math.max(most, list.items.filter((n) => n.spec?.unschedulable === true).length);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const stop = async () => {
    running = false;
    await loop;
    return most;
  };
  watches.stops.push(stop);
  return { stop };
}

async function states(): Promise<Map<string, string>> {
  const list = await admin.core.listNode();
  return new Map(
    list.items.map((n: k8s.V1Node) => [n.metadata!.name!, n.metadata?.labels?.[stateLabel] ?? '']),
  );
}

function healthChange(name: string) {
  const { instanceId, start } = nodes.get(name)!;
  return sampleEvent('scheduled-change', {
    instanceId,
    instanceIds: [instanceId],
    startTime: new Date(start),
  });
}

/** The maintenance happened to the drained nodes: their instances retired, their nodes deleted. */
async function retire(names: string[]): Promise<void> {
  await Promise.all(names.map((name) => admin.core.deleteNode({ name })));
  for (const name of names) nodes.delete(name);
}

describe('the disruption budget', () => {
  it('holds 30 Health changes to 3 nodes at a time, drains them all in turn, earliest first, and never delays a Spot warning', async () => {
    // Act 1: thirty Health changes at once, each in an invocation of its own.
    const watch = cordonWatch();
    await Promise.all(
      [...nodes.keys()].map((name) =>
        app.handle(healthChange(name), lambdaContext(`health-${randomUUID()}`)),
      ),
    );
    const afterNotices = await states();
    const mostCordoned = await watch.stop();

    // Assess 1: three drained, the rest waiting unmarked.
    const count = (map: Map<string, string>, state: string) =>
      [...map.values()].filter((s) => s === state).length;
    expect(count(afterNotices, 'drained')).toBe(budget);
    expect(count(afterNotices, 'waiting')).toBe(nodeCount - budget);
    expect(mostCordoned).toBe(budget);

    // Act 2: a Spot warning for the waiting node whose change starts last.
    const last = [...nodes.keys()].filter((n) => afterNotices.get(n) === 'waiting').at(-1)!;
    const spotted = await app.handle(
      sampleEvent('spot-interruption', { instanceId: nodes.get(last)!.instanceId }),
      lambdaContext(`spot-${randomUUID()}`),
    );

    // Assess 2: drained at once, over the budget (a hard deadline never waits, but counts).
    expect(spotted.notices[0]).toMatchObject({ action: 'drain', status: 'done' });
    const afterSpot = await states();
    expect(afterSpot.get(last)).toBe('drained');
    expect(count(afterSpot, 'drained')).toBe(budget + 1);

    // Act 3: each maintenance retires its drained nodes; the next reconcile gives their places on.
    const order: string[][] = [];
    await retire([...(await states())].filter(([, s]) => s === 'drained').map(([n]) => n));
    const turns = cordonWatch();
    for (let pass = 0; pass < nodeCount && nodes.size > 0; pass++) {
      const report = await app.handle(
        reconcileEvent(bed.info.region),
        lambdaContext(`reconcile-${randomUUID()}`),
      );
      expect(report.status).toBe('reconciled');
      const drained = [...(await states())].filter(([, s]) => s === 'drained').map(([n]) => n);
      order.push(drained);
      await retire(drained);
    }

    // Assess 3: never more than 3 cordoned; every node drained, 3 per pass, the earliest starts first.
    expect(await turns.stop()).toBeLessThanOrEqual(budget);
    expect(nodes.size).toBe(0);
    // 26 left after the first three and the Spot one: eight passes of three, then the last two.
    expect(order.map((batch) => batch.length)).toEqual([...Array.from({ length: 8 }, () => budget), 2]);
    const starts = order.map((batch) => batch.map((name) => startOf(name)));
    for (let i = 1; i < starts.length; i++) {
      expect(Math.max(...starts[i - 1]!)).toBeLessThan(Math.min(...starts[i]!));
    }
  }, 300_000);
});

function startOf(name: string): number {
  return started.get(name)!;
}
