import type * as k8s from '@kubernetes/client-node';
import { matchesSelector } from '../kube/label-selector.js';
import { decidePod, type PodDecision } from './filters.js';
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

/** Lists the node's pods and decides each; with `withBudgets`, also which budgets cover them. */
export async function planDrain(
  apis: { core: k8s.CoreV1Api; policy: k8s.PolicyV1Api },
  nodeName: string,
  options: DrainOptions,
  withBudgets: boolean,
): Promise<DrainPlan> {
  const list = await apis.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  const budgets = withBudgets ? await listBudgets(apis.policy) : [];
  return {
    nodeName,
    resourceVersion: list.metadata?.resourceVersion,
    pods: list.items.map((pod) => ({
      key: podKey(pod),
      pod,
      decision: decidePod(pod, options),
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
