import { join } from 'node:path';
import { buildHandlerBundle } from '../bundle.js';
import { lambdaProcessEnv, runNode } from '../node-process.js';
import { formatBytes, formatMs, median, spread } from '../stats.js';
import { row, type StandaloneScenario } from '../types.js';

/**
 * Scenario 5a/5b: the bundle serverless.yml builds, its size and its module load time. Runs before
 * the test bed starts, so the loads have the machine to themselves, as a Lambda container has.
 */
export const bundleScenario: StandaloneScenario = {
  name: 'bundle',
  title: 'Cold start: handler bundle size and module load time',
  needsTestBed: false,
  async run(context) {
    const { log } = context;
    const bundle = await buildHandlerBundle(join(context.tmpDir, 'bundle'));
    log(`  bundle ${formatBytes(bundle.bytes)}, gzip ${formatBytes(bundle.gzipBytes)}`);
    const env = lambdaProcessEnv();
    // serverless.yml sets NODE_OPTIONS=--enable-source-maps; without it, for comparison.
    const withMaps = { ...env, NODE_OPTIONS: '--enable-source-maps' };
    const load = ['-e', `import(${JSON.stringify(bundle.path)})`];
    const reps = context.quick ? 5 : 30;
    const bare: number[] = [];
    const loadMaps: number[] = [];
    const loadNoMaps: number[] = [];
    // Read the files once, so every measured load finds them in the page cache.
    await runNode(load, withMaps);
    for (let i = 0; i < reps; i++) {
      bare.push((await runNode(['-e', '0'], env)).wallMs);
      loadMaps.push((await runNode(load, withMaps)).wallMs);
      loadNoMaps.push((await runNode(load, env)).wallMs);
    }
    const loadMs = median(loadMaps) - median(bare);
    const loadNoMapsMs = median(loadNoMaps) - median(bare);
    log(`  module load ${formatMs(loadMs)} (without source maps ${formatMs(loadNoMapsMs)})`);
    return {
      rows: [
        row('5a. Handler bundle, minified (gzip)', {
          ours: `${(bundle.bytes / 1e6).toFixed(2)} MB (${(bundle.gzipBytes / 1e6).toFixed(2)} MB)`,
          target: '≤ 1.5 MB',
          met: bundle.bytes <= 1.5e6,
        }),
        row('5b. Module load of the bundle (minus bare node)', {
          ours: formatMs(loadMs),
          target: '≤ 150 ms',
          met: loadMs <= 150,
        }),
      ],
      details: [
        '## Bundle and module load (scenario 5a, 5b)',
        '',
        "handlers/interruption.ts bundled with serverless.yml's `custom.esbuild`, handed to esbuild's API the way",
        `serverless-esbuild hands it over (bench/bundle.ts). Node ${process.version} (Lambda: nodejs22.x). Each load is`,
        'a new `node -e "import(bundle)"` with the Lambda variables, minus a bare `node -e 0`, the three',
        'interleaved, before the test bed starts (nothing else runs on the machine).',
        '',
        '| measure | value |',
        '|---|---|',
        `| bundle (.mjs, minified) | ${formatBytes(bundle.bytes)} |`,
        `| gzip -9 of the bundle | ${formatBytes(bundle.gzipBytes)} |`,
        `| source map (.map; read at load with --enable-source-maps) | ${formatBytes(bundle.sourceMapBytes)} |`,
        `| bare \`node -e 0\` | ${spread(bare)} |`,
        `| import, NODE_OPTIONS=--enable-source-maps (as deployed) | ${spread(loadMaps)} |`,
        `| import, without source maps | ${spread(loadNoMaps)} |`,
        `| module load as deployed (import − bare) | ${formatMs(loadMs)} |`,
        `| module load without source maps (import − bare) | ${formatMs(loadNoMapsMs)} |`,
        '',
        `Largest packages in the bundle (bytes in output): ${bundle.topPackages
          .map(([name, bytes]) => `${name} ${(bytes / 1e3).toFixed(0)} kB`)
          .join(', ')}.`,
        `@kubernetes/client-node with the packages it pulls in: ${(bundle.kubernetesClientBytes / 1e3).toFixed(0)} kB.`,
        '',
      ],
    };
  },
};
