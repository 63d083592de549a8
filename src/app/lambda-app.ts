import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { autoScalingInstances } from '../aws/autoscaling-instances.js';
import { createAwsClients } from '../aws/clients.js';
import { ClusterEndpointCache } from '../aws/eks-cluster.js';
import { EksTokenProvider } from '../aws/eks-token.js';
import { InstanceCache } from '../aws/instance-lookup.js';
import { ec2InstanceStates } from '../aws/instance-states.js';
import { ec2ScheduledEvents } from '../aws/scheduled-events.js';
import { selfInvoker } from '../aws/self-invoke.js';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { EksClusterAccess } from '../kube/cluster-access.js';
import { disabledNotifier, notifierOnFirstUse } from '../notify/notifier.js';
import {
  disabledOutcomePublisher,
  eventBridgePublisher,
  type OutcomePublisher,
} from '../notify/outcome-publisher.js';
import type { WebhookSecretRef } from '../notify/secret-ref.js';
import type { Notifier } from '../notify/types.js';
import type { SecretReaderOptions } from '../notify/webhook-secret.js';
import { powertoolsMetrics } from '../observability/metrics.js';
import { continueBySelfInvoke } from './hand-off.js';
import { type EventDeps, type EventReport, handleEvent } from './handle-event.js';

/** Time kept back from the Lambda timeout to log the report, publish metrics and return. */
export const invocationReserveMs = 5_000;

/**
 * The part of the Lambda context the app reads. `invokedFunctionArn` names the function's own account
 * and region, which every event must come from; Lambda always sets it. A local run without it (the
 * CLI's `invoke --aws`) checks the region it was configured with and no account.
 */
export type LambdaContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'> &
  Partial<Pick<Context, 'invokedFunctionArn'>>;

export interface LambdaApp {
  deps: EventDeps;
  handle(event: unknown, context: LambdaContext): Promise<EventReport>;
}

const FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:([a-z]{2,4}(?:-[a-z]+)+-\d{1,2}):(\d{12}):function:[^:]+(?::([^:]+))?$/;

/**
 * The account, region and qualifier (alias or version, if any) of a Lambda function ARN
 * (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`).
 */
export function functionOrigin(arn: string): { account: string; region: string; qualifier?: string } {
  const match = FUNCTION_ARN.exec(arn);
  if (!match) throw new ConfigError('invokedFunctionArn', 'is not a Lambda function ARN');
  return { region: match[1]!, account: match[2]!, ...(match[3] ? { qualifier: match[3] } : {}) };
}

/**
 * Everything the function builds once per container: configuration (a bad value fails the init with
 * the variable's name), AWS clients, caches, logger and metrics. Nothing here calls AWS or a cluster.
 */
export function createLambdaApp(env: Record<string, string | undefined> = process.env): LambdaApp {
  const config = loadConfig(env);
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new ConfigError('AWS_REGION', 'is not set (Lambda sets it; set it for local runs)');
  // The SDK reads AWS_ENDPOINT_URL_<SERVICE> from process.env only, and yields to an explicit endpoint;
  // this keeps its order (service-specific first) for the env this app was given.
  const endpointOf = (service: string) =>
    env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
  const endpoints = {
    ec2: endpointOf('EC2'),
    eks: endpointOf('EKS'),
    autoScaling: endpointOf('AUTO_SCALING'),
  };
  const aws = createAwsClients({
    region,
    endpoints: definedOnly(endpoints),
  });
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'eks-spot-drainer' });
  const metrics = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'EksSpotDrainer',
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'eks-spot-drainer',
  });
  const selfInvoke = env.AWS_LAMBDA_FUNCTION_NAME
    ? selfInvoker({ functionName: env.AWS_LAMBDA_FUNCTION_NAME, region, endpoint: endpointOf('LAMBDA') })
    : undefined;
  const deps: EventDeps = {
    config,
    source: {
      kind: 'ec2-tags',
      instances: new InstanceCache(aws.ec2, { ttlMs: config.instanceCacheTtlMs }),
      witnesses: {
        autoScalingInstances: autoScalingInstances(aws.autoScaling),
        scheduledEvents: ec2ScheduledEvents(aws.ec2),
      },
      managedClusters: config.managedClusters,
      ...(config.managedTag ? { managedTag: config.managedTag } : {}),
    },
    access: new EksClusterAccess(new ClusterEndpointCache(aws.eks), new EksTokenProvider({ region })),
    autoScaling: aws.autoScaling,
    instanceStates: ec2InstanceStates(aws.ec2),
    notifier: webhookNotifier(config.webhookSecret, {
      region,
      endpoints: definedOnly({ secretsmanager: endpointOf('SECRETS_MANAGER'), ssm: endpointOf('SSM') }),
    }),
    outcomes: outcomePublisher(config.outcomeEventBus, region, endpointOf('EVENTBRIDGE')),
    logger,
    metrics: powertoolsMetrics(metrics),
    checks: { maxInstancesPerEvent: config.maxInstancesPerEvent },
    launchHooks: config.launchHooks,
    // Only in Lambda, which names the function: the role may invoke this function and no other.
    ...(selfInvoke && config.fanOutEvents ? { fanOut: selfInvoke } : {}),
    ...(selfInvoke ? { continueDrain: continueBySelfInvoke(selfInvoke, region) } : {}),
  };
  return {
    deps,
    async handle(event, context) {
      const remaining = context.getRemainingTimeInMillis() - invocationReserveMs;
      const origin = context.invokedFunctionArn ? functionOrigin(context.invokedFunctionArn) : { region };
      const invocation = {
        id: context.awsRequestId,
        deadline: Date.now() + remaining,
        signal: AbortSignal.timeout(Math.max(1, remaining)),
        ...origin,
      };
      logger.addContext(context as Context);
      try {
        const report = await handleEvent(event, deps, invocation);
        logger.info('event handled', { eventId: report.eventId, report: summarize(report) });
        return report;
      } finally {
        metrics.publishStoredMetrics();
      }
    },
  };
}

