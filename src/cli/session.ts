/**
 * The two ways `invoke` runs the handler's code: against one cluster from a kubeconfig (no AWS at
 * all), or exactly as the Lambda function does (EC2 tags pick the cluster, EKS gives the way in).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@aws-lambda-powertools/logger';
import type { EventDeps, EventReport } from '../app/handle-event.js';
import { handleEvent } from '../app/handle-event.js';
import { type Config, loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { FixedClusterAccess } from '../kube/cluster-access.js';
import { disabledOutcomePublisher } from '../notify/outcome-publisher.js';
import { disabledNotifier } from '../notify/webhook.js';
import { noMetrics } from '../observability/metrics.js';
import type { CliIo } from './io.js';
import { checkReachable, type KubeconfigChoice, openKubeconfig } from './kube-target.js';

export interface SessionOptions extends KubeconfigChoice {
  dryRun?: boolean | undefined;
  verbose?: boolean | undefined;
}

/** The handler's dependencies, built for this run, and a way to hand it one event. */
export interface DrainSession {
  deps: EventDeps;
  /** Where drains go, for the header line. */
  where: string;
  handle(event: unknown, signal: AbortSignal): Promise<EventReport>;
  /** Who acts and until when, for a call that is not an event (the reconcile). */
  invocation(): { id: string; deadline: number };
  close(): void;
}

/** The Lambda's timeout (the longest drain + 60 s) less its 5 s reserve: the same bounds as the function. */
function invocationBudgetMs(config: Pick<Config, 'drain'>): number {
  return Math.max(config.drain.noDeadlineBudgetMs, 120_000) + 55_000;
}

/** Holder of the drain lease: tells `kubectl get node -o yaml` readers who drained the node. */
export function cliRunId(): string {
  return `cli-${hostname()}-${randomBytes(4).toString('hex')}`;
}

/**
 * The function's configuration read from the same environment variables (DRY_RUN, CORDON_ONLY, ...),
 * for one fixed cluster: MANAGED_CLUSTERS does not apply, the kubeconfig context chose the cluster.
 */
export function localConfig(env: Record<string, string | undefined>, dryRun = false): Config {
  const config = loadConfig({ ...env, MANAGED_CLUSTERS: 'kubeconfig-context' });
  if (dryRun) config.drain.dryRun = true;
  return config;
}

/** One cluster from a kubeconfig context; notifications and outcome events off, no metrics, no Auto Scaling. */
export async function localSession(options: SessionOptions, io: CliIo): Promise<DrainSession> {
  const config = localConfig(io.env, options.dryRun);
  const target = openKubeconfig(options, io.env);
  try {
    await checkReachable(target);
  } catch (error) {
    target.apis.close();
    throw error;
  }
  const deps: EventDeps = {
    config,
    source: { kind: 'fixed', clusterName: target.clusterName },
    access: new FixedClusterAccess(target.apis),
    autoScaling: undefined,
    notifier: disabledNotifier,
    outcomes: disabledOutcomePublisher,
    logger: new Logger({
      serviceName: 'eks-spot-drainer',
      // Verbose: POWERTOOLS_LOG_LEVEL decides, INFO by default.
      logLevel: options.verbose ? undefined : 'SILENT',
    }),
    metrics: noMetrics,
    checks: { maxInstancesPerEvent: config.maxInstancesPerEvent },
  };
  const id = cliRunId();
  return {
    deps,
    where: `cluster ${target.clusterName} (context ${target.contextName}, ${target.server}), as ${id}`,
    // No AWS here: the event's account and region cannot be checked against anything (its age is).
    handle: (event, signal) =>
      handleEvent(event, deps, {
        id,
        deadline: Date.now() + invocationBudgetMs(config),
        signal,
        account: undefined,
        region: undefined,
      }),
    invocation: () => ({ id, deadline: Date.now() + invocationBudgetMs(config) }),
    close: () => target.apis.close(),
  };
}

/**
 * The Lambda's own wiring (createLambdaApp) from this process's environment: AWS credentials,
 * AWS_REGION and MANAGED_CLUSTERS are needed, as in the function. Logs stay off without --verbose,
 * metrics are never published, and outcome events are put only with OUTCOME_EVENTS=true.
 */
export async function awsSession(options: SessionOptions, io: CliIo): Promise<DrainSession> {
  if (options.kubeconfig || options.context) {
    throw new UsageError(
      '--aws finds clusters through EC2 tags and EKS; it takes no --kubeconfig or --context',
    );
  }
  // Powertools reads these from the process environment when the app builds its logger and metrics.
  if (!options.verbose) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { createLambdaApp } = await import('../app/lambda-app.js');
  // Outcome events only when asked for: a run from a laptop must not page whoever routes them.
  const app = createLambdaApp({
    OUTCOME_EVENTS: 'false',
    ...io.env,
    ...(options.dryRun ? { DRY_RUN: 'true' } : {}),
  });
  const clusters = app.deps.source.kind === 'ec2-tags' ? app.deps.source.managedClusters.join(', ') : '';
  const id = cliRunId();
  return {
    deps: app.deps,
    where: `clusters ${clusters} through EC2 and EKS (region ${io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION}), as ${id}`,
    // No function ARN: the app checks the event's region against AWS_REGION; the account is unknown.
    handle: (event) => {
      const deadline = Date.now() + invocationBudgetMs(app.deps.config);
      return app.handle(event, { awsRequestId: id, getRemainingTimeInMillis: () => deadline - Date.now() });
    },
    invocation: () => ({ id, deadline: Date.now() + invocationBudgetMs(app.deps.config) }),
    close: () => {},
  };
}
