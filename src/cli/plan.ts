import type * as k8s from '@kubernetes/client-node';
import { planDrain } from '../drain/plan.js';
import { UsageError } from '../errors.js';
import { httpStatusOf } from '../kube/api-errors.js';
import { findNodeForInstance } from '../kube/node-lookup.js';
import { type CliIo, ExitCode, writeLines } from './io.js';
import { checkReachable, type KubeconfigChoice, type KubeTarget, openKubeconfig } from './kube-target.js';
import { renderPlan } from './render-plan.js';
import { localConfig } from './session.js';

export interface PlanOptions extends KubeconfigChoice {
  node?: string | undefined;
  instance?: string | undefined;
}

/**
 * `plan`: what a drain of the node would do now, with the same filters and options as the function
 * (read from the same environment variables). Reads only: nothing is cordoned, evicted or annotated.
 */
export async function runPlan(options: PlanOptions, io: CliIo): Promise<ExitCode> {
  if (Boolean(options.node) === Boolean(options.instance)) {
    throw new UsageError('plan needs one of --node <name> or --instance <id>');
  }
  const drainOptions = localConfig(io.env).drain;
  const target = openKubeconfig(options, io.env);
  try {
    await checkReachable(target);
    const node = await findNode(target, options);
    const name = node.metadata?.name ?? '';
    const plan = await planDrain(target.apis, name, drainOptions, { withBudgets: true });
    writeLines(io.stdout, renderPlan(node, plan, target.clusterName));
    return ExitCode.Ok;
  } finally {
    target.apis.close();
  }
}

async function findNode(target: KubeTarget, options: PlanOptions): Promise<k8s.V1Node> {
  if (options.instance) {
    const lookup = await findNodeForInstance(target.apis.core, { instanceId: options.instance });
    if (!lookup.node) {
      throw new UsageError(
        `no node of instance ${options.instance} in cluster ${target.clusterName} (no providerID ends in /${options.instance})`,
      );
    }
    return lookup.node;
  }
  const name = options.node ?? '';
  try {
    return await target.apis.core.readNode({ name });
  } catch (error) {
    if (httpStatusOf(error) === 404) {
      throw new UsageError(`no node named "${name}" in cluster ${target.clusterName}`, { cause: error });
    }
    throw error;
  }
}
