import type * as k8s from '@kubernetes/client-node';
import { stateLabel } from '../interruption/record.js';

/**
 * Every node with this project's state label (and `selector`, if given; only `name`, if given),
 * paged: what the reconcile looks at, and what the disruption budget counts.
 */
export async function listMarkedNodes(
  core: k8s.CoreV1Api,
  selector?: string,
  name?: string,
): Promise<k8s.V1Node[]> {
  const labelSelector = selector ? `${stateLabel},${selector}` : stateLabel;
  const fieldSelector = name ? { fieldSelector: `metadata.name=${name}` } : {};
  const nodes: k8s.V1Node[] = [];
  let _continue: string | undefined;
  do {
    const page = await core.listNode({ labelSelector, ...fieldSelector, limit: 500, _continue });
    nodes.push(...page.items);
    _continue = page.metadata?._continue || undefined;
  } while (_continue);
  return nodes;
}
