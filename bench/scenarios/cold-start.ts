import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sampleEvent } from '../../src/events/samples.js';
import { uniqueSuffix } from '../../test/bed/kube.js';
import { buildHandlerBundle } from '../bundle.js';
import { lambdaProcessEnv, runNode } from '../node-process.js';
import { formatMs, median, spread } from '../stats.js';
import { row, type Scenario } from '../types.js';
import { instanceWithNode, lambdaEnv, settleMs, sleep } from '../world.js';

/** Imports the bundled handler in a fresh process, handles a first event (cold), then a second (warm). */
const invokeScript = `
const started = performance.now();
const { handler } = await import(process.env.BENCH_BUNDLE);
const loaded = performance.now();
const times = [];
const outcomes = [];
for (const [i, event] of JSON.parse(process.env.BENCH_EVENTS).entries()) {
  const end = Date.now() + 600000;
  const before = performance.now();
  const summary = await handler(event, {
    awsRequestId: 'bench-cold-' + i,
    functionName: 'eks-spot-drainer-bench-interruption',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:eks-spot-drainer-bench-interruption',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => end - Date.now(),
  });
  times.push(performance.now() - before);
  outcomes.push(summary.notices?.[0]?.outcome ?? summary.status);
}
process.stdout.write('\\nBENCH_RESULT ' + JSON.stringify({ importMs: loaded - started, times, outcomes }) + '\\n');
process.exit(0);
`;

/** Scenario 5c: the bundled handler's first invocation in a fresh process, every cache empty. */
export const coldStartScenario: Scenario = {
  name: 'cold-start',
  title: 'Cold start: first invocation of the bundled handler, empty caches',
  needsTestBed: true,
  async run(context) {
    const { admin, bed, log } = context;
    const bundle = await buildHandlerBundle(join(context.tmpDir, 'cold-start-bundle'));
    const script = join(context.tmpDir, 'invoke-bundle.mjs');
    await writeFile(script, invokeScript);
    // As deployed: serverless.yml's NODE_OPTIONS, logs and EMF metrics on stdout (read and dropped).
    const env = lambdaProcessEnv({ ...lambdaEnv(bed.info), NODE_OPTIONS: bundle.nodeOptions });
    const invocations = context.quick ? 2 : 5;
    const nodes: string[] = [];
    const runs: { importMs: number; times: number[]; outcomes: string[]; wallMs: number }[] = [];
    try {
      const pool = `bench-cold-${uniqueSuffix()}`;
      for (let i = 0; i < invocations; i++) {
        const first = await instanceWithNode(admin, bed.info, { pool });
        const second = await instanceWithNode(admin, bed.info, { pool });
        nodes.push(first.name, second.name);
        await sleep(settleMs / 2);
        const events = [first, second].map((n) =>
          sampleEvent('spot-interruption', { instanceId: n.instanceId }),
        );
        const run = await runNode([script], {
          ...env,
          BENCH_BUNDLE: bundle.path,
          BENCH_EVENTS: JSON.stringify(events),
        });
        const line = run.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
        if (!line) throw new Error(`the bundled handler printed no result: ${run.stdout.slice(-1000)}`);
        const result = JSON.parse(line.slice('BENCH_RESULT '.length));
        runs.push({ ...result, wallMs: run.wallMs });
        log(
          `  cold invocation #${i + 1}: first ${formatMs(result.times[0])}, second ${formatMs(result.times[1])}`,
        );
      }
    } finally {
      await Promise.all(nodes.map((name) => admin.core.deleteNode({ name }).catch(() => undefined)));
    }
    const firstMs = runs.map((r) => r.times[0]!);
    const coldMs = runs.map((r) => r.importMs + r.times[0]!);
    const notDrained = runs.flatMap((r) => r.outcomes).filter((o) => o !== 'drained');
    return {
      rows: [
        row('5c. First invocation, empty caches (empty node)', {
          ours: formatMs(median(firstMs)),
          ...(notDrained.length > 0 ? { target: 'drained', met: false } : {}),
        }),
        row('5d. Module load + first invocation, as deployed (same process)', {
          ours: formatMs(median(coldMs)),
          target: '≤ 250 ms',
          met: median(coldMs) <= 250 && notDrained.length === 0,
        }),
      ],
      details: [
        '## First invocation (scenario 5c)',
        '',
        'A fresh `node` process imports the bundle (as Lambda does at init) and handles a Spot interruption',
        'for an empty node with every cache empty: DescribeInstances and DescribeCluster on moto, an EKS token,',
        'TLS to the API server, the token checked by the authenticator webhook (which replays it to moto STS),',
        "node lookup, the node's record, drain; then a second event in the same process for another instance.",
        `NODE_OPTIONS as deployed: "${bundle.nodeOptions}".`,
        '',
        '| measure | median (min–max) |',
        '|---|---|',
        `| import, measured inside the process (control plane running) | ${spread(runs.map((r) => r.importMs))} |`,
        `| first handle() | ${spread(firstMs)} |`,
        `| import + first handle(), per process | ${spread(coldMs)} |`,
        `| second handle() in the same process (new instance; warm caches) | ${spread(runs.map((r) => r.times[1]!))} |`,
        `| whole process: spawn, import, two invocations | ${spread(runs.map((r) => r.wallMs))} |`,
        ...(notDrained.length > 0 ? ['', `**Not drained:** ${notDrained.join(', ')}`] : []),
        '',
      ],
    };
  },
};
