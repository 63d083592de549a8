/**
 * `npm run demo`: an EC2 Spot Instance Interruption Warning drains a node of a real Kubernetes
 * control plane, through the same code the Lambda function runs (createLambdaApp + handle), with
 * AWS played by moto; then an instance dies with a pod still bound to its node, freed by the
 * out-of-service taint. Starts everything, shows both live, cleans up.
 *
 *   npm run demo [-- --verbose]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLambdaApp } from '../src/app/lambda-app.js';
import { progressPrinter, renderReport } from '../src/cli/render.js';
import { duration, table } from '../src/cli/text.js';
import { sampleEvent } from '../src/events/samples.js';
import { recordOn } from '../src/interruption/record.js';
import { adminClients } from '../test/bed/kube.js';
import { startTestBed, type TestBed, testCredentials } from '../test/bed/testbed.js';
import { instanceGoneAct } from './instance-gone.js';
import { buildScene, podsByNode, type Scene } from './scene.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
const say = (line = '') => process.stdout.write(`${line}\n`);

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  say('usage: npm run demo [-- --verbose]   (--verbose: the JSON logs and metrics of the handler too)');
  process.exit(0);
}

// Ctrl-C: the test bed's own handler kills its processes and exits; the data dir goes last.
let dataDir: string | undefined;
process.prependListener('SIGINT', () => say('\ninterrupted: stopping the test bed'));
process.on('exit', () => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
});

/**
 * Whether scripts/control-plane.sh has built its binaries already (else this run builds them). Even
 * with KUBEBUILDER_ASSETS it builds what envtest lacks, KWOK among them.
 */
function controlPlaneCached(): boolean {
  const script = readFileSync(join(root, 'scripts/control-plane.sh'), 'utf8');
  const pinned = (name: string) =>
    process.env[name] ?? new RegExp(`${name}="\\$\\{${name}:-([^}]+)\\}"`).exec(script)?.[1];
  const dir = `k8s-${pinned('K8S_VERSION')}_etcd-${pinned('ETCD_VERSION')}_kwok-${pinned('KWOK_VERSION')}`;
  return existsSync(join(root, '.cache/control-plane', dir, 'bin/kwok'));
}

async function main(): Promise<void> {
  say('eks-spot-drainer demo: a Spot interruption warning drains a node of a real Kubernetes control plane');
  say();
  if (!controlPlaneCached()) {
    say(
      'First run: building kube-apiserver, etcd, KWOK & co. from source with Go (scripts/control-plane.sh).',
    );
    say('This takes about 10 minutes on 2 cores, once; the binaries are cached in .cache/control-plane/.');
  }
  if (!existsSync(join(root, '.cache/venv/bin/python'))) {
    say('First run: installing moto into a Python venv (scripts/python-venv.sh), once.');
  }
  say(
    'Starting moto (EC2, EKS, STS) and a control plane: etcd, kube-apiserver, controller-manager, scheduler, KWOK',
  );
  const started = Date.now();
  const bed = await startTestBed({
    log: verbose ? (line) => say(`  ${line}`) : () => {},
    // A first build runs for minutes: its progress (which binary, time elapsed) is always shown.
    buildProgress: (line) => say(`  ${line}`),
  });
  dataDir = bed.controlPlane.dataDir;
  try {
    say(
      `  ready in ${duration(Date.now() - started)}: API server ${bed.info.cluster.server}, moto ${bed.info.awsEndpoint}`,
    );
    await drainDemo(bed);
  } finally {
    say();
    say('Stopping the test bed');
    await bed.stop();
    dataDir = undefined;
  }
}

async function drainDemo(bed: TestBed): Promise<void> {
  const admin = adminClients(bed.info.cluster);
  say();
  say(
    `Creating 3 Spot nodes of EKS cluster "${bed.info.clusterName}" (KWOK nodes, EC2 instances in moto) and a workload:`,
  );
  const scene = await buildScene(bed.info, admin, say);
  say();
  say(`Pods on ${scene.doomed.name} (all Ready):`);
  for (const pod of (await podsByNode(admin, scene)).get(scene.doomed.name) ?? []) say(`  ${pod}`);

  // The function's environment, pointed at moto; the SDK reads credentials from the process env.
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    AWS_REGION: bed.info.region,
    AWS_ENDPOINT_URL: bed.info.awsEndpoint,
    AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
    MANAGED_CLUSTERS: bed.info.clusterName,
    POWERTOOLS_SERVICE_NAME: 'eks-spot-drainer',
    POWERTOOLS_LOG_LEVEL: verbose ? 'INFO' : 'WARN',
    POWERTOOLS_METRICS_DISABLED: verbose ? 'false' : 'true',
  });
  const app = createLambdaApp(process.env);
  const event = sampleEvent('spot-interruption', { instanceId: scene.doomed.instanceId });
  say();
  say(`EventBridge -> Lambda: "${event['detail-type']}" for ${scene.doomed.instanceId} (event ${event.id})`);
  say('The handler looks the instance up in EC2 (moto), finds cluster and endpoint through EKS (moto),');
  say('signs an EKS token (verified by the API server through an aws-iam-authenticator stand-in),');
  say('finds the node by providerID, then cordons and drains it before the two-minute deadline.');
  say();
  app.deps.onProgress = progressPrinter((line) => say(`  ${line}`));
  const lambdaDeadline = Date.now() + 660_000;
  const report = await app.handle(event, {
    awsRequestId: `demo-${randomBytes(4).toString('hex')}`,
    getRemainingTimeInMillis: () => lambdaDeadline - Date.now(),
  });
  say();
  for (const line of renderReport(report)) say(line);
  await showAftermath(admin, scene);
  await instanceGoneAct(bed.info, admin, app, scene, say);
}

async function showAftermath(admin: ReturnType<typeof adminClients>, scene: Scene): Promise<void> {
  say();
  say('Where the pods are now:');
  const short = (pod: string) => (pod.startsWith(`${scene.namespace}/`) ? pod.split('/')[1]! : pod);
  for (const [node, pods] of await podsByNode(admin, scene)) {
    say(`  ${node}${node === scene.doomed.name ? ' (interrupted)' : ''}`);
    say(`    ${pods.map(short).join(', ') || '(none)'}`);
  }
  const node = await admin.core.readNode({ name: scene.doomed.name });
  const taints = (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join(', ');
  const record = recordOn(node);
  say();
  say(
    `Node ${scene.doomed.name}: ${node.spec?.unschedulable ? 'cordoned' : 'schedulable'}, taints ${taints || '(none)'}`,
  );
  if (record)
    say(`  interruption record (annotation eks-spot-drainer/drain): ${record.state}, by ${record.holder}`);
  const events = await admin.core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.name=${scene.doomed.name}`,
  });
  const when = (e: (typeof events.items)[number]) =>
    new Date(e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? 0).getTime();
  const rows = events.items
    .filter((e) => e.source?.component === 'eks-spot-drainer')
    .sort((a, b) => when(a) - when(b))
    .map((e) => [e.type ?? '', e.reason ?? '', e.message ?? '']);
  say('  Events it recorded on the node (kubectl describe node shows them):');
  for (const line of table(['TYPE', 'REASON', 'MESSAGE'], rows, '    ')) say(line);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
