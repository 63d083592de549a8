#!/usr/bin/env node
// The eks-spot-drainer command. It runs the bundle `npm run build` writes to dist/cli.mjs; in a
// checkout without one, it runs the TypeScript source through tsx (a devDependency).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli.mjs', import.meta.url);

async function loadCli() {
  if (existsSync(bundle)) return import(bundle.href);
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write(
      'eks-spot-drainer: error: dist/cli.mjs is missing and tsx is not installed; run `npm ci && npm run build`\n',
    );
    process.exit(1);
  }
  return tsx.tsImport('../src/cli/main.ts', import.meta.url);
}

const cli = await loadCli();
await cli.run(process.argv);
