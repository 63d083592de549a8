import type { Logger } from '@aws-lambda-powertools/logger';
import { type NodeReconcileReport, reconcileCluster } from '../lifecycle/reconcile.js';
import { describeError } from '../observability/redact.js';
import type { AppDeps, Invocation } from './handle-notice.js';
import { autoScalingHooks } from './lifecycle-hooks.js';

export interface ClusterReconcileReport {
  cluster: string;
  nodes: NodeReconcileReport[];
  error?: string;
}

/**
 * The periodic reconcile of every managed cluster: each node this project marked is moved on from
 * its lease and the world as it is (released, freed, drained when due, taken over). A cluster that
 * cannot be reached is logged and counted, not thrown: the next schedule tries again, and a retried
 * schedule event would only repeat the same pass later.
 */
export async function reconcileAll(
  deps: AppDeps,
  invocation: Invocation,
  options: { dryRun?: boolean; selector?: string } = {},
): Promise<ClusterReconcileReport[]> {
  const now = deps.now ?? Date.now;
  const clusters =
    deps.source.kind === 'fixed' ? [deps.source.clusterName] : [...deps.source.managedClusters];
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };
  const log = deps.logger.createChild();
  const hooks = autoScalingHooks(deps.autoScaling, call, log, deps.config.lifecycleHeartbeatMs);
  try {
    const reports = await Promise.all(
      clusters.map(async (cluster): Promise<ClusterReconcileReport> => {
        try {
          const apis = await deps.access.connect(cluster, call);
          const nodes = await reconcileCluster(apis, {
            lifecycle: deps.config.lifecycle,
            drain: deps.config.drain,
            ...(deps.instanceStates ? { instanceStates: deps.instanceStates } : {}),
            hooks,
            holder: invocation.id,
            deadline: invocation.deadline,
            now,
            ...(invocation.signal ? { signal: invocation.signal } : {}),
            ...(deps.timing ? { timing: deps.timing } : {}),
            ...(options.dryRun || deps.config.drain.dryRun ? { dryRun: true } : {}),
            ...(options.selector ? { selector: options.selector } : {}),
          });
          logNodes(log, cluster, nodes);
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
      outOfService: all.filter((n) => n.step === 'out-of-service' && n.result?.startsWith('tainted')).length,
      drained: all.filter((n) => n.step === 'drain').length,
      failed: all.filter((n) => n.error).length,
    });
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
      leaseState: node.leaseState,
      step: node.step,
      why: node.why,
      ...(node.result ? { result: node.result } : {}),
    };
    if (node.error) log.warn('reconcile step failed', { ...fields, error: node.error });
    else if (node.step !== 'wait') log.info('reconcile step', fields);
  }
}
