/**
 * `npx serverless deploy` as a user runs it, against the test bed's moto, then what a user checks:
 * every resource read back through the AWS APIs and compared with the template osls deployed (so a
 * rule or a statement added to serverless.yml is covered without touching this file). Then the
 * deployed artifact, taken back from the deployment bucket, runs the way Lambda's nodejs22.x runs it on
 * the real AWS event samples of test/fixtures/events/real, each routed first through the deployed
 * rules by EventBridge pattern matching, against the bed's control plane. `serverless remove` ends it
 * and must leave nothing behind.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configVariables } from '../../../src/config.js';
import { adminClients } from '../../bed/kube.js';
import { testCredentials } from '../../bed/testbed.js';
import { dashboardMetrics, metricKey } from '../../support/dashboard-metrics.js';
import { realSamples } from '../../support/real-samples.js';
import { unpackZip } from '../../support/zip.js';
import { type AwsClients, awsClients, readBack, stackValues } from './deployed-stack.js';
import { driveSamples, type SampleRun } from './drive-samples.js';
import { resolveIntrinsics, type StackValues } from './intrinsics.js';
import { leftovers } from './leftovers.js';
import { type Service, serviceCopy, type Template } from './service.js';

const bed = inject('testbed');
const root = resolve(import.meta.dirname, '../../..');

// Types moto's CloudFormation does not create (docs/testing.md says what covers them).
const notModelled = new Set(['AWS::EKS::AccessEntry', 'AWS::S3::BucketPolicy']);
// Types created and only checked to exist: osls's bucket (its objects are checked) and the version.
const existenceOnly = new Set(['AWS::S3::Bucket', 'AWS::Lambda::Version']);

describe('serverless deploy to the emulator', () => {
  const aws: AwsClients = awsClients(bed.awsEndpoint, bed.region, testCredentials);
  const admin = adminClients(bed.cluster);
  const workDirs: string[] = [];
  let service: Service;
  let template: Template;
  let stack: StackValues;
  let deployOutput = '';
  let removed = false;
  const logicalIdsOfType = (type: string) =>
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  const resolved = (value: unknown) => resolveIntrinsics(value, stack);

  beforeAll(async () => {
    const serviceName = (await readFile(join(root, 'serverless.yml'), 'utf8')).match(
      /^service:\s*(\S+)/m,
    )?.[1];
    service = await serviceCopy({
      stage: `deploy${Date.now().toString(36)}`,
      params: { clusters: bed.clusterName, region: bed.region },
      awsEndpoint: bed.awsEndpoint,
      region: bed.region,
      credentials: testCredentials,
    });
    deployOutput = await service.deploy();
    template = await service.template();
    stack = await stackValues(aws, `${serviceName}-${service.stage}`, template, bed.region);
  }, 300_000);

  afterAll(async () => {
    if (service && !removed) await service.remove().catch(() => {});
    await service?.dispose();
    await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('deploys the stack, creating every resource moto models', async () => {
    // Act
    const { Stacks = [] } = await aws.cloudFormation.send(
      new DescribeStacksCommand({ StackName: stack.stackName }),
    );
    const missing = Object.entries(template.Resources).filter(([id]) => !stack.created.includes(id));

    // Assess
    expect(deployOutput).toContain(`Service deployed to stack ${stack.stackName}`);
    expect(Stacks.map((s) => s.StackStatus)).toEqual(['UPDATE_COMPLETE']);
    expect([...new Set(missing.map(([, r]) => r.Type))].filter((type) => !notModelled.has(type))).toEqual([]);
  });

  it('reads back every resource as the template defines it', async () => {
    // Prepare
    const unchecked: string[] = [];
    let compared = 0;

    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (notModelled.has(resource.Type) || existenceOnly.has(resource.Type)) continue;
      const physicalId = stack.refs[logicalId];
      // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON.
      const props = resolved(resource.Properties ?? {}) as Record<string, any>;

      // Act
      const actual = await readBack(aws, resource.Type, physicalId ?? '', props);

      // Assess: each property the template sets, as the API returns it
      if (actual === undefined) {
        unchecked.push(`${logicalId} (${resource.Type})`);
        continue;
      }
      for (const [key, value] of Object.entries(actual)) {
        if (!(key in props)) continue;
        const expected = key === 'DashboardBody' ? JSON.parse(props[key]) : props[key];
        const got = key === 'DashboardBody' ? JSON.parse(value as string) : value;
        expect(got, `${logicalId}.${key}`).toEqual(expected);
        compared++;
      }
    }
    expect(unchecked, 'resources this test cannot read back').toEqual([]);
    expect(compared).toBeGreaterThan(40);
  });

  it('runs Node 22 on arm64 with every configuration variable, for the bed cluster', async () => {
    // Act
    const [fnId] = logicalIdsOfType('AWS::Lambda::Function');
    const { Configuration: fn } = await aws.lambda.send(
      new GetFunctionCommand({ FunctionName: stack.refs[fnId ?? ''] }),
    );

    // Assess
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    expect(Object.keys(fn?.Environment?.Variables ?? {})).toEqual(
      expect.arrayContaining(configVariables.map((v) => v.name)),
    );
    expect(fn?.Environment?.Variables?.MANAGED_CLUSTERS).toBe(bed.clusterName);
  });

  it('routes every rule to the function; event rules retry, then dead-letter', async () => {
    // Prepare
    const [fnId] = logicalIdsOfType('AWS::Lambda::Function');
    const [queueId] = logicalIdsOfType('AWS::SQS::Queue');
    const functionArn = stack.attributes[fnId ?? '']?.Arn;
    const queueArn = stack.attributes[queueId ?? '']?.Arn;

    // Act
    const rules = await Promise.all(
      logicalIdsOfType('AWS::Events::Rule').map((id) =>
        readBack(aws, 'AWS::Events::Rule', stack.refs[id] ?? '', {}),
      ),
    );

    // Assess
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(
        rule.Targets.map((t: { Arn: string }) => t.Arn),
        rule.Name,
      ).toEqual([functionArn]);
      if (!rule.EventPattern) continue;
      expect(rule.Targets[0].DeadLetterConfig, rule.Name).toEqual({ Arn: queueArn });
      expect(rule.Targets[0].RetryPolicy?.MaximumRetryAttempts, rule.Name).toBeGreaterThan(0);
    }
  });

  describe('the deployed artifact, on real AWS event samples', () => {
    let runs: SampleRun[];
    let bundleFiles: string[];

    beforeAll(async () => {
      // The code zip, back from the deployment bucket: the one the function runs (same SHA-256).
      const [fnId] = logicalIdsOfType('AWS::Lambda::Function');
      const { Configuration: fn } = await aws.lambda.send(
        new GetFunctionCommand({ FunctionName: stack.refs[fnId ?? ''] }),
      );
      const bucket = stack.refs.ServerlessDeploymentBucket ?? '';
      const { Contents = [] } = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const key = Contents.map((o) => o.Key ?? '').find((k) => k.endsWith('.zip')) ?? '';
      const object = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const zip = Buffer.from(await object.Body!.transformToByteArray());
      expect(createHash('sha256').update(zip).digest('base64'), 'CodeSha256').toBe(fn?.CodeSha256);
      const dir = await mkdtemp(join(tmpdir(), 'sls-deployed-'));
      workDirs.push(dir);
      bundleFiles = await unpackZip(zip, join(dir, 'task'));
      runs = await driveSamples({
        bed,
        admin,
        aws,
        fn: fn ?? {},
        taskRoot: join(dir, 'task'),
        node: join(root, 'node_modules/.bin/node'),
        ruleNames: logicalIdsOfType('AWS::Events::Rule').map((id) => stack.refs[id] ?? ''),
        account: stack.account,
      });
    }, 300_000);

    it('is the bundle, its chunks and their source maps, as serverless-esbuild built them', () => {
      const modules = bundleFiles.filter((name) => name.endsWith('.mjs')).sort();
      expect(modules).toContain('handlers/interruption.mjs');
      expect(modules.filter((name) => !/^handlers\/(interruption|chunks\/[\w-]+)\.mjs$/.test(name))).toEqual(
        [],
      );
      expect(modules.length).toBeGreaterThan(2);
      expect([...bundleFiles].sort()).toEqual([...modules, ...modules.map((name) => `${name}.map`)].sort());
    });

    describe.each(realSamples.map((s) => [s.file, s] as const))('%s', (file, sample) => {
      const runOf = () => runs.find((r) => r.sample.file === file)!;

      it(sample.routed ? 'matches an enabled rule of ours' : 'matches no enabled rule of ours', () => {
        // Assess
        const run = runOf();
        // One rule exactly: two would invoke the function twice for one event.
        expect(
          run.matchedRules.map((r) => r.name),
          run.routingNote,
        ).toHaveLength(sample.routed ? 1 : 0);
        // With `account` in a pattern (security issue #16), the sample's own account must not match.
        for (const rule of run.matchedRules) {
          if (rule.hasAccount) expect(rule.foreignAccountMatches, rule.name).toBe(false);
        }
      });

      it(`leaves the node ${sample.outcome}`, async () => {
        // Prepare
        const run = runOf();

        // Act
        const node = await admin.core.readNode({ name: run.node.name });
        const pods = await admin.core.listNamespacedPod({
          namespace: run.namespace,
          fieldSelector: `spec.nodeName=${run.node.name}`,
        });

        // Assess
        expect(run.invocation?.error).toBeUndefined();
        expect(node.spec?.unschedulable ?? false).toBe(['drained', 'cordoned'].includes(sample.outcome));
        expect(pods.items.length).toBe(sample.outcome === 'drained' ? 0 : 2);
        if (sample.routed && sample.outcome === 'untouched') {
          // Routed, then dropped: a retry cannot fix a malformed event.
          expect(run.invocation?.result).toMatchObject({ status: 'invalid', notices: [] });
        }
        if (sample.outcome !== 'untouched') {
          expect(run.invocation?.result).toMatchObject({
            status: 'handled',
            notices: [{ kind: sample.kind, instanceId: run.node.instanceId, outcome: sample.outcome }],
          });
        }
        if (sample.lifecycle) {
          expect(run.lifecycleCompletions).toEqual([
            expect.objectContaining({
              AutoScalingGroupName: sample.lifecycle.autoScalingGroupName,
              LifecycleHookName: sample.lifecycle.lifecycleHookName,
              LifecycleActionToken: sample.lifecycle.lifecycleActionToken,
              InstanceId: run.node.instanceId,
              LifecycleActionResult: 'CONTINUE',
            }),
          ]);
        }
      });
    });

    it('writes only metrics the dashboard shows, under the same dimensions', async () => {
      // Prepare
      const [dashboardId] = logicalIdsOfType('AWS::CloudWatch::Dashboard');
      const deployed = await readBack(
        aws,
        'AWS::CloudWatch::Dashboard',
        stack.refs[dashboardId ?? ''] ?? '',
        {},
      );
      const widgets = dashboardMetrics(JSON.parse(deployed.DashboardBody));
      const [fnId] = logicalIdsOfType('AWS::Lambda::Function');
      const variables = resolved(template.Resources[fnId ?? '']?.Properties.Environment.Variables) as Record<
        string,
        string
      >;

      // Act: the EMF documents the deployed artifact wrote to its log
      const written = runs.flatMap((r) => r.metrics);
      const shown = new Set(widgets.map(metricKey));

      // Assess
      expect(new Set(written.map((m) => m.namespace))).toEqual(
        new Set([variables.POWERTOOLS_METRICS_NAMESPACE]),
      );
      expect(new Set(written.map((m) => m.name)).size).toBeGreaterThanOrEqual(8);
      expect([...new Set(written.map(metricKey))].filter((key) => !shown.has(key))).toEqual([]);
      // Lambda's and SQS's own metrics name the deployed function and queue.
      const names = Object.values(stack.refs);
      for (const widget of widgets.filter((w) => w.namespace.startsWith('AWS/'))) {
        for (const value of Object.values(widget.dimensions)) {
          expect(
            names.some((name) => name === value || name.endsWith(`/${value}`)),
            value,
          ).toBe(true);
        }
      }
    });
  });

  it('removes everything with serverless remove', async () => {
    // Act
    const output = await service.remove();
    removed = true;

    // Assess
    expect(output).toContain('has been successfully removed');
    expect(await leftovers(aws, stack, template)).toEqual([]);
  }, 120_000);
});
