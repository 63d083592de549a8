import { request } from 'node:https';
import type { EventReport } from '../../src/app/handle-event.js';
import { createLambdaApp, type LambdaApp } from '../../src/app/lambda-app.js';
import { sampleEvent } from '../../src/events/samples.js';
import {
  createNamespace,
  createSpotNode,
  type SpotNode,
  uniqueSuffix,
  waitFor,
} from '../../test/bed/kube.js';
import { countByCode, selectRequests } from '../audit.js';
import { isLambdaUser, useLambdaEnvironment } from '../lambda.js';
import { formatMs, max, median, spread } from '../stats.js';
import { type BenchContext, row, type Scenario } from '../types.js';
import {
  benchPodShape,
  instanceWithNode,
  lambdaContext,
  removeWorld,
  settleMs,
  sleep,
  slotTemplate,
} from '../world.js';

interface Invocation {
  index: number;
  finishedMs: number;
  outcome: string;
  error?: string;
}

/**
 * Scenario 6: N nodes of P pods each interrupted at once, N concurrent handle() calls in this one
 * process, each on its own app (createLambdaApp), as N fresh Lambda containers would be: own caches,
 * own token, own connection pool.
 */
export const burstScenario: Scenario = {
  name: 'burst',
  title: 'Burst: many nodes interrupted at once',
  needsTestBed: true,
  async run(context) {
    const { admin, bed, log } = context;
    const nodeCount = context.quick ? 5 : 50;
    const podsPerNode = context.quick ? 10 : 30;
    const restore = useLambdaEnvironment(bed.info);
    const namespace = await createNamespace(admin.core, 'bench-burst');
    const created: SpotNode[] = [];
    try {
      const setupStarted = performance.now();
      const nodes = await createNodes(context, nodeCount, created);
      await Promise.all(
        nodes.map((_, i) =>
          admin.apps.createNamespacedDeployment({
            namespace,
            body: {
              metadata: { name: `slot-${i}` },
              spec: {
                replicas: podsPerNode,
                selector: { matchLabels: { app: `slot-${i}` } },
                template: slotTemplate(`slot-${i}`, slotLabel(i), { pool: 'unused', ...benchPodShape }),
                strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
              },
            },
          }),
        ),
      );
      const total = nodeCount * podsPerNode;
      await waitFor(
        `${total} burst pods ready`,
        async () => {
          const list = await admin.core.listNamespacedPod({ namespace });
          return (
            list.items.filter((p) =>
              p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
            ).length >= total
          );
        },
        600_000,
        1_000,
      );
      // Replacements need room once the evictions start: spares carry every slot's label.
      const spareLabels = Object.fromEntries(nodes.map((_, i) => [slotLabel(i), 'y']));
      const spareCount = Math.ceil(total / 200);
      created.push(
        ...(await Promise.all(
          Array.from({ length: spareCount }, () => createSpotNode(admin.core, { extraLabels: spareLabels })),
        )),
      );
      const setupMs = performance.now() - setupStarted;
      log(`  setup: ${nodeCount} nodes, ${total} pods, ${spareCount} spare nodes in ${formatMs(setupMs)}`);

      const apps: LambdaApp[] = nodes.map(() => createLambdaApp(process.env));
      await sleep(settleMs);
      const rejectedBefore = await flowControlRejections(context);
      await context.audit.skip();
      const from = Date.now();
      const started = performance.now();
      const invocations: Invocation[] = await Promise.all(
        apps.map((app, index) =>
          app
            .handle(
              sampleEvent('spot-interruption', { instanceId: nodes[index]!.instanceId }),
              lambdaContext(`burst-${index}`),
            )
            .then(
              (report: EventReport) => ({
                index,
                finishedMs: performance.now() - started,
                outcome: outcomeOf(report),
              }),
              (error: unknown) => ({
                index,
                finishedMs: performance.now() - started,
                outcome: 'error',
                error: (error as Error).message,
              }),
            ),
        ),
      );
      const allDoneMs = max(invocations.map((i) => i.finishedMs));
      const to = Date.now();
      const rejectedAfter = await flowControlRejections(context);
      await sleep(1_500);
      const records = await context.audit.readNew();
      const window = selectRequests(records, { from, to: to + 1 });
      const lambdaRequests = window.filter((r) => isLambdaUser(r.user));
      const throttled = window.filter((r) => r.code === 429);
      const refusedEvictions = lambdaRequests.filter(
        (r) => r.subresource === 'eviction' && r.code === 429,
      ).length;
      const errors = invocations.filter((i) => i.outcome !== 'drained');
      log(
        `  all ${nodeCount} drained in ${formatMs(allDoneMs)}, ${errors.length} errors, ${throttled.length} 429s`,
      );
      return {
        rows: [
          row(`6. Burst: ${nodeCount} nodes × ${podsPerNode} pods at once, all drained`, {
            ours: `${formatMs(allDoneMs)}, ${errors.length} errors`,
            target: '< 30 s, 0 errors',
            met: allDoneMs < 30_000 && errors.length === 0,
          }),
        ],
        details: [
          '## Burst (scenario 6)',
          '',
          `${nodeCount} KWOK nodes, each with ${podsPerNode} pods (one Deployment per node, pinned by a label the`,
          `${spareCount} spare nodes all carry, so replacements are scheduled and go Ready during the burst).`,
          `${nodeCount} concurrent handle() calls in one Node process, each on its own createLambdaApp() (its own`,
          'instance cache, endpoint cache, EKS token and connection pool, as separate containers), all resolving',
          'through moto and authenticating with EKS tokens through the webhook. One process on the same 2 cores',
          'as the control plane is harsher than Lambda, where each container has its own CPU.',
          '',
          '| measure | value |',
          '|---|---|',
          `| setup (excluded): nodes, ${total} pods Ready, spares | ${formatMs(setupMs)} |`,
          `| first / median / last invocation done | ${formatMs(Math.min(...invocations.map((i) => i.finishedMs)))} / ${formatMs(median(invocations.map((i) => i.finishedMs)))} / ${formatMs(allDoneMs)} |`,
          `| invocations not drained | ${errors.length}${errors.length > 0 ? `: ${errors.map((e) => `#${e.index} ${e.outcome}${e.error ? ` (${e.error.slice(0, 200)})` : ''}`).join('; ')}` : ''} |`,
          `| requests by the function (audit) | ${lambdaRequests.length} (${(lambdaRequests.length / total).toFixed(2)} per pod) |`,
          `| responses by status, function's requests | ${JSON.stringify(countByCode(lambdaRequests))} |`,
          `| 429 answers in the window, all clients (of which the function's evictions: ${refusedEvictions}; no budgets here) | ${throttled.length} |`,
          `| apiserver_flowcontrol_rejected_requests_total, increase | ${rejectedAfter - rejectedBefore} |`,
          `| invocation durations | ${spread(invocations.map((i) => i.finishedMs))} |`,
          '',
        ],
      };
    } finally {
      restore();
      await removeWorld(
        admin,
        namespace,
        created.map((n) => n.name),
      );
    }
  },
};

