/**
 * The deployed artefact, without a deployment: builds the handler bundle with the esbuild options
 * serverless.yml gives serverless-esbuild, and invokes it the way Lambda's nodejs22.x runtime does
 * (a fresh Node 22 process with the function's environment that imports the .mjs named by _HANDLER
 * from LAMBDA_TASK_ROOT, and calls the export with the event and a Lambda context).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { type ChunkLayout, chunkLayout } from './chunk-layout.js';

const run = promisify(execFile);

/** What serverless.yml says about the function and its build. */
export interface ServerlessBuild {
  runtime: string;
  /** e.g. handlers/interruption.handler */
  handler: string;
  /** custom.esbuild as written. */
  custom: Record<string, unknown>;
  /** The esbuild options serverless-esbuild derives from custom.esbuild (no entry point, no outdir). */
  esbuild: BuildOptions;
  /** The function's NODE_OPTIONS with the default params (deploy/serverless/settings.cjs). */
  nodeOptions: string;
}

// serverless-esbuild's own keys, which it removes before calling esbuild (dist/bundle.js).
const pluginOnlyKeys = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

/** Reads serverless.yml and maps custom.esbuild to esbuild options as serverless-esbuild does. */
export async function readServerlessBuild(root: string): Promise<ServerlessBuild> {
  // biome-ignore lint/suspicious/noExplicitAny: serverless.yml is untyped YAML.
  const yml = k8s.loadYaml<any>(await readFile(join(root, 'serverless.yml'), 'utf8'));
  const custom = yml.custom.esbuild as Record<string, unknown>;
  const functions = (yml.functions as Record<string, { handler?: string }>[]).find(
    (f) => 'interruption' in f,
  );
  const serviceRequire = createRequire(join(root, 'serverless.yml'));
  const options: Record<string, unknown> = Object.fromEntries(
    Object.entries(custom).filter(([key]) => !pluginOnlyKeys.includes(key)),
  );
  const exclude = (custom.exclude as string[] | undefined) ?? [];
  options.external = [
    ...((custom.external as string[] | undefined) ?? []),
    ...exclude.filter((e) => e !== '*'),
  ];
  const extension = (custom.outputFileExtension as string | undefined) ?? '.js';
  if (extension !== '.js') options.outExtension = { '.js': extension };
  // A path is a module of plugins, which serverless-esbuild require()s from the service folder.
  if (typeof custom.plugins === 'string') {
    options.plugins = serviceRequire(`./${custom.plugins.replace(/^\.\//, '')}`);
  }
  const settings = serviceRequire('./deploy/serverless/settings.cjs');
  const defaults = yml.params.default as Record<string, unknown>;
  return {
    runtime: yml.provider.runtime,
    handler: functions?.interruption?.handler ?? '',
    custom,
    esbuild: options as BuildOptions,
    nodeOptions: await settings.nodeOptions({
      resolveVariable: async (name: string) => defaults[name.replace(/^param:/, '')],
    }),
  };
}

export interface BuiltHandler {
  /** The task root: the folder Lambda unpacks the zip into. */
  taskRoot: string;
  /** The bundle's path inside the task root. */
  bundlePath: string;
  bytes: number;
  metafile: Metafile;
  /** The entry and its chunks, with paths in the task root. */
  layout: ChunkLayout;
}

/** Builds the function's bundle into `taskRoot`, as `serverless package` puts it in the zip. */
export async function buildHandler(
  root: string,
  taskRoot: string,
  spec: ServerlessBuild,
): Promise<BuiltHandler> {
  const modulePath = spec.handler.slice(0, spec.handler.lastIndexOf('.'));
  const result = await build({
    ...spec.esbuild,
    absWorkingDir: root,
    entryPoints: [join(root, `${modulePath}.ts`)],
    outdir: join(taskRoot, modulePath, '..'),
    metafile: true,
    logLevel: 'silent',
  });
  const extension = (spec.custom.outputFileExtension as string | undefined) ?? '.js';
  const bundlePath = join(taskRoot, `${modulePath}${extension}`);
  return {
    taskRoot,
    bundlePath,
    bytes: (await readFile(bundlePath)).length,
    metafile: result.metafile,
    layout: chunkLayout(result.metafile, root, taskRoot, `${modulePath}.ts`),
  };
}

// The runtime's part: import the handler module named by _HANDLER, then invoke it once.
const bootstrapSource = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [eventPath, resultPath, requestId, timeoutMs] = process.argv.slice(2);
const write = (outcome) => writeFileSync(resultPath, JSON.stringify(outcome));
const describe = (e) => ({ name: e?.name, message: e?.message, stack: e?.stack });
const spec = process.env._HANDLER;
const dot = spec.lastIndexOf('.');
const file = ['.mjs', '.js', '.cjs']
  .map((ext) => join(process.env.LAMBDA_TASK_ROOT, spec.slice(0, dot) + ext))
  .find((f) => existsSync(f));
