/**
 * Outcome events end to end, as a user sets them up: a bus of their own, a rule on it that sends
 * everything from `eks-spot-drainer` to an SQS queue, and the stack deployed with
 * `npx serverless deploy --param outcomeEventBus=<that bus>` against moto. The deployed artifact, run
 * as Lambda runs it against the bed's control plane, drains a node, cordons another, refuses a
 * forged notice, in a reconcile takes the drained node out of service once its instance is gone, and
 * gives a stopped node back when its instance's `running` event comes with its kubelet; each outcome
 * is read back from the queue and checked against the documented schema (docs/outcome-events.md).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sampleEvent } from '../../../src/events/samples.js';
import { outcomeDetailFields } from '../../../src/notify/outcome-events.js';
import { instances, setBootId, startKubelet, stopKubelet } from '../../bed/instance-life.js';
import {
  adminClients,
  createNamespace,
  type SpotNode,
  uniqueSuffix,
  waitForReadyPods,
} from '../../bed/kube.js';
import { sharedBedEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { testCredentials } from '../../bed/testbed.js';
import { createDeployment } from '../../bed/workloads.js';
import {
  type FunctionConfiguration,
  invokeLikeLambda,
  lambdaRuntimeEnv,
} from '../../support/lambda-bundle.js';
import { unpackZip } from '../../support/zip.js';
import { type AwsClients, awsClients, stackValues } from './deployed-stack.js';
import type { StackValues } from './intrinsics.js';
import { type Service, serviceCopy } from './service.js';

const bed = inject('testbed');
const root = resolve(import.meta.dirname, '../../..');

/** An event as the rule hands it to the queue: the EventBridge envelope around our detail. */
interface Delivered {
  source: string;
  'detail-type': string;
  account: string;
  region: string;
  // biome-ignore lint/suspicious/noExplicitAny: the detail is JSON, checked field by field.
  detail: Record<string, any>;
}

