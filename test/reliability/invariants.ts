import type * as k8s from '@kubernetes/client-node';
import type { NoticeResult } from '../../src/app/notice-result.js';
import type { PodOutcome } from '../../src/drain/result.js';
import { recordAnnotation, recordOn } from '../../src/interruption/record.js';
import { excludeFromLoadBalancersLabel, taintPrefix } from '../../src/interruption/world.js';

/** Outcomes that mean "this pod is still on the node". */
export const leftOutcomes: readonly PodOutcome[] = ['blocked', 'still-terminating', 'failed'];

/** namespace/name of the pods a drain reports as left on the node, sorted. */
export function reportedLeft(result: Pick<NoticeResult, 'pods'>): string[] {
  return result.pods
    .filter((p) => leftOutcomes.includes(p.outcome))
    .map((p) => `${p.namespace}/${p.name}`)
    .sort();
}

/** namespace/name of the pods of `namespace` still bound to the node, terminating or not, sorted. */
export async function podsStillOn(
  core: k8s.CoreV1Api,
  nodeName: string,
  namespace: string,
): Promise<string[]> {
  const list = await core.listNamespacedPod({ namespace, fieldSelector: `spec.nodeName=${nodeName}` });
  return list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();
}

/**
 * Nodes of the pool that carry any of our marks (cordon, our taint, the load-balancer label) without
 * a readable record that says how the drain ended: after every invocation has returned, none may exist.
 * A record still "draining" counts as unexplained, since its holder has returned.
 */
export async function unexplainedMarks(core: k8s.CoreV1Api, pool: string): Promise<string[]> {
  const nodes = await core.listNode({ labelSelector: `pool=${pool}` });
  const problems: string[] = [];
  for (const node of nodes.items) {
    const marked =
      node.spec?.unschedulable === true ||
      (node.spec?.taints ?? []).some((t) => t.key.startsWith(taintPrefix)) ||
      node.metadata?.labels?.[excludeFromLoadBalancersLabel] !== undefined;
    if (!marked) continue;
    const record = recordOn(node);
    const name = node.metadata?.name;
    if (!record) {
      const raw = node.metadata?.annotations?.[recordAnnotation];
      problems.push(`${name}: marked, ${raw ? `unreadable record ${raw}` : 'no record annotation'}`);
    } else if (record.state === 'draining') {
      problems.push(`${name}: record still says draining (holder ${record.holder})`);
    }
  }
  return problems;
}

/** Prints a scenario's measured outcome on one line, so a run's output carries the numbers. */
export function measured(scenario: string, numbers: Record<string, unknown>): void {
  console.log(`[reliability] ${scenario}: ${JSON.stringify(numbers)}`);
}
