import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import { type ClusterReconcileReport, reconcileAll } from '../../src/app/reconcile-all.js';
import { startAwsFaultProxy } from '../../test/bed/aws-fault-proxy.js';
import { countByCode, countByKind, selectRequests } from '../audit.js';
import { type ProfileSummary, profiled } from '../cpu-profile.js';
import { isLambdaUser, useLambdaEnvironment } from '../lambda.js';
import { markedStates, prepareReconcileWorld, removeReconcileWorld } from '../reconcile-world.js';
import { formatMs } from '../stats.js';
import { type BenchContext, row, type Scenario } from '../types.js';

/** What one pass over a world of `nodes` marked nodes cost. */
interface ReconcilePass {
  nodes: number;
  setupMs: number;
  load: number;
  wallMs: number;
  /** The reconcile's own requests (the Lambda's identity in the audit log), by kind and by status. */
  kube: { total: number; byKind: [string, number][]; byStatus: Record<number, number> };
  /** AWS calls through the counting proxy in front of moto, by operation. */
  aws: { total: number; byOperation: [string, number][] };
  /** Heap and resident set above what the process held before the pass (after a collection). */
  peakHeapBytes: number;
  peakRssBytes: number;
  /** What the pass decided, by step, and how many nodes it reported an error for. */
  steps: Record<string, number>;
  errors: number;
  /** The same pass again under the sampling profiler. */
  profile: ProfileSummary;
  profiledWallMs: number;
}

const targetMs = 10_000;

/**
 * Scenario 7: the schedule's reconcile over 200 and 1 000 marked nodes in mixed states, as the Lambda
 * runs it (reconcileAll on createLambdaApp's deps, as the schedule event does: the drainer's EKS
 * token, EC2 through the app's instance-state source, the disruption budget at its default 10%).
 */
export const reconcileScenario: Scenario = {
  name: 'reconcile',
  title: 'Reconcile at scale: one pass over 200 and 1 000 marked nodes',
  needsTestBed: true,
  async run(context) {
    const sizes = context.quick ? [20, 100] : [200, 1_000];
    const passes: ReconcilePass[] = [];
    for (const size of sizes) passes.push(await measure(context, size));
    return { rows: passes.map(passRow), details: passDetails(passes) };
  },
};

