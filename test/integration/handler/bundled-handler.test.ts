/**
 * The bundle Lambda runs, run as Lambda runs it: built with serverless.yml's esbuild options, imported
 * by a fresh Node 22 process with the function's environment, invoked with each EventBridge fixture
 * against moto, the IAM-authenticator stand-in and the real control plane. Its stdout is what
 * CloudWatch Logs would keep, so the logs are checked too: one correlated story per drain, no secret.
 * The bundle is split: each process records the files it loaded, to show that a Spot notice loads
 * the entry and its static chunks only, and that the reconcile, the fan-out and Auto Scaling load
 * their chunks when they first run, and work.
 *
 * LOG_STORY=1 prints the log lines of the Spot interruption's invocation.
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SampleKind } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import { awsSaysSo } from '../../bed/aws-witnesses.js';
import {
  adminClients,
  createNamespace,
  createSpotNode,
  type SpotNode,
  uniqueSuffix,
  waitForReadyPods,
} from '../../bed/kube.js';
import { sharedBedEnv } from '../../bed/lambda.js';

import { createInstance } from '../../bed/moto.js';
import { testCredentials } from '../../bed/testbed.js';
import { createDeployment } from '../../bed/workloads.js';
import { type AutoScalingStub, startAutoScalingStub } from '../../support/autoscaling-stub.js';
import { filesWith, withStaticImports } from '../../support/chunk-layout.js';
import {
  type BuiltHandler,
  buildHandler,
  type Invocation,
  invokeLikeLambda,
  jsonLines,
  readServerlessBuild,
  type ServerlessBuild,
} from '../../support/lambda-bundle.js';
import { type LambdaStub, startLambdaStub } from '../../support/lambda-stub.js';
import { liveEvent } from '../../support/live-event.js';

const bed = inject('testbed');
const root = resolve(import.meta.dirname, '../../..');
const node22 = join(root, 'node_modules/.bin/node');
const functionName = 'eks-spot-drainer-ci-interruption';
const sessionToken = 'IQoJb3JpZ2luX2VjEBundledHandlerTestSessionToken0123456789';

interface Expected {
  instances: number;
  /** The notice kind the event parses to. */
  kind?: string;
  status: 'handled' | 'ignored';
  notices?: { action: string; status: string; outcome: string; lifecycleAction?: string }[];
  /** An instance running again: what became of its node. */
  running?: string;
  /** A launch hook: what became of it. */
  launch?: string;
}
const drained = { action: 'drain', status: 'done', outcome: 'drained' };

// Every fixture in test/fixtures/events, and what the function must do with it.
const expectations: Record<SampleKind, Expected> = {
  'spot-interruption': { instances: 1, kind: 'spot-interruption', status: 'handled', notices: [drained] },
  'rebalance-recommendation': {
    instances: 1,
    kind: 'rebalance-recommendation',
    status: 'handled',
    notices: [{ action: 'cordon', status: 'done', outcome: 'cordoned' }],
  },
  'state-change-stopping': { instances: 1, kind: 'state-change', status: 'handled', notices: [drained] },
  // Its node was never marked: one look at it, nothing changed.
  'state-change-running': { instances: 1, status: 'handled', running: 'not-marked' },
  'scheduled-change': {
    instances: 2,
    kind: 'scheduled-change',
    status: 'handled',
    notices: [drained, drained],
  },
  'asg-terminate': {
    instances: 1,
    kind: 'asg-terminate',
    status: 'handled',
    notices: [{ ...drained, lifecycleAction: 'completed' }],
  },
  'asg-test-notification': { instances: 0, status: 'ignored' },
  'capacity-reservation-interruption': {
    instances: 1,
    kind: 'capacity-reservation-interruption',
    status: 'handled',
    notices: [drained],
  },
  // Its node is Ready: the launch hook is completed, the node left as it is.
  'asg-launch': { instances: 1, status: 'handled', launch: 'continued' },
};

// Code a Spot notice never runs, which must come in chunks of its own (inputs, as esbuild names them).
const deferredCode = [
  'node_modules/@aws-sdk/client-auto-scaling/',
  'node_modules/@aws-sdk/client-lambda/',
  'node_modules/@aws-sdk/client-secrets-manager/',
  'node_modules/@aws-sdk/client-ssm/',
  'src/app/reconcile-all.ts',
  'src/notify/webhook.ts',
];

interface World {
  event: Record<string, unknown>;
  nodes: SpotNode[];
  namespace: string;
}