let handler;
let initError;
try {
  handler = (await import(pathToFileURL(file).href))[spec.slice(dot + 1)];
} catch (error) {
  initError = error;
}
const end = Date.now() + Number(timeoutMs);
const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: name,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
  invokedFunctionArn: 'arn:aws:lambda:' + process.env.AWS_REGION + ':123456789012:function:' + name,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: requestId,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
  done() {}, fail() {}, succeed() {},
};
if (initError) {
  write({ phase: 'init', error: describe(initError) });
} else {
  const event = JSON.parse(readFileSync(eventPath, 'utf8'));
  try {
    write({ phase: 'invoke', result: await handler(event, context) });
  } catch (error) {
    write({ phase: 'invoke', error: describe(error) });
  }
}
// Lambda freezes the process here; a test must end it.
process.stdout.write('', () => process.exit(0));
`;

export interface Invocation {
  result?: unknown;
  error?: { name?: string; message?: string; stack?: string };
  phase: 'init' | 'invoke';
  stdout: string;
  stderr: string;
  durationMs: number;
  /** With `recordModules`: every file of the task root the process loaded, in load order. */
  modules?: string[];
}

// Loaded with --import before the runtime's part: notes each module Node loads, and writes the list
// when the process exits. Synchronous hooks (Node 22.15+) run in the process itself.
const recordModulesSource = `
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(process.env.RECORD_MODULES_TO, JSON.stringify(loaded)));
`;

/** Runs one invocation in a fresh process with `node` (Node 22), `env` only, from the task root. */
export async function invokeLikeLambda(options: {
  node: string;
  /** A built bundle, or a deployment package unpacked by unpackZip. */
  built: Pick<BuiltHandler, 'taskRoot'>;
  env: Record<string, string>;
  event: unknown;
  requestId: string;
  timeoutMs: number;
  /** Record which files of the task root the process loaded (Invocation.modules). */
  recordModules?: boolean;
}): Promise<Invocation> {
  const runtimeDir = join(options.built.taskRoot, '..', 'runtime');
  await mkdir(runtimeDir, { recursive: true });
  const bootstrap = join(runtimeDir, 'bootstrap.mjs');
  // Written whole, then renamed: invocations running side by side never import a half-written file.
  const draft = join(runtimeDir, `bootstrap.${options.requestId}.tmp`);
  await writeFile(draft, bootstrapSource);
  await rename(draft, bootstrap);
  const eventPath = join(runtimeDir, `${options.requestId}.event.json`);
  const resultPath = join(runtimeDir, `${options.requestId}.result.json`);
  await writeFile(eventPath, JSON.stringify(options.event));
  const modulesPath = join(runtimeDir, `${options.requestId}.modules.json`);
  const recorder = options.recordModules ? await writeRecorder(runtimeDir, options.requestId) : undefined;
  const started = Date.now();
  const { stdout, stderr } = await run(
    options.node,
    [
      ...(recorder ? ['--import', pathToFileURL(recorder).href] : []),
      bootstrap,
      eventPath,
      resultPath,
      options.requestId,
      String(options.timeoutMs),
    ],
    {
      cwd: options.built.taskRoot,
      env: {
        ...options.env,
        LAMBDA_TASK_ROOT: options.built.taskRoot,
        LAMBDA_RUNTIME_DIR: runtimeDir,
        ...(recorder ? { RECORD_MODULES_TO: modulesPath } : {}),
      },
      timeout: options.timeoutMs + 30_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the Lambda process failed: ${error.message}\n${error.stderr ?? ''}`, { cause: error });
  });
  const written = await readFile(resultPath, 'utf8').catch(() => {
    throw new Error(
      `the Lambda process ended without a result:\n${stdout.slice(-2000)}${stderr.slice(-2000)}`,
    );
  });
  const outcome = JSON.parse(written) as Pick<Invocation, 'result' | 'error' | 'phase'>;
  const modules = recorder ? await modulesIn(options.built.taskRoot, modulesPath) : undefined;
  return { ...outcome, stdout, stderr, durationMs: Date.now() - started, ...(modules ? { modules } : {}) };
}

async function writeRecorder(runtimeDir: string, requestId: string): Promise<string> {
  const path = join(runtimeDir, 'record-modules.mjs');
  const draft = join(runtimeDir, `record-modules.${requestId}.tmp`);
  await writeFile(draft, recordModulesSource);
  await rename(draft, path);
  return path;
}

/** The recorded modules that are files of the task root, as paths in it. */
async function modulesIn(taskRoot: string, modulesPath: string): Promise<string[]> {
  const urls = JSON.parse(await readFile(modulesPath, 'utf8')) as string[];
  return urls
    .filter((url) => url.startsWith('file:'))
    .map((url) => relative(taskRoot, fileURLToPath(url)))
    .filter((path) => !path.startsWith('..'));
}

/** The JSON lines a process wrote (Powertools logs and EMF documents); other lines are dropped. */
// biome-ignore lint/suspicious/noExplicitAny: log lines are untyped JSON.
export function jsonLines(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    });
}

/** The parts of a function's configuration (Lambda GetFunction) the runtime turns into its environment. */
export interface FunctionConfiguration {
  FunctionName?: string;
  Handler?: string;
  Runtime?: string;
  MemorySize?: number;
  Version?: string;
  Environment?: { Variables?: Record<string, string> };
}

/**
 * The environment Lambda gives the function's process: the function's own variables, then what the
 * runtime sets (_HANDLER, AWS_LAMBDA_*, AWS_EXECUTION_ENV, region), which the function cannot override.
 */
export function lambdaRuntimeEnv(fn: FunctionConfiguration, region: string): Record<string, string> {
  const name = fn.FunctionName ?? '';
  return {
    ...(fn.Environment?.Variables ?? {}),
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: fn.Handler ?? '',
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.Runtime ?? ''}`,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: fn.Version ?? '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.MemorySize ?? 128),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2025/06/05/[$LATEST]0123456789abcdef0123456789abcdef',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
  };
}
