/**
 * The deployed artefact, without a deployment: builds the handler bundle with the esbuild options
 * serverless.yml gives serverless-esbuild, and invokes it the way Lambda's nodejs22.x runtime does
 * (a fresh Node 22 process with the function's environment that imports the .mjs named by _HANDLER
 * from LAMBDA_TASK_ROOT, and calls the export with the event and a Lambda context).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
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
  /** A built bundle, or a deployment package unpacked by unpackZip. */
  built: Pick<BuiltHandler, 'taskRoot'>;
  env: Record<string, string>;
  event: unknown;
  requestId: string;
  timeoutMs: number;
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
  const written = await readFile(resultPath, 'utf8').catch(() => {
    throw new Error(
      `the Lambda process ended without a result:\n${stdout.slice(-2000)}${stderr.slice(-2000)}`,
    );
  });
  const outcome = JSON.parse(written) as Pick<Invocation, 'result' | 'error' | 'phase'>;
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

/** One file of a zip archive. */
export interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  data: () => Buffer;
}

/** Reads a zip's central directory (enough for the archives osls writes: no zip64, no encryption). */
export function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const data = () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(start, start + compressedSize);
      return method === 0 ? raw : inflateRawSync(raw);
    };
    entries.push({ name, size, compressedSize, data });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Unpacks a deployment package into `taskRoot`, as Lambda does into /var/task; returns the file names. */
export async function unpackZip(zip: Buffer, taskRoot: string): Promise<string[]> {
  const entries = readZip(zip).filter((entry) => !entry.name.endsWith('/'));
  for (const entry of entries) {
    if (entry.name.split('/').includes('..'))
      throw new Error(`zip entry escapes the task root: ${entry.name}`);
    const path = join(taskRoot, entry.name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, entry.data());
  }
  return entries.map((entry) => entry.name);
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
