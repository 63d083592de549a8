import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { AdminClients } from '../test/bed/kube.js';

/** The kubectl that scripts/control-plane.sh builds beside the API server: the same version, no skew. */
export interface Kubectl {
  path: string;
  kubeconfig: string;
  /** A discovery cache of the bench's own, primed before measuring, as an operator's would be. */
  cacheDir: string;
}

export function kubectlIn(binDir: string, kubeconfig: string, cacheDir: string): Kubectl {
  return { path: join(binDir, 'kubectl'), kubeconfig, cacheDir };
}

export interface KubectlRun {
  /** From spawn to exit, as a user sees it. */
  wallMs: number;
  /** User + system CPU time of kubectl, when time(1) is there to tell. */
  cpuMs?: number;
  /** Epoch ms, to find its requests in the audit log. */
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  /** "Waited before sending request ... client-side throttling" lines: client-go's 5 QPS / burst 10. */
  throttledWaits: number;
  /** The longest of those waits. */
  maxThrottleMs: number;
  stderrTail: string;
}

/**
 * `kubectl drain --ignore-daemonsets --delete-emptydir-data --force <node>`: the command an operator
 * (or a node-termination script) runs; every other setting is kubectl's default.
 */
export function kubectlDrain(kubectl: Kubectl, nodeName: string, timeoutMs = 300_000): Promise<KubectlRun> {
  return run(
    kubectl,
    [
      'drain',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--force',
      '--kubeconfig',
      kubectl.kubeconfig,
      '--cache-dir',
      kubectl.cacheDir,
      nodeName,
    ],
    timeoutMs,
  );
}

/**
 * kubectl drain waits for each evicted pod with a GET per pod, which deploy/rbac.yaml does not grant
 * (ours watches instead). The bench grants it to the bed's drainer *user*, which kubectl runs as, and
 * not to the group, so the function's own identity (an IAM ARN in the group) never has it. kubectl
 * stays in the group: it is classified into the same priority-and-fairness flow as ours.
 */
export async function grantKubectlDrain(admin: AdminClients, user: string): Promise<void> {
  const rbac = admin.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = 'bench-kubectl-drain';
  const exists = (error: unknown) => {
    if ((error as { code?: number }).code !== 409) throw error;
  };
  await rbac
    .createClusterRole({
      body: { metadata: { name }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
    })
    .catch(exists);
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    })
    .catch(exists);
}

/** Fills the discovery cache, so drains are measured as an operator's warm kubectl runs them. */
export async function primeKubectl(kubectl: Kubectl): Promise<void> {
  const result = await run(
    kubectl,
    ['get', 'nodes', '-o', 'name', '--kubeconfig', kubectl.kubeconfig, '--cache-dir', kubectl.cacheDir],
    60_000,
  );
  if (result.exitCode !== 0) throw new Error(`kubectl get nodes failed: ${result.stderrTail}`);
}

/** GNU time, to read kubectl's CPU time; it costs a fork (about a millisecond) more per run. */
const timeBinary = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const rusageMark = 'BENCH_RUSAGE';

function run(kubectl: Kubectl, args: string[], timeoutMs: number): Promise<KubectlRun> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const started = performance.now();
    const child = timeBinary
      ? spawn(timeBinary, ['-f', `${rusageMark} %U %S`, kubectl.path, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(kubectl.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const delays = stderr
        .split('\n')
        .filter((line) => line.includes('client-side throttling'))
        .map((line) => goDurationMs(/delay="([^"]+)"/.exec(line)?.[1] ?? ''));
      const rusage = new RegExp(`${rusageMark} ([\\d.]+) ([\\d.]+)`).exec(stderr);
      resolve({
        wallMs,
        ...(rusage ? { cpuMs: (Number(rusage[1]) + Number(rusage[2])) * 1000 } : {}),
        startedAt,
        endedAt: Date.now(),
        exitCode,
        throttledWaits: delays.length,
        maxThrottleMs: delays.length > 0 ? Math.max(...delays) : 0,
        stderrTail: stderr.split('\n').slice(-15).join('\n'),
      });
    });
  });
}

/** Go's time.Duration text ("1.199098037s", "843.5ms", "1m2.5s") in milliseconds; 0 if unreadable. */
export function goDurationMs(text: string): number {
  const units: Record<string, number> = {
    h: 3_600_000,
    m: 60_000,
    s: 1_000,
    ms: 1,
    µs: 0.001,
    us: 0.001,
    ns: 1e-6,
  };
  let total = 0;
  for (const [, value, unit] of text.matchAll(/([\d.]+)(h|ms|m|s|µs|us|ns)/g)) {
    total += Number(value) * (units[unit!] ?? 0);
  }
  return total;
}
