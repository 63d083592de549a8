import { randomUUID } from 'node:crypto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type * as k8s from '@kubernetes/client-node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EventReport } from '../../src/app/handle-event.js';
import { createLambdaApp, type LambdaApp } from '../../src/app/lambda-app.js';
import { parseEvent } from '../../src/events/parse-event.js';
import { sampleEvent } from '../../src/events/samples.js';
import { recordAnnotation, recordOn } from '../../src/interruption/record.js';
import { adminClients, uniqueSuffix, waitFor } from '../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../bed/lambda.js';
import { captureOutput } from './capture-output.js';
import { ghostInstanceIds, hostileEvent } from './hostile-events.js';
import { measured, unexplainedMarks } from './invariants.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const pool = `hostile-${uniqueSuffix()}`;
const seed = 20_251_124;
/** Generated events; those the parser would act on for a real node are left out, the rest (> 10 000) sent. */
const runs = 11_500;
/** Real instances, each with a node: invalid events name them and must leave them alone. */
let realIds: string[] = [];
let realNodes: string[] = [];
/** Well-formed ids that EC2 (moto) does not know: valid-shaped events about them change nothing. */
const ghostIds = ghostInstanceIds(seed, 200);

beforeAll(async () => {
  Object.assign(process.env, lambdaEnv(bed));
  for (let i = 0; i < 3; i++) {
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    realIds.push(instance.instanceId);
    realNodes.push(node.name);
  }
  // The node controller finishes with a new node (not-ready taint off, beta labels on) a moment after
  // it is Ready: wait for that, so any later change of resourceVersion is someone's doing.
  await waitFor('the real nodes settled', async () => {
    const nodes = await Promise.all(realNodes.map((name) => admin.core.readNode({ name })));
    return nodes.every(
      (n) =>
        !n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready') &&
        n.metadata?.labels?.['beta.kubernetes.io/arch'] !== undefined,
    );
  });
});
afterAll(async () => {
  process.env = saved;
  expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
  realIds = [];
  realNodes = [];
});

/** Whether the parser would act on the event for one of the real instances (then it may drain it, or look at its node). */
function targetsRealNode(event: unknown): boolean {
  const parsed = parseEvent(event);
  if (parsed.status === 'running' || parsed.status === 'launch') return realIds.includes(parsed.instanceId);
  return parsed.status === 'notices' && parsed.notices.some((n) => realIds.includes(n.instanceId));
}

describe('hostile input through the whole handler', () => {
  it('survives more than 10 000 generated events without an unhandled error, touching no node', async () => {
    // Prepare: a warm container whose cluster access and Auto Scaling calls are counted.
    const app: LambdaApp = createLambdaApp(lambdaEnv(bed));
    const connects: string[] = [];
    const access = app.deps.access;
    app.deps.access = {
      connect: (name, options) => {
        connects.push(name);
        return access.connect(name, options);
      },
    };
    let autoScalingCalls = 0;
    app.deps.autoScaling = async () =>
      ({
        send: async () => {
          autoScalingCalls++;
          throw new Error('no Auto Scaling call may be made for these events');
        },
      }) as unknown as AutoScalingClient;
    const before = await admin.core.listNode();
    const realBefore = new Map(
      realNodes.map((name) => [name, rv(before.items.find((n) => n.metadata?.name === name))]),
    );
    const requestIds = new Set<string>();
    const shapes: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    const noticeStatuses: Record<string, number> = {};
    let skippedAsValidForRealNode = 0;
    let thrown = 0;
    const firstThrown: string[] = [];
    let unhandled = 0;
    const onUnhandled = () => {
      unhandled++;
    };
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    const output = captureOutput({ passThrough: false });
    const started = Date.now();

    // Act
    try {
      await fc.assert(
        fc.asyncProperty(hostileEvent(realIds, ghostIds), async ({ shape, event }) => {
          if (targetsRealNode(event)) {
            skippedAsValidForRealNode++;
            return;
          }
          shapes[shape] = (shapes[shape] ?? 0) + 1;
          const id = `hostile-${randomUUID()}`;
          requestIds.add(id);
          let report: EventReport;
          try {
            report = await app.handle(event, lambdaContext(id));
          } catch (error) {
            thrown++;
            if (firstThrown.length < 3) firstThrown.push(`${shape}: ${String(error).slice(0, 300)}`);
            return;
          }
          statuses[report.status] = (statuses[report.status] ?? 0) + 1;
          for (const notice of report.notices) {
            const key = notice.status === 'skipped' ? `skipped:${notice.reason}` : notice.status;
            noticeStatuses[key] = (noticeStatuses[key] ?? 0) + 1;
          }
        }),
        { numRuns: runs, seed, endOnFailure: true },
      );
    } finally {
      output.stop();
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUnhandled);
    }
    const tookMs = Date.now() - started;

    // Assess
    const after = await admin.core.listNode();
    const changedReal = realNodes.filter(
      (name) => rv(after.items.find((n) => n.metadata?.name === name)) !== realBefore.get(name),
    );
    // Other test files drain their own nodes meanwhile; none of the changes may be ours.
    const leasedByUs = after.items
      .filter((n) => requestIds.has(recordOn(n)?.holder ?? ''))
      .map((n) => n.metadata?.name);
    const events = await admin.core.listNamespacedEvent({ namespace: 'default' });
    const eventsByUs = events.items.filter((e) => requestIds.has(e.reportingInstance ?? ''));
    const logLines = output.jsonLines;
    const errorLines = logLines.filter((l) => l.level === 'ERROR');
    const forged = logLines.filter((l) => l.message === 'forged log line');
    measured('hostile input', {
      events: requestIds.size,
      seed,
      tookMs,
      shapes,
      statuses,
      noticeStatuses,
      skippedAsValidForRealNode,
      thrown,
      firstThrown,
      unhandled,
      kubeConnections: connects.length,
      autoScalingCalls,
      realNodesChanged: changedReal.map((name) => diffNode(before.items, after.items, name)),
      nodesLeasedByUs: leasedByUs.length,
      nodeEventsByUs: eventsByUs.length,
      logLines: logLines.length,
      errorLogLines: errorLines.length,
    });
    expect(requestIds.size).toBeGreaterThanOrEqual(10_000);
    expect(thrown).toBe(0);
    expect(unhandled).toBe(0);
    expect(errorLines).toEqual([]);
    expect(forged).toEqual([]);
    expect(connects).toEqual([]);
    expect(autoScalingCalls).toBe(0);
    expect(changedReal).toEqual([]);
    expect(leasedByUs).toEqual([]);
    expect(eventsByUs).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const name of realNodes) {
      const node = after.items.find((n) => n.metadata?.name === name);
      expect(node?.spec?.unschedulable).toBeFalsy();
      expect(node?.metadata?.annotations?.[recordAnnotation]).toBeUndefined();
    }

    // And the container still works: a real notice for a real node is acted on.
    const report = await app.handle(
      sampleEvent('rebalance-recommendation', { instanceId: realIds[0]! }),
      lambdaContext(`hostile-after-${randomUUID()}`),
    );
    const notice = report.notices[0];
    expect(notice?.status === 'done' && notice.result.outcome).toBe('cordoned');
  });
});

function rv(node: { metadata?: { resourceVersion?: string } } | undefined): string | undefined {
  return node?.metadata?.resourceVersion;
}

function diffNode(before: k8s.V1Node[], after: k8s.V1Node[], name: string): string {
  const [a, b] = [before, after].map((list) => list.find((n) => n.metadata?.name === name));
  return JSON.stringify({ before: a, after: b });
}
