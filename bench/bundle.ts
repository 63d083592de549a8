import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { type ChunkLayout, chunkLayout } from '../test/support/chunk-layout.js';
import { readServerlessBuild } from '../test/support/lambda-bundle.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Sizes of a set of the bundle's files. */
export interface FilesSize {
  files: number;
  bytes: number;
  /** gzip -9 of each file, summed. */
  gzipBytes: number;
  /** Their source maps (read at load only with NODE_OPTIONS=--enable-source-maps). */
  sourceMapBytes: number;
}

export interface HandlerBundle {
  /** The handler module (the entry of the split build). */
  path: string;
  layout: ChunkLayout;
  /** What a cold start loads before the handler runs: the entry and the chunks it imports statically. */
  loadedWithEntry: FilesSize;
  /** Every file of the bundle, the chunks only import() reaches included. */
  all: FilesSize;
  /** The function's NODE_OPTIONS with serverless.yml's default params: "as deployed". */
  nodeOptions: string;
  /** The biggest input packages by bytes in what loads with the entry, for "what would shrink it". */
  topPackages: [string, number][];
  /** The same, in the chunks only import() reaches. */
  deferredPackages: [string, number][];
  /** Bytes of @kubernetes/client-node and the packages it depends on (directly or not), loaded with the entry. */
  kubernetesClientBytes: number;
}

/**
 * Builds handlers/interruption.ts exactly as `serverless package` does: serverless.yml's
 * custom.esbuild (code splitting and plugins included), passed to esbuild the way serverless-esbuild
 * passes it (exclude → external, outputFileExtension → outExtension, its own keys dropped), into `outDir`.
 */
export async function buildHandlerBundle(outDir: string): Promise<HandlerBundle> {
  const spec = await readServerlessBuild(projectRoot);
  const extension =
    typeof spec.custom.outputFileExtension === 'string' ? spec.custom.outputFileExtension : '.js';
  const entry = 'handlers/interruption.ts';
  const result = await esbuild.build({
    ...spec.esbuild,
    entryPoints: [entry],
    outdir: join(outDir, dirname(entry)),
    absWorkingDir: projectRoot,
    metafile: true,
    logLevel: 'silent',
  });
  const layout = chunkLayout(result.metafile, projectRoot, outDir, entry);
  const packagesIn = (files: string[]) => {
    const packages = new Map<string, number>();
    for (const file of files) {
      for (const [input, bytes] of Object.entries(layout.files[file]?.inputs ?? {})) {
        const name = packageOf(input);
        packages.set(name, (packages.get(name) ?? 0) + bytes);
      }
    }
    return packages;
  };
  const loaded = packagesIn(layout.loadedWithEntry);
  const byBytes = (packages: Map<string, number>) => [...packages.entries()].sort((a, b) => b[1] - a[1]);
  return {
    path: join(outDir, entry.replace(/\.ts$/, extension)),
    layout,
    loadedWithEntry: await sizeOf(outDir, layout.loadedWithEntry),
    all: await sizeOf(outDir, Object.keys(layout.files)),
    nodeOptions: spec.nodeOptions,
    topPackages: byBytes(loaded).slice(0, 12),
    deferredPackages: byBytes(packagesIn(layout.deferred)).slice(0, 10),
    kubernetesClientBytes: [...(await dependencyClosure('@kubernetes/client-node'))].reduce(
      (sum, name) => sum + (loaded.get(name) ?? 0),
      0,
    ),
  };
}

async function sizeOf(outDir: string, files: string[]): Promise<FilesSize> {
  const size: FilesSize = { files: files.length, bytes: 0, gzipBytes: 0, sourceMapBytes: 0 };
  for (const file of files) {
    const code = await readFile(join(outDir, file));
    size.bytes += code.length;
    size.gzipBytes += gzipSync(code, { level: 9 }).length;
    size.sourceMapBytes += (await stat(join(outDir, `${file}.map`)).catch(() => undefined))?.size ?? 0;
  }
  return size;
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