function slotLabel(i: number): string {
  return `bench-slot-${i}`;
}

function outcomeOf(report: EventReport): string {
  const notice = report.notices[0];
  if (!notice) return report.status;
  return notice.status === 'done' ? notice.result.outcome : notice.status;
}

/** Instances in moto and their nodes, ten at a time (moto is one Python process). */
async function createNodes(context: BenchContext, count: number, created: SpotNode[]): Promise<SpotNode[]> {
  const nodes: SpotNode[] = [];
  const pool = `bench-burst-${uniqueSuffix()}`;
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, (_, j) =>
        instanceWithNode(context.admin, context.bed.info, { pool, [slotLabel(i + j)]: 'y' }),
      ),
    );
    nodes.push(...batch);
    created.push(...batch);
  }
  return nodes;
}

/** The API server's count of requests refused by priority and fairness, read as admin from /metrics. */
async function flowControlRejections(context: BenchContext): Promise<number> {
  const cluster = context.bed.info.cluster;
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      `${cluster.server}/metrics`,
      {
        ca: Buffer.from(cluster.caData, 'base64'),
        headers: { Authorization: `Bearer ${cluster.tokens.admin}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
  return text
    .split('\n')
    .filter((line) => line.startsWith('apiserver_flowcontrol_rejected_requests_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
