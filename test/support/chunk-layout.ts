/**
 * The files of the function's split bundle (serverless.yml `splitting`), read from esbuild's metafile:
 * the entry, the chunks it imports statically (Node loads them with the entry, before the handler
 * runs), and the chunks only `import()` reaches (loaded when the code that needs them first runs).
 * Used by test/integration/handler/bundled-handler.test.ts and bench/bundle.ts.
 */
import { relative, resolve } from 'node:path';
import type { Metafile } from 'esbuild';

export interface OutputFile {
  bytes: number;
  /** Bytes of each input esbuild put in it (paths relative to the project root, node_modules ones included). */
  inputs: Record<string, number>;
  /** The files it imports statically (Node loads them with it). */
  imports: string[];
}

export interface ChunkLayout {
  /** Every JavaScript file of the bundle (no source maps), by its path in the task root. */
  files: Record<string, OutputFile>;
  /** The handler module's file. */
  entry: string;
  /** The entry and every chunk it imports statically, directly or not: what a cold start loads. */
  loadedWithEntry: string[];
  /** The chunks only `import()` reaches. */
  deferred: string[];
}

/**
 * The layout of a build whose entry point was `entryPoint` (relative to `root`, as esbuild names it)
 * and whose output went under `outRoot`; file paths are given relative to `outRoot`.
 */
export function chunkLayout(
  metafile: Metafile,
  root: string,
  outRoot: string,
  entryPoint: string,
): ChunkLayout {
  const inRoot = (output: string) => relative(outRoot, resolve(root, output));
  const outputs = Object.entries(metafile.outputs).filter(([path]) => !path.endsWith('.map'));
  const entryOutput = outputs.find(([, o]) => o.entryPoint === entryPoint)?.[0];
  if (!entryOutput) throw new Error(`no output of ${entryPoint} in the metafile`);
  const loaded = new Set<string>();
  const visit = (output: string) => {
    if (loaded.has(output)) return;
    loaded.add(output);
    for (const imported of metafile.outputs[output]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
    }
  };
  visit(entryOutput);
  return {
    files: Object.fromEntries(
      outputs.map(([path, o]) => [
        inRoot(path),
        {
          bytes: o.bytes,
          inputs: Object.fromEntries(Object.entries(o.inputs).map(([input, i]) => [input, i.bytesInOutput])),
          imports: o.imports
            .filter((i) => i.kind === 'import-statement' && !i.external)
            .map((i) => inRoot(i.path)),
        },
      ]),
    ),
    entry: inRoot(entryOutput),
    loadedWithEntry: [...loaded].map(inRoot).sort(),
    deferred: outputs
      .map(([path]) => path)
      .filter((path) => !loaded.has(path))
      .map(inRoot)
      .sort(),
  };
}

/** The files holding code of an input whose path contains `fragment` (e.g. `@aws-sdk/client-lambda/`). */
export function filesWith(layout: ChunkLayout, fragment: string): string[] {
  return Object.entries(layout.files)
    .filter(([, file]) => Object.keys(file.inputs).some((input) => input.includes(fragment)))
    .map(([path]) => path)
    .sort();
}

/** The given files and every file they import statically, directly or not. */
export function withStaticImports(layout: ChunkLayout, paths: string[]): Set<string> {
  const closure = new Set<string>();
  const visit = (path: string) => {
    if (closure.has(path)) return;
    closure.add(path);
    for (const imported of layout.files[path]?.imports ?? []) visit(imported);
  };
  for (const path of paths) visit(path);
  return closure;
}

/** Bytes of the given files together. */
export function bytesOf(layout: ChunkLayout, paths: string[]): number {
  return paths.reduce((sum, path) => sum + (layout.files[path]?.bytes ?? 0), 0);
}
