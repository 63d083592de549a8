import { join } from 'node:path';
import { buildHandlerBundle, type FilesSize, type HandlerBundle } from '../bundle.js';
import { lambdaProcessEnv, runNode } from '../node-process.js';
import { formatBytes, formatMs, median, spread } from '../stats.js';
import { row, type StandaloneScenario } from '../types.js';

const withSourceMaps = '--enable-source-maps';

/**
 * Scenario 5a/5b: the bundle serverless.yml builds, what of it a cold start loads, and its module
 * load time with and without source maps. Runs before the test bed starts, so the loads have the
 * machine to themselves, as a Lambda container has.
 */
export const bundleScenario: StandaloneScenario = {
  name: 'bundle',
  title: 'Cold start: handler bundle size and module load time',
  needsTestBed: false,
  async run(context) {
    const { log } = context;
    const bundle = await buildHandlerBundle(join(context.tmpDir, 'bundle'));
    const { loadedWithEntry: loaded, all } = bundle;
    log(`  loaded with the entry ${mb(loaded)} in ${loaded.files} files; all ${mb(all)} in ${all.files}`);
    const env = lambdaProcessEnv();
    const load = ['-e', `import(${JSON.stringify(bundle.path)})`];
    const reps = context.quick ? 5 : 30;
    const bare: number[] = [];
    const loadMaps: number[] = [];
    const loadNoMaps: number[] = [];
    // Read the files once, so every measured load finds them in the page cache.
    await runNode(load, { ...env, NODE_OPTIONS: withSourceMaps });
    for (let i = 0; i < reps; i++) {
      bare.push((await runNode(['-e', '0'], env)).wallMs);
      loadMaps.push((await runNode(load, { ...env, NODE_OPTIONS: withSourceMaps })).wallMs);
      loadNoMaps.push((await runNode(load, env)).wallMs);
    }
    const mapsMs = median(loadMaps) - median(bare);
    const noMapsMs = median(loadNoMaps) - median(bare);
    const deployedMs = bundle.nodeOptions.includes(withSourceMaps) ? mapsMs : noMapsMs;
    log(`  module load as deployed ${formatMs(deployedMs)} (source maps at load ${formatMs(mapsMs)})`);
    return {
      rows: [
        row('5a. Handler bundle, minified: what a cold start loads (all files)', {
          ours: `${mb(loaded)} in ${loaded.files} files (${mb(all)} in ${all.files})`,
          target: '≤ 1.5 MB',
          met: loaded.bytes <= 1.5e6,
        }),
        row('5b. Module load of the bundle as deployed (minus bare node)', {
          ours: formatMs(deployedMs),
          target: '≤ 150 ms',
          met: deployedMs <= 150,
        }),
      ],
      details: details(bundle, { bare, loadMaps, loadNoMaps, mapsMs, noMapsMs, deployedMs }),
    };
  },
};

const mb = (size: FilesSize) => `${(size.bytes / 1e6).toFixed(2)} MB`;

function details(
  bundle: HandlerBundle,
  m: {
    bare: number[];
    loadMaps: number[];
    loadNoMaps: number[];
    mapsMs: number;
    noMapsMs: number;
    deployedMs: number;
  },
): string[] {
  const { loadedWithEntry: loaded, all } = bundle;
  const kB = ([name, bytes]: [string, number]) => `${name} ${(bytes / 1e3).toFixed(0)} kB`;
  return [
    '## Bundle and module load (scenario 5a, 5b)',
    '',
    "handlers/interruption.ts bundled with serverless.yml's `custom.esbuild` (code splitting, plugins), handed to",
    "esbuild's API the way serverless-esbuild hands it over (bench/bundle.ts). A cold start loads the entry and",
    'the chunks it imports statically; the rest only `import()` reaches, when the code that needs it first runs.',
    `Node ${process.version} (Lambda: nodejs22.x). Each load is a new \`node -e "import(entry)"\` with the Lambda`,
    'variables, minus a bare `node -e 0`, the three interleaved, before the test bed starts.',
    '',
    '| measure | value |',
    '|---|---|',
    `| loaded with the entry: the entry and its static chunks (minified) | ${formatBytes(loaded.bytes)} in ${loaded.files} files |`,
    `| every file, the chunks only import() reaches included | ${formatBytes(all.bytes)} in ${all.files} files |`,
    `| gzip -9, loaded with the entry / every file | ${(loaded.gzipBytes / 1e6).toFixed(2)} MB / ${(all.gzipBytes / 1e6).toFixed(2)} MB |`,
    `| source maps, of what loads with the entry / of every file | ${(loaded.sourceMapBytes / 1e6).toFixed(2)} MB / ${(all.sourceMapBytes / 1e6).toFixed(2)} MB |`,
    `| bare \`node -e 0\` | ${spread(m.bare)} |`,
    `| import, NODE_OPTIONS=${withSourceMaps} | ${spread(m.loadMaps)} |`,
    `| import, without source maps | ${spread(m.loadNoMaps)} |`,
    `| module load with source maps at load (import − bare) | ${formatMs(m.mapsMs)} |`,
    `| module load without (import − bare) | ${formatMs(m.noMapsMs)} |`,
    `| module load as deployed (NODE_OPTIONS="${bundle.nodeOptions}", serverless.yml's default) | ${formatMs(m.deployedMs)} |`,
    '',
    `Largest packages loaded with the entry (bytes in output): ${bundle.topPackages.map(kB).join(', ')}.`,
    `@kubernetes/client-node with the packages it pulls in: ${(bundle.kubernetesClientBytes / 1e3).toFixed(0)} kB.`,
    `In chunks only import() reaches: ${bundle.deferredPackages.map(kB).join(', ')}.`,
    '',
  ];
}
