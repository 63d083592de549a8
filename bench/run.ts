/**
 * `npm run bench [-- --quick] [-- --only bundle,drain,cordon,cold-start,reconcile,burst] [-- --nodes 100] [-- --out file]`: our
 * drain side by side with `kubectl drain` on one local control plane (the test bed's), plus the Lambda
 * path's latency, cold start, a reconcile pass over many marked nodes and a burst. Prints the table; a full run writes bench/RESULTS.md.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { controlPlaneBinaries } from '../test/bed/control-plane.js';
import { adminClients, kubeConfigFor } from '../test/bed/kube.js';
import { startTestBed, type TestBed } from '../test/bed/testbed.js';
import { AuditLog } from './audit.js';
import { grantKubectlDrain, kubectlIn, primeKubectl } from './kubectl.js';
import { describeMachine, markdownTable, resultsMarkdown, textTable } from './report.js';
import { bundleScenario } from './scenarios/bundle.js';
import { burstScenario } from './scenarios/burst.js';
import { coldStartScenario } from './scenarios/cold-start.js';
import { cordonScenario } from './scenarios/cordon.js';
import { drainScenario } from './scenarios/drain.js';
import { reconcileScenario } from './scenarios/reconcile.js';
import {
  type BenchContext,
  type ResultRow,
  type RunContext,
  row,
  type Scenario,
  type ScenarioReport,
  type StandaloneScenario,
} from './types.js';
import { whoAmI } from './world.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
/** In this order: the scenarios without a cluster first, the burst (the heaviest) last. */
const scenarios: (Scenario | StandaloneScenario)[] = [
  bundleScenario,
  drainScenario,
  cordonScenario,
  coldStartScenario,
  reconcileScenario,
  burstScenario,
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      nodes: { type: 'string', default: '100' },
    },
  });
  const burstNodes = Number(values.nodes);
  if (!Number.isInteger(burstNodes) || burstNodes < 1) {
    console.error(`--nodes must be a whole number of nodes, got "${values.nodes}"`);
    return 2;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((name) => !scenarios.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(
      `unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`,
    );
    return 2;
  }
  const chosen = scenarios.filter((s) => !only || only.includes(s.name));
  // A partial run must not replace the full results.
  const out = values.out ?? (values.quick || only ? undefined : join(benchDir, 'RESULTS.md'));
  const started = Date.now();
  const log = (line: string) =>
    console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  const tmpDir = await mkdtemp(join(tmpdir(), 'eks-spot-drainer-bench-'));
  const base: RunContext = { quick: values.quick ?? false, burstNodes, tmpDir, log };
  const rows: ResultRow[] = [];
  const details: string[] = [];
  let failures = 0;
  const runScenario = async <C extends RunContext>(
    scenario: { name: string; title: string; run(context: C): Promise<ScenarioReport> },
    context: C,
  ) => {
    log(`scenario ${scenario.name}: ${scenario.title}`);
    const scenarioStarted = Date.now();
    try {
      const report = await scenario.run(context);
      rows.push(...report.rows);
      details.push(...report.details);
    } catch (error) {
      failures++;
      log(`scenario ${scenario.name} failed: ${(error as Error).stack ?? String(error)}`);
      rows.push(row(`${scenario.name}: FAILED`, { ours: String((error as Error).message).slice(0, 80) }));
    }
    log(`scenario ${scenario.name} took ${((Date.now() - scenarioStarted) / 1000).toFixed(0)} s`);
  };

  let bed: TestBed | undefined;
  try {
    const machine = await describeMachine(await controlPlaneBinaries());
    for (const scenario of chosen) if (!scenario.needsTestBed) await runScenario(scenario, base);
    const onBed = chosen.filter((s): s is Scenario => s.needsTestBed);
    if (onBed.length > 0) {
      log('starting the test bed (moto, authenticator, control plane with audit log)');
      bed = await startTestBed({ auditLog: true, log });
      const context = await benchContext(bed, base);
      for (const scenario of onBed) await runScenario(scenario, context);
    }

    console.log(textTable(rows));
    if (out) {
      const findingsPath = join(benchDir, 'FINDINGS.md');
      const findings = existsSync(findingsPath) ? await readFile(findingsPath, 'utf8') : '';
      const flags = [
        values.quick ? '--quick' : '',
        only ? `--only ${only.join(',')}` : '',
        burstNodes !== 100 ? `--nodes ${burstNodes}` : '',
      ].filter(Boolean);
      const command = `npm run bench${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}`;
      await writeFile(
        out,
        resultsMarkdown({ machine, command, totalMs: Date.now() - started, rows, details, findings }),
      );
      log(`wrote ${relative(process.cwd(), out)}`);
    } else {
      console.log(`\n${markdownTable(rows)}`);
    }
  } finally {
    if (bed) {
      log('stopping the test bed');
      await bed.stop();
    }
    await rm(tmpDir, { recursive: true, force: true });
  }
  log(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  return failures > 0 ? 1 : 0;
}

/** Clients, audit log reader and a primed kubectl for the scenarios on the test bed. */
async function benchContext(bed: TestBed, base: RunContext): Promise<BenchContext> {
  const auditLogPath = bed.controlPlane.auditLogPath;
  if (!auditLogPath) throw new Error('the control plane was started without an audit log');
  const kubectl = kubectlIn(
    bed.controlPlane.binDir,
    bed.info.cluster.kubeconfigPaths.drainer,
    join(base.tmpDir, 'kube-cache'),
  );
  await primeKubectl(kubectl);
  const admin = adminClients(bed.info.cluster);
  const drainerUser = await whoAmI(kubeConfigFor(bed.info.cluster, 'drainer'));
  await grantKubectlDrain(admin, drainerUser);
  return { ...base, bed, admin, audit: new AuditLog(auditLogPath), kubectl, drainerUser };
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
