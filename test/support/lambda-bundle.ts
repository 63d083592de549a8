/**
 * The deployed artefact, without a deployment: builds the handler bundle with the esbuild options
 * serverless.yml gives serverless-esbuild, and invokes it the way Lambda's nodejs22.x runtime does
 * (a fresh Node 22 process with the function's environment that imports the .mjs named by _HANDLER
 * from LAMBDA_TASK_ROOT, and calls the export with the event and a Lambda context).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { type BuildOptions, build, type Metafile } from 'esbuild';

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
  return {
    runtime: yml.provider.runtime,
    handler: functions?.interruption?.handler ?? '',
    custom,
    esbuild: options as BuildOptions,
  };
}

export interface BuiltHandler {
  /** The task root: the folder Lambda unpacks the zip into. */
  taskRoot: string;
  /** The bundle's path inside the task root. */
  bundlePath: string;
  bytes: number;
  metafile: Metafile;
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
}

/** Runs one invocation in a fresh process with `node` (Node 22), `env` only, from the task root. */
export async function invokeLikeLambda(options: {
  node: string;
  built: BuiltHandler;
  env: Record<string, string>;
  event: unknown;
  requestId: string;
  timeoutMs: number;
}): Promise<Invocation> {
  const runtimeDir = join(options.built.taskRoot, '..', 'runtime');
  await mkdir(runtimeDir, { recursive: true });
  const bootstrap = join(runtimeDir, 'bootstrap.mjs');
  await writeFile(bootstrap, bootstrapSource);
  const eventPath = join(runtimeDir, `${options.requestId}.event.json`);
  const resultPath = join(runtimeDir, `${options.requestId}.result.json`);
  await writeFile(eventPath, JSON.stringify(options.event));
  const started = Date.now();
  const { stdout, stderr } = await run(
    options.node,
    [bootstrap, eventPath, resultPath, options.requestId, String(options.timeoutMs)],
    {
      cwd: options.built.taskRoot,
      env: { ...options.env, LAMBDA_TASK_ROOT: options.built.taskRoot, LAMBDA_RUNTIME_DIR: runtimeDir },
      timeout: options.timeoutMs + 30_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the Lambda process failed: ${error.message}\n${error.stderr ?? ''}`, { cause: error });
  });
  const outcome = JSON.parse(await readFile(resultPath, 'utf8')) as Pick<
    Invocation,
    'result' | 'error' | 'phase'
  >;
  return { ...outcome, stdout, stderr, durationMs: Date.now() - started };
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