describe('outcome events, from a deployed stack to a rule of the user', () => {
  const aws: AwsClients = awsClients(bed.awsEndpoint, bed.region, testCredentials);
  const admin = adminClients(bed.cluster);
  const bus = `drain-outcomes-${uniqueSuffix()}`;
  const workDirs: string[] = [];
  const delivered: Delivered[] = [];
  let queueUrl: string;
  let service: Service;
  let stack: StackValues;
  let fn: FunctionConfiguration & { Timeout?: number; Role?: string };
  let taskRoot: string;
  let namespace: string;

  /** Runs the deployed artifact on `event`, as Lambda does; returns its request id and result. */
  async function invoke(event: unknown) {
    const requestId = randomUUID();
    const invocation = await invokeLikeLambda({
      node: join(root, 'node_modules/.bin/node'),
      built: { taskRoot },
      env: {
        ...lambdaRuntimeEnv(fn, bed.region),
        // What Lambda hands the function for its role; the bed's authenticator knows this key.
        AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
        AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEOutcomeEventsTestSessionToken0123',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL: bed.awsEndpoint,
        ...sharedBedEnv,
      },
      event,
      requestId,
      timeoutMs: (fn.Timeout ?? 60) * 1000,
    });
    expect(invocation.error, invocation.stdout.slice(-2000)).toBeUndefined();
    // biome-ignore lint/suspicious/noExplicitAny: the handler's result is untyped JSON.
    return { requestId, result: invocation.result as any, stdout: invocation.stdout };
  }

  /** The first event in the queue (read so far, or read now) that `matches`; fails after 20 s. */
  async function outcome(matches: (event: Delivered) => boolean): Promise<Delivered> {
    const end = Date.now() + 20_000;
    for (;;) {
      const found = delivered.find(matches);
      if (found) return found;
      if (Date.now() > end) {
        throw new Error(
          `no such event among ${delivered.length}: ${JSON.stringify(delivered.map((e) => [e['detail-type'], e.detail.node]))}`,
        );
      }
      const { Messages = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      delivered.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as Delivered));
      if (Messages.length > 0) {
        await aws.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    }
  }

  /** A node of its own pool with an instance in moto, and `replicas` pods on it. */
  async function nodeWithPods(replicas: number): Promise<SpotNode> {
    const pool = `outcomes-${uniqueSuffix()}`;
    const { node } = await spotNodeWithInstance(bed, admin, pool);
    if (replicas > 0) {
      const app = `outcomes-${uniqueSuffix()}`;
      await createDeployment(admin, namespace, app, replicas, { pool, gracePeriodSeconds: 2 });
      await waitForReadyPods(admin.core, namespace, `app=${app}`, replicas);
    }
    return node;
  }

  beforeAll(async () => {
    // The user's side: a bus, and a rule on it that sends every outcome event to a queue.
    await aws.events.send(new CreateEventBusCommand({ Name: bus }));
    ({ QueueUrl: queueUrl = '' } = await aws.sqs.send(new CreateQueueCommand({ QueueName: bus })));
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await aws.events.send(
      new PutRuleCommand({
        Name: 'all-outcomes',
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: ['eks-spot-drainer'] }),
      }),
    );
    await aws.events.send(
      new PutTargetsCommand({
        Rule: 'all-outcomes',
        EventBusName: bus,
        Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
      }),
    );
    // The stack, sending its outcome events to that bus.
    const serviceName = (await readFile(join(root, 'serverless.yml'), 'utf8')).match(
      /^service:\s*(\S+)/m,
    )?.[1];
    service = await serviceCopy({
      stage: `outcomes${Date.now().toString(36)}`,
      params: { clusters: bed.clusterName, region: bed.region, outcomeEventBus: bus },
      awsEndpoint: bed.awsEndpoint,
      region: bed.region,
      credentials: testCredentials,
    });
    await service.deploy();
    stack = await stackValues(aws, `${serviceName}-${service.stage}`, await service.template(), bed.region);
    // The code zip, back from the deployment bucket, unpacked as Lambda does.
    ({ Configuration: fn = {} } = await aws.lambda.send(
      new GetFunctionCommand({ FunctionName: stack.refs.InterruptionLambdaFunction }),
    ));
    const bucket = stack.refs.ServerlessDeploymentBucket ?? '';
    const { Contents = [] } = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const key = Contents.map((o) => o.Key ?? '').find((k) => k.endsWith('.zip')) ?? '';
    const zip = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const dir = await mkdtemp(join(tmpdir(), 'sls-outcomes-'));
    workDirs.push(dir);
    taskRoot = join(dir, 'task');
    await unpackZip(Buffer.from(await zip.Body!.transformToByteArray()), taskRoot);
    namespace = await createNamespace(admin.core, 'outcomes');
  }, 300_000);

  afterAll(async () => {
    await service?.remove().catch(() => {});
    await service?.dispose();
    await aws.events.send(
      new RemoveTargetsCommand({ Rule: 'all-outcomes', EventBusName: bus, Ids: ['queue'] }),
    );
    await aws.events.send(new DeleteRuleCommand({ Name: 'all-outcomes', EventBusName: bus }));
    await aws.events.send(new DeleteEventBusCommand({ Name: bus }));
    if (queueUrl) await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }, 120_000);

  it('names the bus to the function, and lets its role put events on that bus only', async () => {
    // Act
    const policy = await aws.iam.send(
      new GetRolePolicyCommand({
        RoleName: stack.refs.IamRoleLambdaExecution,
        PolicyName: 'put-outcome-events',
      }),
    );

    // Assess
    expect(fn.Environment?.Variables).toMatchObject({ OUTCOME_EVENTS: 'true', OUTCOME_EVENT_BUS: bus });
    expect(JSON.parse(decodeURIComponent(policy.PolicyDocument ?? '{}')).Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:${bed.region}:${stack.account}:event-bus/${bus}`,
      },
    ]);
  });

  describe('a Spot interruption, then the instance gone', () => {
    let node: SpotNode;
    let spot: ReturnType<typeof sampleEvent>;

    beforeAll(async () => {
      node = await nodeWithPods(2);
      spot = sampleEvent('spot-interruption', {
        instanceId: node.instanceId,
        account: stack.account,
        region: bed.region,
      });
    });

    it('puts Node Drained, with the schema docs/outcome-events.md documents', async () => {
      // Act
      const { requestId, result } = await invoke(spot);
      const event = await outcome((e) => e.detail.node === node.name && e.detail.by === 'notice');

      // Assess
      expect(result).toMatchObject({ status: 'handled', notices: [{ outcome: 'drained' }] });
      expect(event).toMatchObject({
        source: 'eks-spot-drainer',
        'detail-type': 'Node Drained',
        account: stack.account,
        region: bed.region,
      });
      expect(Object.keys(event.detail)).toEqual(outcomeDetailFields);
      expect(event.detail).toEqual({
        schemaVersion: 1,
        outcome: 'drained',
        cluster: bed.clusterName,
        node: node.name,
        instanceId: node.instanceId,
        kind: 'spot-interruption',
        eventId: spot.id,
        action: 'drain',
        by: 'notice',
        counts: { evicted: 2, skipped: expect.any(Number), blocked: 0, failed: 0, forceDeleted: 0 },
        podsLeft: 0,
        leftBehind: [],
        deadline: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        timeLeftMs: expect.any(Number),
        state: 'drained',
        why: expect.any(String),
        reason: null,
        invocationId: requestId,
      });
      // The deadline is the warning's two minutes, less the safety margin.
      expect(Date.parse(event.detail.deadline)).toBeLessThanOrEqual(Date.parse(String(spot.time)) + 120_000);
      expect(event.detail.timeLeftMs).toBeGreaterThan(0);
    });

    it('puts Node Out Of Service from the reconcile, naming the notice that held the node', async () => {
      // Prepare: the kubelet stops, then EC2 terminates the instance.
      await stopKubelet(admin.core, node.name);
      await instances.terminate(bed.awsEndpoint, node.instanceId);

      // Act: the stack's schedule fires.
      const { requestId, result } = await invoke({
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: stack.account,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: bed.region,
        resources: [`arn:aws:events:${bed.region}:${stack.account}:rule/${service.stage}-reconcile`],
        detail: {},
      });
      const event = await outcome((e) => e.detail.node === node.name && e.detail.by === 'reconcile');

      // Assess
      expect(result.status).toBe('reconciled');
      expect(event['detail-type']).toBe('Node Out Of Service');
      expect(event.detail).toMatchObject({
        outcome: 'out-of-service',
        cluster: bed.clusterName,
        instanceId: node.instanceId,
        kind: 'spot-interruption',
        eventId: spot.id,
        action: 'drain',
        state: 'out-of-service',
        deadline: null,
        timeLeftMs: null,
        reason: null,
        invocationId: requestId,
      });
    });
  });

  it('puts Node Released when a stopped instance runs again and its kubelet is back', async () => {
    // Prepare: a Spot stop warning drains the node; its kubelet stops and EC2 stops the instance.
    const node = await nodeWithPods(1);
    await setBootId(admin.core, node.name, `boot-${uniqueSuffix()}`);
    const stop = sampleEvent('spot-interruption', {
      instanceId: node.instanceId,
      instanceAction: 'stop',
      account: stack.account,
      region: bed.region,
    });
    await invoke(stop);
    await stopKubelet(admin.core, node.name);
    await instances.stop(bed.awsEndpoint, node.instanceId);
    // EC2 and the API server keep whole seconds: the start is a later second than the stop.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await instances.start(bed.awsEndpoint, node.instanceId);
    await startKubelet(admin.core, node.name, `boot-${uniqueSuffix()}`);

    // Act
    const { requestId, result } = await invoke(
      sampleEvent('state-change-running', {
        instanceId: node.instanceId,
        account: stack.account,
        region: bed.region,
      }),
    );
    const event = await outcome((e) => e.detail.node === node.name && e.detail.by === 'running');

    // Assess
    expect(result).toMatchObject({ status: 'handled', running: { status: 'moved-on', outcome: 'released' } });
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBeFalsy();
    expect(event['detail-type']).toBe('Node Released');
    expect(Object.keys(event.detail)).toEqual(outcomeDetailFields);
    expect(event.detail).toMatchObject({
      outcome: 'released',
      cluster: bed.clusterName,
      instanceId: node.instanceId,
      kind: 'spot-interruption',
      eventId: stop.id,
      action: 'drain',
      counts: { evicted: 0, skipped: 0, blocked: 0, failed: 0, forceDeleted: 0 },
      podsLeft: 0,
      deadline: null,
      timeLeftMs: null,
      state: null,
      reason: null,
      invocationId: requestId,
    });
  });

  it('puts Node Cordoned for a rebalance recommendation', async () => {
    // Prepare
    const node = await nodeWithPods(0);
    const rebalance = sampleEvent('rebalance-recommendation', {
      instanceId: node.instanceId,
      account: stack.account,
      region: bed.region,
    });

    // Act
    await invoke(rebalance);
    const event = await outcome((e) => e.detail.node === node.name);

    // Assess
    expect(event['detail-type']).toBe('Node Cordoned');
    expect(event.detail).toMatchObject({
      outcome: 'cordoned',
      kind: 'rebalance-recommendation',
      eventId: rebalance.id,
      action: 'cordon',
      state: 'cordoned',
      podsLeft: 0,
    });
  });

  it('puts Notice Rejected for a notice from another account, and touches nothing', async () => {
    // Prepare
    const node = await nodeWithPods(0);
    const forged = sampleEvent('spot-interruption', {
      instanceId: node.instanceId,
      account: '111122223333',
      region: bed.region,
    });

    // Act
    const { result } = await invoke(forged);
    const event = await outcome((e) => e.detail.instanceId === node.instanceId);

    // Assess
    expect(result.status).toBe('rejected');
    expect(event['detail-type']).toBe('Notice Rejected');
    expect(event.detail).toMatchObject({
      outcome: 'rejected',
      cluster: null,
      node: null,
      kind: 'spot-interruption',
      eventId: forged.id,
      reason: 'wrong-account',
      why: expect.stringContaining('111122223333'),
    });
    expect((await admin.core.readNode({ name: node.name })).spec?.unschedulable).toBeFalsy();
  });
});
