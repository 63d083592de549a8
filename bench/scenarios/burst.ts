import { loadavg } from 'node:os';
import type { EventReport } from '../../src/app/handle-event.js';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import { sampleEvent } from '../../src/events/samples.js';
import { readApiServerMetrics } from '../../test/bed/apiserver-metrics.js';
import type { SpotNode } from '../../test/bed/kube.js';
import { countByCode, selectRequests } from '../audit.js';
import { type BurstRound, type BurstRun, burstDetails, burstRows, type NodeDrain } from '../burst-report.js';
import { podsLeftOn, prepareBurstWorld, removeBurstWorld } from '../burst-world.js';
import { cpuTimes, cpuUsed } from '../cpu.js';
import { drainIdeal } from '../ideal-drain.js';
import { kubectlDrain } from '../kubectl.js';
import { isLambdaUser, useLambdaEnvironment } from '../lambda.js';
import { flowControlDelta, laneName, removeLane, restoreLane } from '../lane.js';
import { formatMs, sum as sumOf } from '../stats.js';
import type { BenchContext, Scenario } from '../types.js';
import { lambdaContext, sleep } from '../world.js';

/**
 * With the lane first, the pair the targets compare; then without it, for the lane's effect. Each
 * round drains a fresh world of its own (built, settled, drained, removed).
 */
const rounds: BurstRound[] = [
  { tool: 'ours', lane: true },
  { tool: 'kubectl', lane: true },
  // The floor the two are measured against, in the same run (a noisy machine moves all three alike).
  { tool: 'ideal', lane: true },
  { tool: 'ours', lane: false },
  { tool: 'kubectl', lane: false },
];

/**
 * A new world's controllers are still writing Events about thousands of new pods for a few
 * seconds; a burst started at once would pay for them.
 */
const burstSettleMs = 5_000;

/**
 * Scenario 6: N nodes of P pods each interrupted at once. Ours: N concurrent handle() calls in this
 * one process, each on its own app (createLambdaApp), as N fresh Lambda containers would be (own
 * caches, own token, own connection pool). The anchor: N `kubectl drain` processes at once, what a
 * per-node handler runs. Both as the drainer group, with and without deploy/flowcontrol.yaml. The
 * floor: an ideal client (ideal-drain.ts) with the lane, in the same run.
 */
export const burstScenario: Scenario = {
  name: 'burst',
  title: 'Burst: many nodes interrupted at once, ours and parallel kubectl drains',
  needsTestBed: true,
  async run(context) {
    const nodeCount = context.quick ? 5 : context.burstNodes;
    const podsPerNode = context.quick ? 10 : 30;
    const runs: BurstRun[] = [];
    try {
      for (const round of rounds) {
        if (!round.lane) await removeLane(context.bed.info.cluster);
        runs.push(await runRound(context, round, nodeCount, podsPerNode));
        if (!round.lane) await restoreLane(context.bed.info.cluster);
      }
    } finally {
      await restoreLane(context.bed.info.cluster).catch((error: unknown) =>
        context.log(`  could not restore ${laneName}: ${String(error)}`),
      );
    }
    return {
      rows: burstRows(runs, nodeCount, podsPerNode),
      details: burstDetails(runs, nodeCount, podsPerNode),
    };
  },
};

async function runRound(
  context: BenchContext,
  round: BurstRound,
  nodeCount: number,
  podsPerNode: number,
): Promise<BurstRun> {
  const { log } = context;
  const cluster = context.bed.info.cluster;
  const world = await prepareBurstWorld(context, nodeCount, podsPerNode);
  try {
    log(
      `  ${round.tool}, ${round.lane ? 'with' : 'without'} the lane: ${nodeCount} nodes, ${world.pods} pods, ${world.spares.length} spares ready in ${formatMs(world.setupMs)}`,
    );
    await sleep(burstSettleMs);
    const load = loadavg()[0]!;
    const before = await readApiServerMetrics(cluster);
    await context.audit.skip();
    const cpuBefore = await cpuTimes(context.bed.controlPlane.dataDir);
    const from = Date.now();
    const drains =
      round.tool === 'ours'
        ? await drainWithFunction(context, world.nodes)
        : round.tool === 'kubectl'
          ? await drainWithKubectl(context, world.nodes)
          : await drainIdeal(context, world);
    const to = Date.now();
    const cpu = cpuUsed(cpuBefore, await cpuTimes(context.bed.controlPlane.dataDir));
    if (round.tool === 'kubectl')
      cpu.push(['kubectl processes', sumOf(drains.map((d) => d.cpuMs ?? 0)) / 1000]);
    const after = await readApiServerMetrics(cluster);
    const podsLeft = await podsLeftOn(context, world);
    // The audit log is written as requests complete; give the last ones time to land.
    await sleep(1_500);
    const window = selectRequests(await context.audit.readNew(), { from, to: to + 1 });
    const own = window.filter((r) =>
      round.tool === 'ours' ? isLambdaUser(r.user) : r.user === context.drainerUser,
    );
    const run: BurstRun = {
      round,
      load,
      pods: world.pods,
      drains,
      podsLeft,
      requests: own.length,
      answered429: own.filter((r) => r.code === 429).length,
      allRequests: window.length,
      byStatus: countByCode(own),
      cpu,
      wallMs: to - from,
      flow: flowControlDelta(before, after, round.lane ? laneName : 'global-default'),
    };
    const last = Math.max(...drains.map((d) => d.finishedMs));
    log(
      `  all drained in ${formatMs(last)}, ${drains.filter((d) => !d.ok).length} errors, ${podsLeft} pods left, ${run.answered429} of ${run.requests} requests answered 429`,
    );
    return run;
  } finally {
    await removeBurstWorld(context, world);
  }
}

/** N invocations at once, each on its own app, as N Lambda containers. */
async function drainWithFunction(context: BenchContext, nodes: SpotNode[]): Promise<NodeDrain[]> {
  const restore = useLambdaEnvironment(context.bed.info);
  try {
    const apps = nodes.map(() => createLambdaApp(process.env));
    const started = performance.now();
    return await Promise.all(
      apps.map((app, i) =>
        app
          .handle(
            sampleEvent('spot-interruption', { instanceId: nodes[i]!.instanceId }),
            lambdaContext(`burst-${i}`),
          )
          .then(
            (report: EventReport) => {
              const outcome = outcomeOf(report);
              return {
                node: nodes[i]!.name,
                finishedMs: performance.now() - started,
                ok: outcome === 'drained',
                detail: outcome,
              };
            },
            (error: unknown) => ({
              node: nodes[i]!.name,
              finishedMs: performance.now() - started,
              ok: false,
              detail: String((error as Error).message).slice(0, 200),
            }),
          ),
      ),
    );
  } finally {
    restore();
  }
}

/** N `kubectl drain` processes at once: what a per-node handler (a script, a DaemonSet) runs. */
async function drainWithKubectl(context: BenchContext, nodes: SpotNode[]): Promise<NodeDrain[]> {
  const started = performance.now();
  return Promise.all(
    nodes.map((node) =>
      kubectlDrain(context.kubectl, node.name).then((run) => ({
        node: node.name,
        finishedMs: performance.now() - started,
        ok: run.exitCode === 0,
        detail: run.exitCode === 0 ? 'drained' : run.stderrTail.slice(-200),
        throttledWaits: run.throttledWaits,
        cpuMs: run.cpuMs,
      })),
    ),
  );
}

function outcomeOf(report: EventReport): string {
  const notice = report.notices[0];
  if (!notice) return report.status;
  return notice.status === 'done' ? notice.result.outcome : notice.status;
}