describe('the bundled handler, run as Lambda runs it', () => {
  const admin = adminClients(bed.cluster);
  const workDirs: string[] = [];
  const worlds = new Map<SampleKind, World>();
  const invocations = new Map<SampleKind, Invocation & { requestId: string }>();
  let spec: ServerlessBuild;
  let built: BuiltHandler;
  let stub: AutoScalingStub;
  let lambdaStub: LambdaStub;

  /** The function's environment in Lambda: the runtime's variables and serverless.yml's. */
  const lambdaEnv = (): Record<string, string> => ({
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: spec.handler,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2025/06/05/[$LATEST]0123456789abcdef0123456789abcdef',
    AWS_REGION: bed.region,
    AWS_DEFAULT_REGION: bed.region,
    AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: bed.awsEndpoint,
    // moto answers CompleteLifecycleAction with HTTP 500; the SDK's service-specific endpoint wins.
    AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
    MANAGED_CLUSTERS: bed.clusterName,
    ...sharedBedEnv,
    // Heartbeats every second, so the asg-terminate drain (pods take 3 s) sends some.
    LIFECYCLE_HEARTBEAT_SECONDS: '1',
    // The sample's maintenance starts in an hour: within this lead it is drained now, not recorded.
    SCHEDULED_DRAIN_LEAD_MINUTES: '120',
    // Both instances of the Health sample drained by this one invocation (fan-out: fan-out.test.ts).
    FAN_OUT_EVENTS: 'false',
    POWERTOOLS_SERVICE_NAME: 'eks-spot-drainer',
    POWERTOOLS_METRICS_NAMESPACE: 'EksSpotDrainer',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    NODE_OPTIONS: spec.nodeOptions,
  });

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bundled-handler-'));
    workDirs.push(dir);
    spec = await readServerlessBuild(root);
    built = await buildHandler(root, join(dir, 'task'), spec);
    // DescribeAutoScalingInstances (which confirms a hook's event) goes on to moto.
    stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
    lambdaStub = await startLambdaStub();
    const namespace = await createNamespace(admin.core, 'bundle');
    await Promise.all(
      (Object.entries(expectations) as [SampleKind, Expected][]).map(async ([kind, expected]) => {
        const nodes = await Promise.all(
          Array.from({ length: expected.instances }, async (_, i) => {
            const pool = `bundle-${uniqueSuffix()}`;
            const instance = await createInstance(bed.awsEndpoint, {
              clusterTagStyle: 'aws:eks:cluster-name',
              clusterName: bed.clusterName,
            });
            const node = await createSpotNode(admin.core, {
              instanceId: instance.instanceId,
              name: instance.privateDnsName,
              availabilityZone: instance.availabilityZone,
              extraLabels: { pool },
            });
            const app = `${kind}-${i}`.slice(0, 40);
            const slow = kind === 'asg-terminate';
            await createDeployment(admin, namespace, app, 2, {
              pool,
              gracePeriodSeconds: slow ? 10 : 2,
              ...(slow ? { exitAfter: '3s' } : {}),
            });
            await waitForReadyPods(admin.core, namespace, `app=${app}`, 2);
            return node;
          }),
        );
        const event = liveEvent(
          kind,
          nodes.map((n) => n.instanceId),
        );
        await awsSaysSo(bed, event);
        worlds.set(kind, { event, nodes, namespace });
      }),
    );
  }, 300_000);

  afterAll(async () => {
    await stub?.stop();
    await lambdaStub?.stop();
    await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** One invocation in a fresh process, recording the files it loads. */
  const invokeWith = (event: unknown, env: Record<string, string> = {}) =>
    invokeLikeLambda({
      node: node22,
      built,
      env: { ...lambdaEnv(), ...env },
      event,
      requestId: randomUUID(),
      timeoutMs: 60_000,
      recordModules: true,
    });

  async function invoke(kind: SampleKind) {
    const requestId = randomUUID();
    const invocation = await invokeLikeLambda({
      node: node22,
      built,
      env: lambdaEnv(),
      event: worlds.get(kind)!.event,
      requestId,
      timeoutMs: 60_000,
      recordModules: true,
    });
    invocations.set(kind, { ...invocation, requestId });
    if (process.env.LOG_STORY === '1' && kind === 'spot-interruption') {
      console.log(`--- log story of ${kind} (${requestId}) ---\n${invocation.stdout}${invocation.stderr}`);
    }
    return invocation;
  }

  const podsOn = async (node: SpotNode, namespace: string) =>
    (await admin.core.listNamespacedPod({ namespace, fieldSelector: `spec.nodeName=${node.name}` })).items;

  it('builds with the options serverless.yml gives serverless-esbuild, for the nodejs22.x runtime', async () => {
    // Act
    const { stdout: version } = await promisify(execFile)(node22, ['--version']);

    // Assess
    expect(spec.runtime).toBe('nodejs22.x');
    expect(version.trim()).toMatch(/^v22\./);
    expect(spec.handler).toBe('handlers/interruption.handler');
    expect(spec.esbuild).toMatchObject({
      bundle: true,
      minify: true,
      sourcemap: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      splitting: true,
      outExtension: { '.js': '.mjs' },
      external: [],
    });
    expect(spec.esbuild.banner?.js).toBe(
      "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    );
    expect(built.bundlePath).toBe(join(built.taskRoot, 'handlers/interruption.mjs'));
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs).toContain('src/shims/whatwg-url.ts');
    expect(inputs.some((input) => input.includes('node_modules/whatwg-url/'))).toBe(false);
    // KubeConfig's kubeconfig-file and proxy extras, which the function never reaches, are stand-ins.
    expect(inputs).toContain('src/shims/kubeconfig-extras.ts');
    for (const extra of ['js-yaml', 'jsonpath-plus', 'socks-proxy-agent', 'hpagent']) {
      expect(inputs.filter((input) => input.includes(`node_modules/${extra}/`))).toEqual([]);
    }
    expect(inputs.some((input) => input.includes('node_modules/@aws-sdk/client-auto-scaling/'))).toBe(true);
    console.info(`bundle handlers/interruption.mjs: ${(built.bytes / 1024).toFixed(1)} KiB`);
  });

  it('splits off, into chunks only import() reaches, what a Spot notice does not need', () => {
    // Prepare
    const { layout } = built;
    const kib = (paths: string[]) =>
      (paths.reduce((sum, p) => sum + layout.files[p]!.bytes, 0) / 1024).toFixed(1);

    // Act
    const holding = Object.fromEntries(deferredCode.map((code) => [code, filesWith(layout, code)]));

    // Assess
    expect(layout.entry).toBe('handlers/interruption.mjs');
    for (const file of Object.keys(layout.files).filter((f) => f !== layout.entry)) {
      expect(file).toMatch(/^handlers\/chunks\/[\w-]+\.mjs$/);
    }
    for (const [code, files] of Object.entries(holding)) {
      expect(files.length, code).toBeGreaterThan(0);
      expect(
        files.filter((f) => layout.loadedWithEntry.includes(f)),
        code,
      ).toEqual([]);
    }
    console.info(
      `loaded with the entry: ${layout.loadedWithEntry.length} files, ${kib(layout.loadedWithEntry)} KiB; ` +
        `deferred: ${layout.deferred.length} files, ${kib(layout.deferred)} KiB`,
    );
  });

  it('covers every fixture in test/fixtures/events', async () => {
    // Act
    const files = (await readdir(join(root, 'test/fixtures/events'))).filter((f) => f.endsWith('.json'));

    // Assess
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual(Object.keys(expectations).sort());
  });

  describe.each(Object.keys(expectations) as SampleKind[])('%s', (kind) => {
    it('is handled as expected', async () => {
      // Prepare
      const expected = expectations[kind];
      const world = worlds.get(kind)!;

      // Act
      const invocation = await invoke(kind);

      // Assess
      expect(invocation.error).toBeUndefined();
      expect(invocation.result).toMatchObject({
        eventId: world.event.id,
        status: expected.status,
        notices: (expected.notices ?? []).map((n, i) => ({
          ...n,
          instanceId: world.nodes[i]!.instanceId,
          node: world.nodes[i]!.name,
          ...(n.outcome === 'drained' ? { counts: { evicted: 2 } } : {}),
        })),
        ...(expected.running ? { running: { status: expected.running, node: world.nodes[0]!.name } } : {}),
        ...(expected.launch ? { launch: { status: expected.launch, node: world.nodes[0]!.name } } : {}),
      });
      for (const [i, node] of world.nodes.entries()) {
        const after = await admin.core.readNode({ name: node.name });
        const outcome = expected.notices?.[i]?.outcome;
        expect(after.spec?.unschedulable ?? false, node.name).toBe(outcome !== undefined);
        expect((await podsOn(node, world.namespace)).length, node.name).toBe(outcome === 'drained' ? 0 : 2);
        if (outcome) {
          expect(recordOn(after)).toMatchObject({
            state: outcome,
            reasons: [expect.objectContaining({ eventId: world.event.id })],
          });
        }
      }
    });

    it('logs a correlated story without a secret', () => {
      // Prepare
      const invocation = invocations.get(kind);
      expect(invocation, 'the invocation ran').toBeDefined();
      const { stdout, stderr, requestId } = invocation!;
      const output = `${stdout}${stderr}`;
      const world = worlds.get(kind)!;
      const lines = jsonLines(output);
      const logs = lines.filter((l) => typeof l.level === 'string' && typeof l.message === 'string');
      const metrics = lines.filter((l) => l._aws);

      // Assess: nothing that opens a door
      for (const secret of [
        'k8s-aws-v1.',
        'X-Amz-Signature',
        testCredentials.secretAccessKey,
        sessionToken,
      ]) {
        expect(output, secret).not.toContain(secret);
      }
      // Assess: structured output only (CloudWatch Logs Insights cannot query a plain-text line)
      expect(output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'))).toEqual([]);
      // Assess: every line belongs to this invocation
      expect(logs.length).toBeGreaterThan(0);
      for (const line of logs) {
        expect(line, line.message).toMatchObject({
          function_request_id: requestId,
          function_name: functionName,
        });
      }
      expect(logs.at(-1)).toMatchObject({ message: 'event handled', report: { eventId: world.event.id } });
      // Assess: each notice's lines tell one story, keyed by event, kind, instance, cluster and node
      for (const node of world.nodes) {
        const story = logs.filter((l) => l.instanceId === node.instanceId);
        for (const line of story) expect(line.eventId, line.message).toBe(world.event.id);
        const drainLines = story.filter((l) =>
          ['node found', 'drain started', 'drain finished'].includes(l.message),
        );
        if (
          expectations[kind].status === 'ignored' ||
          expectations[kind].running ||
          expectations[kind].launch
        ) {
          expect(drainLines).toEqual([]);
          continue;
        }
        expect(drainLines.map((l) => l.message)).toEqual(
          expectations[kind].notices?.[0]?.action === 'drain'
            ? ['node found', 'drain started', 'drain finished']
            : ['node found', 'drain finished'],
        );
        for (const line of drainLines) {
          expect(line, line.message).toMatchObject({
            eventId: world.event.id,
            kind: expectations[kind].kind,
            instanceId: node.instanceId,
            cluster: bed.clusterName,
            node: node.name,
          });
        }
      }
      // Assess: the metrics went out as EMF, once per invocation plus one per notice
      const notices = expectations[kind].notices?.length ?? 0;
      expect(metrics.filter((m) => 'NoticesReceived' in m)).toHaveLength(notices);
      expect(metrics.every((m) => m._aws.CloudWatchMetrics[0].Namespace === 'EksSpotDrainer')).toBe(true);
      if (expectations[kind].notices?.[0]?.outcome === 'drained') {
        expect(metrics.some((m) => 'NodesDrained' in m)).toBe(true);
      }
    });
  });

  it('loads, for a Spot notice, the entry and the chunks it imports statically, and nothing else', () => {
    // Act
    const loaded = invocations.get('spot-interruption')?.modules;

    // Assess
    expect(loaded, 'the invocation ran').toBeDefined();
    // The bed's endpoints are http:, for which the SDK runs import('node:http'): a chunk that only hands
    // over the built-in (esbuild-plugins.cjs). AWS's https: endpoints do not load it.
    const handsOverBuiltin = (file: string) =>
      !built.layout.loadedWithEntry.includes(file) &&
      (built.layout.files[file]?.bytes ?? Infinity) < 1_000 &&
      Object.keys(built.layout.files[file]?.inputs ?? {}).every((input) => input.startsWith('node-builtin:'));
    // The outcome event is put after the drain, with the EventBridge client loaded on that first use.
    const outcomeClient = withStaticImports(
      built.layout,
      filesWith(built.layout, '@aws-sdk/client-eventbridge/'),
    );
    const afterDrain = (file: string) =>
      outcomeClient.has(file) && !built.layout.loadedWithEntry.includes(file);
    expect(
      [...new Set(loaded)].filter((file) => !handsOverBuiltin(file) && !afterDrain(file)).sort(),
    ).toEqual(built.layout.loadedWithEntry);
  });

  it('loads the Auto Scaling chunk for a notice with a lifecycle hook', () => {
    // Act
    const loaded = invocations.get('asg-terminate')?.modules ?? [];
    const autoScaling = filesWith(built.layout, 'node_modules/@aws-sdk/client-auto-scaling/');

    // Assess
    expect(autoScaling.length).toBeGreaterThan(0);
    expect(autoScaling.filter((file) => !loaded.includes(file))).toEqual([]);
  });

  it('loads the reconcile with the schedule, and reconciles the cluster', async () => {
    // Prepare: the stack's schedule; a dry run decides and reports only (other tests share the cluster).
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: bed.region,
      resources: [`arn:aws:events:${bed.region}:123456789012:rule/eks-spot-drainer-ci-reconcile`],
      detail: {},
    };

    // Act
    const invocation = await invokeWith(event, { DRY_RUN: 'true' });

    // Assess
    expect(invocation.error).toBeUndefined();
    const [cluster, ...others] =
      (invocation.result as { reconcile?: Record<string, unknown>[] }).reconcile ?? [];
    expect(invocation.result).toMatchObject({ eventId: event.id, status: 'reconciled' });
    expect(others).toEqual([]);
    expect(cluster).toMatchObject({ cluster: bed.clusterName });
    expect(cluster).not.toHaveProperty('error');
    // The nodes this file drained are marked: the pass read them.
    expect(cluster?.nodes).toBeGreaterThanOrEqual(worlds.get('spot-interruption')!.nodes.length);
    expect(
      filesWith(built.layout, 'src/app/reconcile-all.ts').filter((f) => !invocation.modules?.includes(f)),
    ).toEqual([]);
  });

  it('loads the Lambda client with the fan-out, and hands each instance to an invocation of its own', async () => {
    // Prepare: a Health event naming two instances of the cluster (EC2 is asked before any is
    // handed on); this function may invoke itself.
    const ids = await Promise.all(
      [1, 2].map(async () => {
        const instance = await createInstance(bed.awsEndpoint, {
          clusterTagStyle: 'aws:eks:cluster-name',
          clusterName: bed.clusterName,
        });
        return instance.instanceId;
      }),
    );
    const event = liveEvent('scheduled-change', ids);
    const before = lambdaStub.invocations.length;

    // Act
    const invocation = await invokeWith(event, {
      FAN_OUT_EVENTS: 'true',
      AWS_ENDPOINT_URL_LAMBDA: lambdaStub.endpoint,
    });

    // Assess
    expect(invocation.error).toBeUndefined();
    expect(invocation.result).toMatchObject({
      status: 'handled',
      notices: ids.map((instanceId) => ({ instanceId, status: 'delegated' })),
    });
    expect(
      lambdaStub.invocations.slice(before).map((i) => [i.functionName, i.invocationType, i.signedFor]),
    ).toEqual(ids.map(() => [functionName, 'Event', 'lambda']));
    const lambdaClient = filesWith(built.layout, 'node_modules/@aws-sdk/client-lambda/');
    expect(lambdaClient.filter((f) => !invocation.modules?.includes(f))).toEqual([]);
  });

  it('completes the lifecycle action with CONTINUE after heartbeats, through the Auto Scaling endpoint', () => {
    // Prepare
    const world = worlds.get('asg-terminate')!;
    const instanceId = world.nodes[0]!.instanceId;
    const lifecycle = {
      AutoScalingGroupName: 'eks-spot-workers',
      LifecycleHookName: 'eks-spot-drainer',
      LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
      InstanceId: instanceId,
    };

    // Act: this instance's calls (the asg-launch fixture's hook is another instance's)
    const calls = stub.calls.filter((c) => c.params.InstanceId === instanceId);
    const completions = calls.filter((c) => c.action === 'CompleteLifecycleAction');
    const heartbeats = calls.filter((c) => c.action === 'RecordLifecycleActionHeartbeat');

    // Assess
    expect(completions.map((c) => c.params)).toEqual([
      {
        Action: 'CompleteLifecycleAction',
        Version: '2011-01-01',
        ...lifecycle,
        LifecycleActionResult: 'CONTINUE',
      },
    ]);
    expect(heartbeats.length).toBeGreaterThan(0);
    for (const beat of heartbeats) expect(beat.params).toMatchObject(lifecycle);
    expect(calls.at(-1)?.action).toBe('CompleteLifecycleAction');
    expect(stub.calls.every((c) => c.signedFor === 'autoscaling')).toBe(true);
  });

  it('completes a launch hook with CONTINUE, its node Ready, through the Auto Scaling endpoint', () => {
    // Prepare
    const instanceId = worlds.get('asg-launch')!.nodes[0]!.instanceId;

    // Act
    const completions = stub.calls.filter(
      (c) => c.action === 'CompleteLifecycleAction' && c.params.InstanceId === instanceId,
    );

    // Assess
    expect(completions.map((c) => c.params)).toEqual([
      {
        Action: 'CompleteLifecycleAction',
        Version: '2011-01-01',
        AutoScalingGroupName: 'eks-spot-workers',
        LifecycleHookName: 'eks-spot-drainer-launch',
        LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
        LifecycleActionResult: 'CONTINUE',
        InstanceId: instanceId,
      },
    ]);
  });
});
