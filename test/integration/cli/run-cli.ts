import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedBedEnv } from '../../bed/lambda.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The command's real entry point, as npm links it. */
export const binPath = join(projectRoot, 'bin/eks-spot-drainer.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Added to a minimal environment: PATH and a HOME that does not exist (no ~/.kube/config). */
  env?: Record<string, string>;
  input?: string;
  /** Another entry script (a built bin); default bin/eks-spot-drainer.js. */
  bin?: string;
  timeoutMs?: number;
}

/** A fresh empty folder, for HOME and for files a test writes. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `eks-spot-drainer-${prefix}-`));
}

/** Writes a kubeconfig for `server` (nothing need listen there) and returns its path. */
export function writeKubeconfig(dir: string, server: string, caData: string, file = 'kubeconfig'): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'nowhere', cluster: { server, 'certificate-authority-data': caData } }],
      users: [{ name: 'someone', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'nowhere', context: { cluster: 'nowhere', user: 'someone' } }],
      'current-context': 'nowhere',
    }),
  );
  return path;
}

/** Runs the CLI as a child process with the test's Node, and returns its exit code and output. */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: join(tmpdir(), 'eks-spot-drainer-no-home'),
    ...sharedBedEnv,
    ...options.env,
  };
  return new Promise((resolveRun) => {
    const child = execFile(
      process.execPath,
      [options.bin ?? binPath, ...args],
      { cwd: projectRoot, env, timeout: options.timeoutMs ?? 150_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolveRun({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** The stderr of a failed command: exactly one line, the CLI's own, with no stack trace. */
export function errorLine(run: CliRun): string {
  const lines = run.stderr.trimEnd().split('\n');
  if (lines.length !== 1 || !lines[0]!.startsWith('eks-spot-drainer: error: ')) {
    throw new Error(`expected one error line on stderr, got:\n${run.stderr}`);
  }
  return lines[0]!;
}
