import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import { matchesSelector } from '../kube/label-selector.js';
import { controllerOf, decidePod, isFinished, type PodDecision, type PodFacts } from './filters.js';
import type { DrainOptions } from './options.js';
import { podKey } from './pod-tracker.js';

/** A PodDisruptionBudget as far as a drain cares. */
export interface BudgetView {
  namespace: string;
  name: string;
  disruptionsAllowed: number;
  /** Since when it has allowed no disruption, if it allows none now. */
  blockingSince: string | undefined;
}

export interface PlannedPod {
  key: string;
  pod: k8s.V1Pod;
  decision: PodDecision;
  /** Budgets that cover the pod; an eviction needs every one of them to allow a disruption. */
  budgets: BudgetView[];
}

/** The pods of a node and what a drain would do with each. */
export interface DrainPlan {
  nodeName: string;
  resourceVersion: string | undefined;
  pods: PlannedPod[];
}

export interface PlanApis {
  core: k8s.CoreV1Api;
  policy: k8s.PolicyV1Api;
  /** Asks whether DaemonSets still exist; without it, every DaemonSet is assumed to. */
  apps?: k8s.AppsV1Api;
}

/**
 * Lists the node's pods and decides each; with `withBudgets`, also which budgets cover them. With
 * `fromCache` the list is served from the API server's watch cache (resourceVersion=0: cheap, maybe
 * a moment stale), which a drain can afford because its watch from that version sees pods that
 * arrive after it.
 */
export async function planDrain(
  apis: PlanApis,
  nodeName: string,
  options: DrainOptions,
  withBudgets: boolean,
  fromCache = false,
): Promise<DrainPlan> {
  const list = await apis.core.listPodForAllNamespaces({
    fieldSelector: `spec.nodeName=${nodeName}`,
    ...(fromCache ? { resourceVersion: '0' } : {}),
  });
  const [budgets, facts] = await Promise.all([
    withBudgets ? listBudgets(apis.policy) : [],
    podFacts(apis.apps, list.items),
  ]);
  return {
    nodeName,
    resourceVersion: list.metadata?.resourceVersion,
    pods: list.items.map((pod) => ({
      key: podKey(pod),
      pod,
      decision: decidePod(pod, options, facts),
      budgets: budgets
        .filter(
          (b) =>
            b.namespace === pod.metadata?.namespace &&
            matchesSelector(b.selector, pod.metadata?.labels ?? {}),
        )
        .map(({ selector: _, ...view }) => view),
    })),
  };
}

async function listBudgets(policy: k8s.PolicyV1Api) {
  const list = await policy.listPodDisruptionBudgetForAllNamespaces();
  return list.items.map((pdb) => {
    const allowed = pdb.status?.disruptionsAllowed ?? 0;
    const condition = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    return {
      namespace: pdb.metadata?.namespace ?? '',
      name: pdb.metadata?.name ?? '',
      selector: pdb.spec?.selector,
      disruptionsAllowed: allowed,
      blockingSince:
        allowed === 0 && condition?.status === 'False'
          ? new Date(condition.lastTransitionTime).toISOString()
          : undefined,
    };
  });
}

/**
 * What the filters need to know besides the pods: which of the DaemonSets they name still exist (one
 * GET per DaemonSet, not per pod). A DaemonSet that cannot be read is assumed to exist: the pod is
 * then left alone, as before.
 */
export async function podFacts(apps: k8s.AppsV1Api | undefined, pods: k8s.V1Pod[]): Promise<PodFacts> {
  if (!apps) return { daemonSetExists: () => true };
  const named = new Set<string>();
  for (const pod of pods) {
    const owner = controllerOf(pod);
    if (owner?.kind === 'DaemonSet' && !isFinished(pod))
      named.add(`${pod.metadata?.namespace}/${owner.name}`);
  }
  const missing = new Set<string>();
  await Promise.all(
    [...named].map(async (key) => {
      const [namespace, name] = key.split('/') as [string, string];
      try {
        await apps.readNamespacedDaemonSet({ namespace, name });
      } catch (error) {
        if (httpStatusOf(error) === 404) missing.add(key);
      }
    }),
  );
  return { daemonSetExists: (namespace, name) => !missing.has(`${namespace}/${name}`) };
}
