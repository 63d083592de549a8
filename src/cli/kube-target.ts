import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TransientError, UsageError } from '../errors.js';
import { httpStatusOf } from '../kube/api-errors.js';
import { createKubeApis, type KubeApis, kubeConfigFromFile } from '../kube/connection.js';
import { explainError } from './explain-error.js';

/** Where the CLI reads the cluster from: a kubeconfig file and context, as kubectl does. */
export interface KubeconfigChoice {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** A cluster reached through a kubeconfig context. */
export interface KubeTarget {
  apis: KubeApis;
  /** The context's cluster entry name (for EKS kubeconfigs, the cluster's ARN). */
  clusterName: string;
  contextName: string;
  server: string;
}

/**
 * Opens the kubeconfig like kubectl: --kubeconfig, else $KUBECONFIG, else ~/.kube/config. Throws
 * UsageError when there is none, rather than letting client-node fall back to localhost:8080.
 */
export function openKubeconfig(
  choice: KubeconfigChoice,
  env: Record<string, string | undefined>,
): KubeTarget {
  const kc = kubeConfigFromFile(kubeconfigPath(choice.kubeconfig, env), choice.context);
  const cluster = kc.getCurrentCluster()!;
  return {
    apis: createKubeApis(kc),
    clusterName: cluster.name,
    contextName: kc.getCurrentContext(),
    server: cluster.server,
  };
}

function kubeconfigPath(option: string | undefined, env: Record<string, string | undefined>) {
  if (option) return option;
  const fromEnv = env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [];
  // Several files are merged by client-node itself, from the process environment.
  if (fromEnv.length > 1) return undefined;
  if (fromEnv.length === 1) return fromEnv[0];
  const path = join(env.HOME || homedir(), '.kube', 'config');
  if (!existsSync(path)) {
    throw new UsageError(
      `no kubeconfig: ${path} does not exist; pass --kubeconfig <file> or set KUBECONFIG (for EKS: aws eks update-kubeconfig --name <cluster>)`,
    );
  }
  return path;
}

/**
 * One cheap request the drainer's RBAC allows (list one node), so that an unreachable cluster or
 * refused credentials end the command with one clear line before anything else is attempted.
 */
export async function checkReachable(target: KubeTarget): Promise<void> {
  try {
    await target.apis.core.listNode({ limit: 1 });
  } catch (error) {
    const { message } = explainError(error, target.server);
    const status = httpStatusOf(error);
    // Credentials and permissions are the operator's to fix; anything else may pass by itself.
    if (status === 401 || status === 403) {
      throw new UsageError(`${message} (context "${target.contextName}")`, { cause: error });
    }
    throw new TransientError(message, { cause: error });
  }
}