async function measure(context: BenchContext, size: number): Promise<ReconcilePass> {
  const { bed, admin, audit, log } = context;
  const world = await prepareReconcileWorld(admin, bed.info, size);
  log(`  ${size} marked nodes and instances ready in ${formatMs(world.setupMs)}`);
  const proxy = await startAwsFaultProxy(bed.info.awsEndpoint);
  const restore = useLambdaEnvironment(bed.info);
  Object.assign(process.env, { AWS_ENDPOINT_URL: proxy.endpoint, MAX_VOLUNTARY_DISRUPTIONS: '10%' });
  try {
    const pass = () =>
      reconcileAll(createLambdaApp(process.env).deps, {
        id: `bench-reconcile-${randomUUID()}`,
        deadline: Date.now() + 600_000,
      });
    const load = loadavg()[0]!;
    collectGarbage();
    const memory = sampleMemory();
    await audit.skip();
    const from = Date.now();
    const reports = await pass();
    const to = Date.now();
    const peak = memory.stop();
    const awsCalls = proxy.calls.splice(0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const own = selectRequests(await audit.readNew(), { from, to: to + 1 }).filter((r) =>
      isLambdaUser(r.user),
    );
    const profiledStarted = Date.now();
    const { profile } = await profiled(pass);
    const profiledWallMs = Date.now() - profiledStarted;
    const nodes = reports.flatMap((r: ClusterReconcileReport) => r.nodes);
    const failed = reports.filter((r) => r.error).map((r) => r.error);
    if (failed.length > 0) throw new Error(`the reconcile failed: ${failed.join('; ')}`);
    const pass1: ReconcilePass = {
      nodes: nodes.length,
      setupMs: world.setupMs,
      load,
      wallMs: to - from,
      kube: { total: own.length, byKind: countByKind(own), byStatus: countByCode(own) },
      aws: { total: awsCalls.length, byOperation: countBy(awsCalls.map((c) => c.operation)) },
      peakHeapBytes: peak.heap,
      peakRssBytes: peak.rss,
      steps: Object.fromEntries(countBy(nodes.map((n) => n.step))),
      errors: nodes.filter((n) => n.error).length,
      profile,
      profiledWallMs,
    };
    log(
      `  reconcile of ${pass1.nodes} nodes: ${formatMs(pass1.wallMs)}, ${pass1.kube.total} Kubernetes and ${pass1.aws.total} AWS requests, heap +${mib(pass1.peakHeapBytes)}`,
    );
    return pass1;
  } finally {
    restore();
    await proxy.stop();
    await removeReconcileWorld(admin, world);
  }
}

function passRow(pass: ReconcilePass) {
  const { nodes } = pass;
  const describe = pass.aws.byOperation.find(([op]) => op === 'DescribeInstances')?.[1] ?? 0;
  const batches = Math.ceil(nodes / 200);
  // Two paged lists of 500 (the marked nodes, the budget's count of the cluster), a few fixed ones.
  const kubeBound = 2 * Math.ceil(nodes / 500) + 8;
  const met =
    pass.wallMs <= targetMs && describe <= batches && pass.kube.total <= kubeBound && pass.errors === 0;
  return row(`7. Reconcile pass, ${nodes} marked nodes: wall / Kubernetes / AWS requests / peak heap`, {
    ours: `${formatMs(pass.wallMs)} / ${pass.kube.total} / ${pass.aws.total} (DescribeInstances ${describe}) / +${mib(pass.peakHeapBytes)}`,
    target: `≤ 10 s; O(batches): Kubernetes ≤ ${kubeBound}, DescribeInstances ≤ ${batches}`,
    met,
  });
}

function passDetails(passes: readonly ReconcilePass[]): string[] {
  const line = (measure: string, value: (p: ReconcilePass) => string) =>
    `| ${measure} | ${passes.map(value).join(' | ')} |`;
  const list = (entries: readonly [string, number][]) => entries.map(([k, v]) => `${v} ${k}`).join(', ');
  const ms = (entries: readonly [string, number][]) =>
    entries.map(([k, v]) => `${k} ${formatMs(v)}`).join('; ');
  return [
    '## Reconcile at scale (scenario 7)',
    '',
    `Marked KWOK nodes in equal parts ${markedStates.join(', ')}, each with a Spot instance in moto`,
    '(RunInstances in batches of 200; the out-of-service ones stopped, the drained ones terminated) and a',
    "record written with the door's own patch (marks.ts writePatch), each state kept by its reason: a",
    'steady pass moves none of them on. One pass as the schedule runs it: reconcileAll on a fresh',
    "createLambdaApp's deps (EKS token through the webhook, DescribeCluster, the disruption budget at",
    "10%). Kubernetes requests: the Lambda identity's in the audit log; AWS calls: a counting proxy",
    '(test/bed/aws-fault-proxy.ts) in front of moto. Memory: the most the heap and resident set rose',
    'above their level after a collection, sampled every 10 ms in the bench process. Then the same pass',
    "again under V8's sampling profiler (what `node --cpu-prof` records), self time summed.",
    '',
    `| measure | ${passes.map((p) => `${p.nodes} nodes`).join(' | ')} |`,
    `|---|${passes.map(() => '---').join('|')}|`,
    line('wall time of the pass', (p) => formatMs(p.wallMs)),
    line('Kubernetes requests (by kind)', (p) => `${p.kube.total}: ${list(p.kube.byKind)}`),
    line('Kubernetes requests by status', (p) => JSON.stringify(p.kube.byStatus)),
    line('AWS calls (by operation)', (p) => `${p.aws.total}: ${list(p.aws.byOperation)}`),
    line('peak heap / RSS above the start', (p) => `${mib(p.peakHeapBytes)} / ${mib(p.peakRssBytes)}`),
    line('steps decided', (p) => JSON.stringify(p.steps)),
    line('nodes with an error', (p) => String(p.errors)),
    line(
      'profiled pass: wall / sampled',
      (p) => `${formatMs(p.profiledWallMs)} / ${formatMs(p.profile.totalMs)}`,
    ),
    line('profiled pass: self time by origin', (p) => ms(p.profile.byOrigin)),
    line('profiled pass: top functions by self time', (p) => ms(p.profile.byFunction.slice(0, 8))),
    line('world set up in (not measured)', (p) => formatMs(p.setupMs)),
    line('load average (1 min) at the start', (p) => p.load.toFixed(2)),
    '',
  ];
}

function countBy(keys: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** A full collection, so the pass's memory is measured from the process's floor. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The highest heap and RSS above their level now, sampled every 10 ms until stopped. */
function sampleMemory(): { stop(): { heap: number; rss: number } } {
  const start = process.memoryUsage();
  let heap = 0;
  let rss = 0;
  const sample = () => {
    const now = process.memoryUsage();
    heap = Math.max(heap, now.heapUsed - start.heapUsed);
    rss = Math.max(rss, now.rss - start.rss);
  };
  const timer = setInterval(sample, 10);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { heap, rss };
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}