/** The report without per-pod detail: one log line that fits in a glance. */
export function summarize(report: EventReport) {
  return {
    eventId: report.eventId,
    status: report.status,
    ...(report.reason ? { reason: report.reason } : {}),
    ...(report.reconcile
      ? {
          reconcile: report.reconcile.map((c) => ({
            cluster: c.cluster,
            nodes: c.nodes.length,
            acted: c.nodes
              .filter((n) => n.step !== 'wait')
              .map((n) => ({ node: n.node, step: n.step, result: n.result ?? n.error })),
            ...(c.error ? { error: c.error } : {}),
          })),
        }
      : {}),
    ...(report.running
      ? {
          running: {
            instanceId: report.running.instanceId,
            status: report.running.status,
            ...(report.running.node ? { node: report.running.node } : {}),
            ...(report.running.outcome ? { outcome: report.running.outcome } : {}),
          },
        }
      : {}),
    ...(report.launch
      ? {
          launch: {
            instanceId: report.launch.instanceId,
            status: report.launch.status,
            ...(report.launch.node ? { node: report.launch.node } : {}),
          },
        }
      : {}),
    notices: report.notices.map((n) => ({
      instanceId: n.instanceId,
      kind: n.kind,
      action: n.action,
      status: n.status,
      ...(n.status === 'done'
        ? { node: n.target.nodeName, outcome: n.result.outcome, counts: nonZero(n.result.counts) }
        : {}),
      ...(n.status === 'skipped' ? { reason: n.reason } : {}),
      ...(n.lifecycleAction ? { lifecycleAction: n.lifecycleAction } : {}),
    })),
  };
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, v]) => v > 0));
}

/**
 * Notifications to the webhook the secret holds, read on the first one; none without a secret. The
 * webhook's code is loaded with the first notification too (src/notify/notifier.ts).
 */
function webhookNotifier(secret: WebhookSecretRef | undefined, options: SecretReaderOptions): Notifier {
  if (!secret) return disabledNotifier;
  return notifierOnFirstUse(async () => {
    const [{ createWebhookNotifier }, { readWebhookTarget }] = await Promise.all([
      import('../notify/webhook.js'),
      import('../notify/webhook-secret.js'),
    ]);
    return createWebhookNotifier(() => readWebhookTarget(secret, options));
  });
}

/** Outcome events on the bus OUTCOME_EVENT_BUS names; none when OUTCOME_EVENTS is off. The client is built on first use. */
function outcomePublisher(
  bus: string | undefined,
  region: string,
  endpoint: string | undefined,
): OutcomePublisher {
  return bus ? eventBridgePublisher({ busName: bus, region, endpoint }) : disabledOutcomePublisher;
}

function definedOnly<K extends string>(entries: Record<K, string | undefined>): Partial<Record<K, string>> {
  return Object.fromEntries(Object.entries(entries).filter(([, url]) => url)) as Partial<Record<K, string>>;
}
