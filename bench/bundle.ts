import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { readServerlessBuild } from '../test/support/lambda-bundle.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface HandlerBundle {
  path: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  /** The biggest input packages by bytes in the output, for "what would shrink it". */
  topPackages: [string, number][];
  /** Bytes of @kubernetes/client-node together with the packages it depends on (directly or not). */
  kubernetesClientBytes: number;
}

/**
 * Builds handlers/interruption.ts exactly as `serverless package` does: serverless.yml's
 * custom.esbuild, passed to esbuild the way serverless-esbuild passes it (exclude → external,
 * outputFileExtension → outExtension, its own keys dropped), into `outDir`.
 */
export async function buildHandlerBundle(outDir: string): Promise<HandlerBundle> {
  const { custom, esbuild: options } = await readServerlessBuild(projectRoot);
  const extension = typeof custom.outputFileExtension === 'string' ? custom.outputFileExtension : '.js';
  const entry = 'handlers/interruption.ts';
  const result = await esbuild.build({
    ...options,
    entryPoints: [entry],
    outdir: join(outDir, dirname(entry)),
    absWorkingDir: projectRoot,
    metafile: true,
    logLevel: 'silent',
  });
  const path = join(outDir, entry.replace(/\.ts$/, extension));
  const code = await readFile(path);
  const map = await stat(`${path}.map`).catch(() => undefined);
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint === entry);
  const packages = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input);
    packages.set(name, (packages.get(name) ?? 0) + bytesInOutput);
  }
  return {
    path,
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    sourceMapBytes: map?.size ?? 0,
    topPackages: [...packages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12),
    kubernetesClientBytes: [...(await dependencyClosure('@kubernetes/client-node'))].reduce(
      (sum, name) => sum + (packages.get(name) ?? 0),
      0,
    ),
  };
}

/** A package and everything its package.json files pull in, as installed (hoisted) in node_modules. */
async function dependencyClosure(root: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    if (seen.has(name)) return;
    seen.add(name);
    const manifest = await readFile(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8').catch(
      () => '{}',
    );
    const dependencies = (JSON.parse(manifest) as { dependencies?: Record<string, string> }).dependencies;
    for (const dependency of Object.keys(dependencies ?? {})) await visit(dependency);
  };
  await visit(root);
  return seen;
}

/** "node_modules/@aws-sdk/client-ec2/dist-es/x.js" → "@aws-sdk/client-ec2"; our own code → "(ours)". */
function packageOf(input: string): string {
  const path = relative(projectRoot, resolve(projectRoot, input));
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return '(ours: src/, handlers/)';
  const parts = path.slice(at + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}
