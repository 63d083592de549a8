import type * as k8s from '@kubernetes/client-node';
import { httpStatusOf } from './api-errors.js';

export interface InstanceRef {
  instanceId: string;
  /** EKS, Karpenter and most AMIs name the node after this. */
  privateDnsName?: string | undefined;
  availabilityZone?: string | undefined;
}

export interface NodeLookupResult {
  node: k8s.V1Node | undefined;
  /** How the node was found (or every way tried), for the log. */
  via: string;
  requests: number;
}

/**
 * Finds the node of an EC2 instance: the one whose spec.providerID is aws:///<az>/<instance-id>.
 * There is no field selector on providerID, and listing all nodes of a 5 000-node cluster inside a
 * 120 s window is waste, so direct GETs by the names nodes are given come first, each verified by
 * providerID (a name alone can be reused), then lists narrowed by label, paged.
 */
export async function findNodeForInstance(core: k8s.CoreV1Api, ref: InstanceRef): Promise<NodeLookupResult> {
  let requests = 0;
  const names = unique([ref.privateDnsName, ref.instanceId]);
  for (const name of names) {
    requests++;
    const node = await readNodeOrUndefined(core, name);
    if (node && belongsTo(node, ref.instanceId)) return { node, via: `name ${name}`, requests };
    // A node still joining has no providerID yet (the cloud provider sets it a moment later): the
    // private DNS name EC2 gave for this very instance is then the only name it can have.
    if (node && !node.spec?.providerID && name === ref.privateDnsName) {
      return { node, via: `name ${name} (no providerID yet)`, requests };
    }
  }
  const selectors = unique([
    ref.privateDnsName && `kubernetes.io/hostname=${ref.privateDnsName}`,
    ref.availabilityZone && `topology.kubernetes.io/zone=${ref.availabilityZone}`,
    // Without a zone (the instance is gone from EC2, or the CLI was given only an id) all nodes it is.
    ref.availabilityZone ? undefined : '',
  ]);
  for (const labelSelector of selectors) {
    let _continue: string | undefined;
    do {
      requests++;
      const page = await core.listNode({ labelSelector: labelSelector || undefined, limit: 500, _continue });
      const node = page.items.find((n) => belongsTo(n, ref.instanceId));
      if (node) return { node, via: `list ${labelSelector || 'all nodes'}`, requests };
      _continue = page.metadata?._continue || undefined;
    } while (_continue);
  }
  return {
    node: undefined,
    via: `names [${names.join(', ')}] and lists [${selectors.map((s) => s || 'all nodes').join(', ')}]`,
    requests,
  };
}

/** Whether a node's providerID names this instance (aws:///<az>/<id>, or the older aws://<az>/<id>). */
export function belongsTo(node: k8s.V1Node, instanceId: string): boolean {
  const providerId = node.spec?.providerID ?? '';
  return providerId.startsWith('aws://') && providerId.split('/').at(-1) === instanceId;
}

async function readNodeOrUndefined(core: k8s.CoreV1Api, name: string): Promise<k8s.V1Node | undefined> {
  try {
    return await core.readNode({ name });
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

function unique(values: (string | undefined | false)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string'))];
}
