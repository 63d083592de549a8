import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonVenvBin } from '../bed/moto.js';

const script = join(resolve(dirname(fileURLToPath(import.meta.url))), 'botocore_token.py');

export interface BotocoreTokenSpec {
  clusterName: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** UTC, second precision: 2026-01-02T03:04:05Z */
  time: string;
}

/** The token `aws eks get-token` would print for these credentials at this time (botocore, frozen clock). */
export async function botocoreEksToken(spec: BotocoreTokenSpec): Promise<{ url: string; token: string }> {
  const python = join(await pythonVenvBin(), 'python');
  // A clean environment: no profile, endpoint or STS setting of the developer's may leak in.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  return new Promise((resolvePromise, reject) => {
    const child = execFile(python, [script], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`botocore_token.py failed: ${error.message}\n${stderr}`));
      else resolvePromise(JSON.parse(stdout));
    });
    child.stdin?.end(JSON.stringify(spec));
  });
}
