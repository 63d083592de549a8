/**
 * The real AWS event samples through the deployed stack: each localized onto a node of the test bed,
 * routed by EventBridge pattern matching (TestEventPattern) through the deployed rules, and, where a
 * rule matches, handled by the deployed artifact run as Lambda's nodejs22.x runs it.
 */
import { randomUUID } from 'node:crypto';
import { DescribeRuleCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { awsSaysSo } from '../../bed/aws-witnesses.js';
import type { AdminClients } from '../../bed/kube.js';
import { createNamespace, type SpotNode, uniqueSuffix, waitForReadyPods } from '../../bed/kube.js';
import { sharedBedEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import type { TestBedInfo } from '../../bed/testbed.js';
import { testCredentials } from '../../bed/testbed.js';
import { createDeployment } from '../../bed/workloads.js';
import { startAutoScalingStub } from '../../support/autoscaling-stub.js';
import { emfMetrics, type MetricId } from '../../support/dashboard-metrics.js';
import {
  type FunctionConfiguration,
  type Invocation,
  invokeLikeLambda,
  jsonLines,
  lambdaRuntimeEnv,
} from '../../support/lambda-bundle.js';
import { loadRealSample, localizeSample, type RealSample, realSamples } from '../../support/real-samples.js';
import type { AwsClients } from './deployed-stack.js';

/** An account of the AWS documentation's examples, for a sample whose own account is ours. */
const FOREIGN_ACCOUNT = '444455556666';

export interface MatchedRule {
  name: string;
  /** Whether the rule's pattern names the account (security issue #16). */
  hasAccount: boolean;
  /** Whether the same event from another account would match too. */
  foreignAccountMatches: boolean;
}

export interface SampleRun {
  sample: RealSample;
  node: SpotNode;
  namespace: string;
  event: Record<string, unknown>;
  matchedRules: MatchedRule[];
  /** Why no rule matched, when EventBridge refused the event. */
  routingNote: string;
  // biome-ignore lint/suspicious/noExplicitAny: the handler's result is untyped JSON.
  invocation?: Invocation & { result?: any };
  lifecycleCompletions: Record<string, string>[];
  metrics: MetricId[];
}

interface Options {
  bed: TestBedInfo;
  admin: AdminClients;
  aws: AwsClients;
  fn: FunctionConfiguration & { Timeout?: number };
  taskRoot: string;
  node: string;
  ruleNames: string[];
  account: string;
}

/** The deployed rules that are enabled and match `event`, and whether a foreign account would match. */
async function route(aws: AwsClients, ruleNames: string[], event: Record<string, unknown>, foreign: string) {
  const matched: MatchedRule[] = [];
  const notes: string[] = [];
  const test = async (pattern: string, e: Record<string, unknown>) =>
    (await aws.events.send(new TestEventPatternCommand({ EventPattern: pattern, Event: JSON.stringify(e) })))
      .Result;
  for (const name of ruleNames) {
    const rule = await aws.events.send(new DescribeRuleCommand({ Name: name }));
    if (rule.State !== 'ENABLED' || !rule.EventPattern) continue;
    try {
      if (!(await test(rule.EventPattern, event))) continue;
    } catch (error) {
      notes.push(`${name}: ${(error as Error).message}`);
      continue;
    }
    matched.push({
      name,
      hasAccount: 'account' in JSON.parse(rule.EventPattern),
      foreignAccountMatches: (await test(rule.EventPattern, { ...event, account: foreign })) ?? true,
    });
  }
  return { matched, note: notes.join('; ') || 'no enabled rule matched' };
}

export async function driveSamples(options: Options): Promise<SampleRun[]> {
  const { bed, admin, aws } = options;
  // DescribeAutoScalingInstances (which confirms a hook's event) goes on to moto.
  const stub = await startAutoScalingStub({ forwardTo: bed.awsEndpoint });
  try {
    const namespace = await createNamespace(admin.core, 'deploy');
    const prepared = await Promise.all(
      realSamples.map(async (sample, i) => {
        const pool = `deploy-${uniqueSuffix()}`;
        const { node } = await spotNodeWithInstance(bed, admin, pool);
        const app = `sample-${i}`;
        await createDeployment(admin, namespace, app, 2, { pool, gracePeriodSeconds: 2 });
        await waitForReadyPods(admin.core, namespace, `app=${app}`, 2);
        return { sample, node };
      }),
    );
    const env = {
      ...lambdaRuntimeEnv(options.fn, bed.region),
      // What Lambda hands the function for its role; the bed's authenticator knows this key.
      AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEDeployTestSessionToken0123456789',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: bed.awsEndpoint,
      ...sharedBedEnv,
      // moto answers CompleteLifecycleAction with HTTP 500; the SDK's service-specific endpoint wins.
      AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
    };
    const runs = await Promise.all(
      prepared.map(async ({ sample, node }): Promise<SampleRun> => {
        const published = loadRealSample(sample.file);
        const event = localizeSample(sample, published, {
          account: options.account,
          region: bed.region,
          instanceIds: [node.instanceId],
          now: new Date(),
        });
        // What AWS says of the instances of a genuine event (a hook's group, a listed Health event).
        if (sample.outcome !== 'untouched') await awsSaysSo(bed, event);
        const own = String(published.account);
        const foreign = /^\d{12}$/.test(own) && own !== options.account ? own : FOREIGN_ACCOUNT;
        const routing = await route(aws, options.ruleNames, event, foreign);
        const invocation =
          routing.matched.length > 0
            ? await invokeLikeLambda({
                node: options.node,
                built: { taskRoot: options.taskRoot },
                env,
                event,
                requestId: randomUUID(),
                timeoutMs: (options.fn.Timeout ?? 60) * 1000,
              })
            : undefined;
        return {
          sample,
          node,
          namespace,
          event,
          matchedRules: routing.matched,
          routingNote: routing.note,
          invocation,
          lifecycleCompletions: [],
          metrics: invocation ? emfMetrics(jsonLines(invocation.stdout)) : [],
        };
      }),
    );
    for (const run of runs) {
      run.lifecycleCompletions = stub.calls
        .filter((c) => c.action === 'CompleteLifecycleAction' && c.params.InstanceId === run.node.instanceId)
        .map((c) => c.params);
    }
    return runs;
  } finally {
    await stub.stop();
  }
}
