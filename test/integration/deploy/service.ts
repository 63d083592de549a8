/**
 * `npx serverless deploy` and `remove` as a user runs them, against the test bed's moto.
 *
 * The service is copied to a scratch folder first (node_modules linked): serverless-esbuild builds in
 * the service's own .esbuild folder and osls writes .serverless there, and the template test packages
 * the checkout at the same time.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const serverlessBin = join(root, 'node_modules/osls/bin/serverless.js');

// What a deployment needs is the service's source and config; tests, tools and caches stay behind.
const leftBehind = new Set([
  '.git',
  '.cache',
  '.serverless',
  '.esbuild',
  'node_modules',
  'dist',
  'coverage',
  'test',
  'bench',
  'demo',
]);

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Template = { Resources: Record<string, { Type: string; Properties?: any }>; Outputs?: any };

export interface Service {
  dir: string;
  stage: string;
  /** `--param name=value` pairs given to every command. */
  params: Record<string, string>;
  /** The template osls deployed (.serverless/cloudformation-template-update-stack.json). */
  template(): Promise<Template>;
  deploy(): Promise<string>;
  remove(): Promise<string>;
  /** Deletes the scratch folder. */
  dispose(): Promise<void>;
}

/** A copy of the service in a scratch folder, deployed with dummy credentials to `awsEndpoint`. */
export async function serviceCopy(options: {
  stage: string;
  params: Record<string, string>;
  awsEndpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}): Promise<Service> {
  const dir = await mkdtemp(join(tmpdir(), 'sls-deploy-'));
  for (const entry of await readdir(root)) {
    if (!leftBehind.has(entry)) await cp(join(root, entry), join(dir, entry), { recursive: true });
  }
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))),
    AWS_ACCESS_KEY_ID: options.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: options.credentials.secretAccessKey,
    AWS_REGION: options.region,
    // osls 4.x is built on the AWS SDK v3, which sends every call here.
    AWS_ENDPOINT_URL: options.awsEndpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  const serverless = async (command: 'deploy' | 'remove') => {
    const args = [serverlessBin, command, '--stage', options.stage];
    for (const [name, value] of Object.entries(options.params)) args.push('--param', `${name}=${value}`);
    try {
      const { stdout, stderr } = await run(process.execPath, args, {
        cwd: dir,
        env,
        maxBuffer: 16 * 1024 * 1024,
        timeout: 300_000,
      });
      return `${stdout}${stderr}`;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`serverless ${command} failed:\n${stdout}${stderr}`, { cause: error });
    }
  };
  return {
    dir,
    stage: options.stage,
    params: options.params,
    template: async () =>
      JSON.parse(await readFile(join(dir, '.serverless/cloudformation-template-update-stack.json'), 'utf8')),
    deploy: () => serverless('deploy'),
    remove: () => serverless('remove'),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
