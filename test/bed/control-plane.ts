import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, type ManagedProcess, removeOnExit, startProcess, waitUntil } from './processes.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The two identities of the test bed. `drainer` holds only what deploy/rbac.yaml grants. */
export type Identity = 'admin' | 'drainer';

/** The group deploy/rbac.yaml binds; EKS access entries map the Lambda's role to it. */
export const drainerGroup = 'eks-spot-drainer';

export interface ControlPlaneOptions {
  /** Webhook (aws-iam-authenticator's place in EKS) that turns EKS bearer tokens into users. */
  authenticationWebhookUrl?: string;
  /** Write an audit log of every request (metadata level), for counting requests in benchmarks. */
  auditLog?: boolean;
  /** Print progress lines here. */
  log?: (line: string) => void;
  /** Progress of a first build of the binaries (about 10 minutes); default: `log`. */
  buildProgress?: (line: string) => void;
}

/** A running local control plane: etcd, kube-apiserver, controller-manager, scheduler and KWOK. */
export interface ControlPlane {
  server: string;
  /** Base64 PEM bundle that verifies the API server's certificate, as EKS's DescribeCluster gives it. */
  caData: string;
  tokens: Record<Identity, string>;
  dataDir: string;
  binDir: string;
  auditLogPath: string | undefined;
  /** A kubeconfig file for kubectl (the drainer code itself builds its config in memory). */
  kubeconfigPath(identity: Identity): string;
  /** Stops kube-apiserver and starts it again on the same port and data, as in an upgrade or crash. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds (or finds) the binaries via scripts/control-plane.sh, which honours KUBEBUILDER_ASSETS,
 * and returns the folder that holds them. A first build takes about 10 minutes: the script's progress
 * lines (which binary, time elapsed) go to `onProgress` as they come.
 */
export async function controlPlaneBinaries(onProgress: (line: string) => void = () => {}): Promise<string> {
  const child = spawn('bash', [join(projectRoot, 'scripts/control-plane.sh')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    // A cached run says so in one line, which nobody waiting needs to see.
    if (!/^control-plane: using /.test(line)) onProgress(line);
  });
  const killer = setTimeout(() => child.kill('SIGTERM'), 40 * 60_000);
  const code = await new Promise<number | string>((resolveExit) => {
    child.once('error', (error) => resolveExit(error.message));
    child.once('close', (exitCode, signal) => resolveExit(exitCode ?? signal ?? 'unknown'));
  }).finally(() => clearTimeout(killer));
  const dir = stdout.join('').trim().split('\n').at(-1) ?? '';
  if (code === 0 && existsSync(join(dir, 'kube-apiserver'))) return dir;
  throw new Error(
    `The Kubernetes control plane binaries could not be built (scripts/control-plane.sh): ${
      code === 0 ? `no kube-apiserver in "${dir}"` : `exit ${code}`
    }\n${stderr.slice(-20).join('\n')}`,
  );
}

/** Starts a fresh control plane on free loopback ports with a new data dir. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binDir = await controlPlaneBinaries(options.buildProgress ?? log);
  const dataDir = await mkdtemp(join(tmpdir(), 'eks-spot-drainer-cp-'));
  const forget = removeOnExit(dataDir);
  const processes: ManagedProcess[] = [];
  const started = Date.now();
  try {
    const files = await writeConfigFiles(dataDir, options);
    const [etcdClient, etcdPeer, apiPort, kwokPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const server = `https://127.0.0.1:${apiPort}`;

    const etcd = startProcess(
      'etcd',
      join(binDir, 'etcd'),
      [
        `--data-dir=${join(dataDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        // A throwaway store: durability buys nothing here and fsync dominates on slow disks.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      dataDir,
    );
    processes.push(etcd);
    await waitUntil('etcd', () => httpOk(`http://127.0.0.1:${etcdClient}/health`), {
      timeoutMs: 30_000,
      process: etcd,
    });

    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dataDir, 'pki')}`,
      `--token-auth-file=${files.tokens}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${files.serviceAccountKey}`,
      `--service-account-signing-key-file=${files.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // KWOK pods mount nothing; without this a pod created before the controller-manager makes
      // the namespace's default ServiceAccount is rejected, which only makes tests flaky.
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
      '--v=0',
    ];
    if (files.webhook) {
      apiArgs.push(`--authentication-token-webhook-config-file=${files.webhook}`);
      apiArgs.push(
        '--authentication-token-webhook-cache-ttl=30s',
        '--authentication-token-webhook-version=v1',
      );
    }
    if (files.auditPolicy) {
      apiArgs.push(`--audit-policy-file=${files.auditPolicy}`, `--audit-log-path=${files.auditLog}`);
      apiArgs.push('--audit-log-mode=blocking', '--audit-log-format=json');
    }
    const startApi = () => startProcess('kube-apiserver', join(binDir, 'kube-apiserver'), apiArgs, dataDir);
    let apiserver = startApi();
    processes.push(apiserver);

    const caPath = join(dataDir, 'pki', 'apiserver.crt');
    const tokens = files.tokenValues;
    const ready = () => waitForApiServer(server, caPath, tokens.admin, apiserver);
    await ready();
    const caPem = await readFile(caPath, 'utf8');
    const kubeconfigs = await writeKubeconfigs(dataDir, server, caPem, tokens);

    const controllerManager = startProcess(
      'kube-controller-manager',
      join(binDir, 'kube-controller-manager'),
      [
        `--kubeconfig=${kubeconfigs.admin}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--use-service-account-credentials=false',
        `--service-account-private-key-file=${files.serviceAccountKey}`,
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--concurrent-replicaset-syncs=10',
        '--concurrent-deployment-syncs=10',
        '--concurrent-statefulset-syncs=10',
        '--v=0',
      ],
      dataDir,
    );
    processes.push(controllerManager);
    const scheduler = startProcess(
      'kube-scheduler',
      join(binDir, 'kube-scheduler'),
      [`--config=${await writeSchedulerConfig(dataDir, kubeconfigs.admin)}`, '--secure-port=0', '--v=0'],
      dataDir,
    );
    processes.push(scheduler);
    const kwok = startProcess(
      'kwok',
      join(binDir, 'kwok'),
      [
        `--kubeconfig=${kubeconfigs.admin}`,
        `--config=${join(projectRoot, 'test/bed/kwok.yaml')}`,
        '--manage-nodes-with-label-selector=type=kwok',
        `--server-address=127.0.0.1:${kwokPort}`,
        '--cidr=10.244.0.1/16',
      ],
      dataDir,
    );
    processes.push(kwok);
    await Promise.all([
      waitUntil('kwok', () => httpOk(`http://127.0.0.1:${kwokPort}/healthz`), {
        timeoutMs: 30_000,
        process: kwok,
      }),
      // The controllers and scheduler are up once their leases... they run without leader election,
      // so "up" means still running a moment after the API server answered them.
      waitUntil('kube-controller-manager', () => Promise.resolve(controllerManager.child.exitCode === null), {
        timeoutMs: 5_000,
        process: controllerManager,
      }),
      waitUntil('kube-scheduler', () => Promise.resolve(scheduler.child.exitCode === null), {
        timeoutMs: 5_000,
        process: scheduler,
      }),
    ]);
    log(`control plane ready in ${Date.now() - started} ms at ${server} (data ${dataDir})`);

    return {
      server,
      caData: Buffer.from(caPem).toString('base64'),
      tokens,
      dataDir,
      binDir,
      auditLogPath: files.auditLog,
      kubeconfigPath: (identity) => kubeconfigs[identity],
      async restartApiServer() {
        await apiserver.stop();
        apiserver = startApi();
        processes.push(apiserver);
        await ready();
      },
      async stop() {
        await stopAll(processes);
        await rm(dataDir, { recursive: true, force: true });
        forget();
      },
    };
  } catch (error) {
    await stopAll(processes);
    await rm(dataDir, { recursive: true, force: true });
    forget();
    throw error;
  }
}

async function stopAll(processes: ManagedProcess[]): Promise<void> {
  // Clients first, etcd last, so nothing logs a storm of connection errors on the way down.
  for (const p of [...processes].reverse()) await p.stop();
}

interface ConfigFiles {
  tokens: string;
  tokenValues: Record<Identity, string>;
  serviceAccountKey: string;
  webhook: string | undefined;
  auditPolicy: string | undefined;
  auditLog: string | undefined;
}

async function writeConfigFiles(dataDir: string, options: ControlPlaneOptions): Promise<ConfigFiles> {
  await mkdir(join(dataDir, 'pki'), { recursive: true });
  const tokenValues: Record<Identity, string> = {
    admin: randomBytes(24).toString('hex'),
    drainer: randomBytes(24).toString('hex'),
  };
  const tokens = join(dataDir, 'tokens.csv');
  await writeFile(
    tokens,
    [
      `${tokenValues.admin},admin,admin,"system:masters"`,
      `${tokenValues.drainer},eks-spot-drainer:test,drainer,"${drainerGroup}"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccountKey = join(dataDir, 'pki', 'sa.key');
  await writeFile(serviceAccountKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });

  let webhook: string | undefined;
  if (options.authenticationWebhookUrl) {
    webhook = join(dataDir, 'authn-webhook.kubeconfig');
    await writeFile(
      webhook,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'authn', cluster: { server: options.authenticationWebhookUrl } }],
        users: [{ name: 'apiserver', user: {} }],
        contexts: [{ name: 'authn', context: { cluster: 'authn', user: 'apiserver' } }],
        'current-context': 'authn',
      }),
    );
  }
  let auditPolicy: string | undefined;
  let auditLog: string | undefined;
  if (options.auditLog) {
    auditPolicy = join(dataDir, 'audit-policy.yaml');
    auditLog = join(dataDir, 'audit.log');
    await writeFile(
      auditPolicy,
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'omitStages: ["RequestReceived", "ResponseStarted"]',
        'rules:',
        '  - level: Metadata',
        '',
      ].join('\n'),
    );
  }
  return { tokens, tokenValues, serviceAccountKey, webhook, auditPolicy, auditLog };
}

async function writeKubeconfigs(
  dataDir: string,
  server: string,
  caPem: string,
  tokens: Record<Identity, string>,
): Promise<Record<Identity, string>> {
  const paths = {} as Record<Identity, string>;
  for (const identity of ['admin', 'drainer'] as const) {
    const path = join(dataDir, `${identity}.kubeconfig`);
    await writeFile(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'local',
            cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
          },
        ],
        users: [{ name: identity, user: { token: tokens[identity] } }],
        contexts: [{ name: identity, context: { cluster: 'local', user: identity } }],
        'current-context': identity,
      }),
      { mode: 0o600 },
    );
    paths[identity] = path;
  }
  return paths;
}

async function writeSchedulerConfig(dataDir: string, kubeconfig: string): Promise<string> {
  const path = join(dataDir, 'scheduler.yaml');
  // The default 50 QPS would make the scheduler, not the drain, the bottleneck of a 1 500-pod burst.
  await writeFile(
    path,
    [
      'apiVersion: kubescheduler.config.k8s.io/v1',
      'kind: KubeSchedulerConfiguration',
      'clientConnection:',
      `  kubeconfig: ${JSON.stringify(kubeconfig)}`,
      '  qps: 500',
      '  burst: 1000',
      'leaderElection:',
      '  leaderElect: false',
      '',
    ].join('\n'),
  );
  return path;
}

async function waitForApiServer(server: string, caPath: string, token: string, apiserver: ManagedProcess) {
  await waitUntil(
    'kube-apiserver',
    async () => {
      if (!existsSync(caPath)) return false;
      const ca = await readFile(caPath);
      return httpsOk(`${server}/readyz`, ca, token);
    },
    { timeoutMs: 90_000, process: apiserver, intervalMs: 250 },
  );
}

function httpOk(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok,
    () => false,
  );
}

function httpsOk(url: string, ca: Buffer, token: string): Promise<boolean> {
  return new Promise((resolveOk) => {
    const req = request(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2_000 }, (res) => {
      res.resume();
      resolveOk(res.statusCode === 200);
    });
    req.on('error', () => resolveOk(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
