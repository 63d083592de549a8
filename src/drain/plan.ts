import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/api-errors.js';
import { matchesSelector } from '../kube/label-selector.js';
import { isDrainerTaintKey, taintKeyFor } from '../taint-keys.js';
import {
  assumeDaemonSetsExist,
  controllerOf,
  decidePod,
  isFinished,
  type PodDecision,
  type PodFacts,
} from './filters.js';
import type { DrainOptions } from './options.js';
import { podKey } from './pod-tracker.js';

/** The key prefix of this project's NoSchedule taints (src/interruption writes them; the drain only reads). */
export const drainerTaintPrefix = 'eks-spot-drainer/';

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

/** How a plan is made. */
export interface PlanScope {
  /** Also list the budgets and say which cover each pod. */
  withBudgets: boolean;
  /**
   * Serve the list from the API server's watch cache (resourceVersion=0: cheap, maybe a moment
   * stale), which a drain can afford because its watch from that version sees pods that arrive after it.
   */
  fromCache?: boolean;
  /**
   * The kind of notice a drain would be for: with TAINT_NODE, the taint it adds counts before it is
   * there (a dry run, or `plan` on a node not marked yet).
   */
  noticeKind?: string;
}

/** Lists the node's pods and decides each; with `withBudgets`, also which budgets cover them. */
export async function planDrain(
  apis: PlanApis,
  nodeName: string,
  options: DrainOptions,
  scope: PlanScope,
): Promise<DrainPlan> {
  const list = await apis.core.listPodForAllNamespaces({
    fieldSelector: `spec.nodeName=${nodeName}`,
    ...(scope.fromCache ? { resourceVersion: '0' } : {}),
  });
  const [budgets, facts] = await Promise.all([
    scope.withBudgets ? listBudgets(apis.policy) : [],
    podFacts(apis, nodeName, list.items, options, scope.noticeKind),
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
 * GET per DaemonSet, not per pod), and, only when DaemonSet pods may be evicted, the node's taints
 * (one GET of the node). What cannot be read leaves the DaemonSet pods alone, as before.
 */
export async function podFacts(
  apis: Pick<PlanApis, 'core' | 'apps'>,
  nodeName: string,
  pods: k8s.V1Pod[],
  options: DrainOptions,
  noticeKind?: string,
): Promise<PodFacts> {
  const daemonSetPods = pods.filter((p) => controllerOf(p)?.kind === 'DaemonSet' && !isFinished(p));
  if (!apis.apps || daemonSetPods.length === 0) return assumeDaemonSetsExist;
  const [missing, nodeTaints] = await Promise.all([
    missingDaemonSets(apis.apps, daemonSetPods),
    options.evictDaemonSetPods ? taintsWhileDrained(apis.core, nodeName, options, noticeKind) : undefined,
  ]);
  return { daemonSetExists: (namespace, name) => !missing.has(`${namespace}/${name}`), nodeTaints };
}

/** namespace/name of each DaemonSet the pods name that is not there (404); an error counts as there. */
async function missingDaemonSets(apps: k8s.AppsV1Api, pods: k8s.V1Pod[]): Promise<Set<string>> {
  const named = new Set(pods.map((pod) => `${pod.metadata?.namespace}/${controllerOf(pod)?.name}`));
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
  return missing;
}

/**
 * The node's taints as a drain leaves them: what it carries now, and with TAINT_NODE this project's
 * taint for the notice's kind (a dry run or `plan` comes before it). Without a kind, a placeholder
 * stands for it, which only a toleration of every key tolerates. Undefined when the node cannot be read.
 */
async function taintsWhileDrained(
  core: k8s.CoreV1Api,
  nodeName: string,
  options: DrainOptions,
  noticeKind: string | undefined,
): Promise<k8s.V1Taint[] | undefined> {
  let taints: k8s.V1Taint[];
  try {
    taints = (await core.readNode({ name: nodeName })).spec?.taints ?? [];
  } catch {
    return undefined;
  }
  if (!options.taintNode) return taints;
  const ours = taints.filter((t) => isDrainerTaintKey(t.key));
  // The key and effect the marks write (NTH_TAINT_KEYS, TAINT_EFFECT): a toleration of NTH's key counts.
  const key = noticeKind ? taintKeyFor(noticeKind, options.taintKeys) : `${drainerTaintPrefix}<kind>`;
  if (noticeKind === undefined ? ours.length > 0 : ours.some((t) => t.key === key)) return taints;
  return [...taints, { key, effect: options.taintEffect ?? 'NoSchedule' }];
}
