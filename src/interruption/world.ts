/**
 * The world as the transition sees it: the node (read from the API server) and its instance (as
 * EC2 describes it). `fresh` says both were read just now, uncached: a destructive step (taking the
 * node out of service, releasing it) is only ever decided on a fresh look.
 */
import type * as k8s from '@kubernetes/client-node';

// The prefix lives with the keys it is one choice of (NTH_TAINT_KEYS); re-exported where the marks read it.
export { taintPrefix } from '../taint-keys.js';

export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const outOfServiceKey = 'node.kubernetes.io/out-of-service';

export interface TaintFacts {
  key: string;
  value?: string;
  effect: string;
}

/** What the transition reads of a node. */
export interface NodeFacts {
  /** The kubelet reports Ready (False and Unknown both mean it is not). */
  ready: boolean;
  /** When the Ready condition last changed, on our clock (epoch ms). */
  readySince: number | undefined;
  bootId: string | undefined;
  unschedulable: boolean;
  lbLabel: boolean;
  taints: TaintFacts[];
  /** The EC2 instance named by spec.providerID, which the kubelet cannot change once set. */
  instanceId: string | undefined;
}

/** What EC2 says of the instance: `gone` when EC2 no longer knows it. */
export interface InstanceFacts {
  state: string;
  /** When it was last launched (a start moves it), epoch ms. */
  launchTime?: number;
  /** EC2's state reason code, e.g. Client.UserInitiatedHibernate. */
  stateReason?: string;
  /** The Auto Scaling group EC2's tags put it in. */
  autoScalingGroup?: string;
}

/** The cluster as the door counted it under the lock. */
export interface Budget {
  /** Nodes whose record holds them (cordoned, draining, drained, out of service...). */
  inUse: number;
  /** The most the budget allows. */
  limit: number;
  /** Deadlines (epoch ms) of the other nodes waiting for a place: an earlier one goes first. */
  waiting: number[];
}

export interface World {
  node: NodeFacts;
  /** `unknown` where EC2 cannot be asked (a kubeconfig-only CLI run) or was not asked. */
  instance: InstanceFacts | 'unknown';
  /** The node and EC2 were read just now, uncached. */
  fresh: boolean;
  /** The cluster's disruption budget, once the door has counted it (only a voluntary drain asks). */
  budget?: Budget;
}

/** EC2 states in which the machine is shut down (or no longer exists). */
export const shutDownStates: ReadonlySet<string> = new Set(['stopped', 'terminated', 'gone']);

export function isNodeReady(node: k8s.V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The EC2 instance of a node, from its providerID (aws:///<az>/<instance-id>). */
export function instanceIdOf(node: k8s.V1Node): string | undefined {
  const id = node.spec?.providerID?.split('/').at(-1);
  return id && /^i-[0-9a-f]{8,17}$/.test(id) ? id : undefined;
}

/** The facts of a node; `skewMs` turns the API server's times into our clock's. */
export function nodeFacts(node: k8s.V1Node, skewMs = 0): NodeFacts {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const since = ready?.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() + skewMs : undefined;
  return {
    ready: isNodeReady(node),
    readySince: since !== undefined && Number.isFinite(since) ? since : undefined,
    bootId: node.status?.nodeInfo?.bootID || undefined,
    unschedulable: node.spec?.unschedulable === true,
    lbLabel: node.metadata?.labels?.[excludeFromLoadBalancersLabel] !== undefined,
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      effect: t.effect,
      ...(t.value !== undefined ? { value: t.value } : {}),
    })),
    instanceId: instanceIdOf(node),
  };
}

/** Whether EC2 says the machine is shut down for good or for now. */
export function isShutDown(world: World): boolean {
  return world.instance !== 'unknown' && shutDownStates.has(world.instance.state);
}

export function isRunning(world: World): boolean {
  return world.instance !== 'unknown' && world.instance.state === 'running';
}

/** Whether EC2's state reason says the instance was stopped by hibernation. */
export function stoppedByHibernation(world: World): boolean {
  return world.instance !== 'unknown' && /hibernat/i.test(world.instance.stateReason ?? '');
}
