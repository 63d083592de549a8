// Bundles the CLI (src/cli/main.ts) into one ES module, dist/cli.mjs, that bin/eks-spot-drainer.js
// loads: no TypeScript at run time and no node_modules needed beside it.
//   node scripts/build.mjs [--outfile <path>]
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outfile');
const outfile = resolve(
  at > 0 && process.argv[at + 1] ? process.argv[at + 1] : resolve(root, 'dist/cli.mjs'),
);

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The function runs on Node 22; the CLI also runs where operators have Node 20 (package.json engines).
  target: ['node20'],
  mainFields: ['module', 'main'],
  // As in serverless.yml: node-fetch 2's whatwg-url is dead weight next to Node's own URL.
  alias: { 'whatwg-url': './src/shims/whatwg-url.ts' },
  // ESM bundles of CommonJS dependencies still call require() for Node built-ins.
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`built ${outfile} (${(bytes / 1024 / 1024).toFixed(1)} MB with its source map)`);
