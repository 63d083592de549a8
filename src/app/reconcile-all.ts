import type { Logger } from '@aws-lambda-powertools/logger';
import { type NodeReconcileReport, reconcileCluster } from '../interruption/reconcile.js';
import { describeError } from '../observability/redact.js';
import type { AppDeps, Invocation } from './app-types.js';
import { autoScalingHooks, heartbeatPlan } from './asg-hooks.js';
import { interruptionContext } from './interruption-context.js';
import { putOutcomeEvents, reconcileOutcomeEvents } from './outcome-events.js';
import { managedClustersOf } from './resolve-target.js';

export interface ClusterReconcileReport {
  cluster: string;
  nodes: NodeReconcileReport[];
  error?: string;
}

/**
 * The periodic reconcile of every managed cluster: each node this project marked is moved on from
 * its record and the world as it is (released, freed, drained when due, taken over), and an outcome
 * event is put for each node released, taken out of service or drained. A cluster that
 * cannot be reached is logged and counted, not thrown: the next schedule tries again, and a retried
 * schedule event would only repeat the same pass later.
 */
export async function reconcileAll(
  deps: AppDeps,
  invocation: Invocation,
  options: { dryRun?: boolean; selector?: string; cluster?: string; node?: string } = {},
): Promise<ClusterReconcileReport[]> {
  const now = deps.now ?? Date.now;
  const managed = managedClustersOf(deps.source);
  // One cluster (a drain handed off names its own), or all of them.
  const clusters = options.cluster ? managed.filter((c) => c === options.cluster) : managed;
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };
  const log = deps.logger.createChild();
  const hooks = autoScalingHooks(deps.autoScaling, call, log, heartbeatPlan(deps.config), [], deps.metrics);
  try {
    const reports = await Promise.all(
      clusters.map(async (cluster): Promise<ClusterReconcileReport> => {
        try {
          const apis = await deps.access.connect(cluster, call);
          const ctx = interruptionContext({
            config: deps.config,
            apis,
            instanceStates: deps.instanceStates,
            hooks,
            invocation,
            now,
            ...(deps.timing ? { timing: deps.timing } : {}),
            ...(deps.continueDrain
              ? { continueElsewhere: (node: string) => deps.continueDrain!({ cluster, node }, invocation) }
              : {}),
          });
          const nodes = await reconcileCluster(ctx, {
            holder: invocation.id,
            ...(deps.instanceStates ? { instanceStates: deps.instanceStates } : {}),
            ...(deps.source.witnesses?.scheduledEvents
              ? { scheduledEvents: deps.source.witnesses.scheduledEvents }
              : {}),
            ...(options.dryRun || deps.config.drain.dryRun ? { dryRun: true } : {}),
            ...(options.selector ? { selector: options.selector } : {}),
            ...(options.node ? { node: options.node } : {}),
          });
          logNodes(log, cluster, nodes);
          for (const node of nodes) if (node.refused) deps.metrics.rejected(node.refused, 1);
          return { cluster, nodes };
        } catch (error) {
          const described = describeError(error);
          deps.metrics.error();
          log.error('reconcile of a cluster failed; the next schedule tries again', {
            cluster,
            error: described,
          });
          return { cluster, nodes: [], error: `${described.name}: ${described.message}` };
        }
      }),
    );
    const all = reports.flatMap((r) => r.nodes);
    deps.metrics.reconciled({
      nodes: all.length,
      released: all.filter((n) => n.result === 'released').length,
      outOfService: all.filter((n) => n.result === 'out-of-service').length,
      drained: all.filter((n) => n.step === 'drain').length,
      failed: all.filter((n) => n.error).length,
    });
    const actor = { invocationId: invocation.id, now };
    const events = reports.flatMap((r) => reconcileOutcomeEvents(r.cluster, r.nodes, actor));
    await putOutcomeEvents({ ...deps, logger: log }, events);
    return reports;
  } finally {
    hooks.stop();
  }
}

function logNodes(log: Logger, cluster: string, nodes: NodeReconcileReport[]): void {
  for (const node of nodes) {
    const fields = {
      cluster,
      node: node.node,
      instanceId: node.instanceId,
      state: node.state,
      step: node.step,
      why: node.why,
      ...(node.result ? { result: node.result } : {}),
    };
    if (node.error) log.warn('reconcile step failed', { ...fields, error: node.error });
    else if (node.refused)
      log.warn(`recorded change not drained: ${node.refused}`, { ...fields, reason: node.refused });
    else if (node.step !== 'wait') log.info('reconcile step', fields);
  }
}
