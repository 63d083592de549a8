import { spawn } from 'node:child_process';

export interface ProcessRun {
  /** From spawn to exit. */
  wallMs: number;
  stdout: string;
}

/** Runs this Node (the runtime of the bench: Lambda's major version) with `args` and only `env`. */
export function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        reject(new Error(`node ${args.join(' ').slice(0, 200)} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ wallMs: performance.now() - started, stdout });
    });
  });
}

/** The variables Lambda sets for the function, with placeholder AWS values: loading calls nothing. */
export function lambdaProcessEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAPLACEHOLDER00000',
    AWS_SECRET_ACCESS_KEY: 'placeholder',
    AWS_LAMBDA_FUNCTION_NAME: 'eks-spot-drainer-bench-interruption',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    MANAGED_CLUSTERS: 'testbed',
    ...extra,
  };
}
