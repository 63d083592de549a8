/**
 * Which taint key marks a node for which kind of notice (NTH_TAINT_KEYS): this project's own
 * (`eks-spot-drainer/<kind>`), or aws-node-termination-handler's, so that tolerations written for
 * NTH keep matching after a move. Shared by what writes the taints (src/interruption), what reads
 * them during a drain (src/drain) and what fences them (the CLI's `rbac`).
 */
import type { NoticeKind } from './types.js';

/** The key prefix only this project writes (the shipped deploy/node-fence.yaml: the drainer's only one). */
export const taintPrefix = 'eks-spot-drainer/';

/**
 * The effects a taint of this project may have (TAINT_EFFECT): NoSchedule, PreferNoSchedule where
 * pods may still land on a marked node when nothing else is free, or NoExecute as NTH allows: put on
 * with the cordon, it evicts every pod that does not tolerate it at once, without
 * PodDisruptionBudgets (only the fence rendered for it lets it through: `rbac --taint-effect NoExecute`).
 */
export const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export type TaintEffect = (typeof taintEffects)[number];

export const TaintKeys = {
  EksSpotDrainer: 'eks-spot-drainer',
  AwsNodeTerminationHandler: 'aws-node-termination-handler',
} as const;
export type TaintKeys = (typeof TaintKeys)[keyof typeof TaintKeys];

/**
 * NTH's taint keys (its pkg/node/node.go), by the kind of notice NTH taints for. NTH has none for a
 * state change (it drains without a taint) and does not hear capacity-reservation interruptions:
 * those keep this project's key whatever NTH_TAINT_KEYS says, because a release needs a taint of ours to
 * vouch for the cordon, and a key NTH never wrote is not for this project to invent under NTH's name.
 */
export const nthTaintKeys: Readonly<Partial<Record<NoticeKind, string>>> = {
  'spot-interruption': 'aws-node-termination-handler/spot-itn',
  'rebalance-recommendation': 'aws-node-termination-handler/rebalance-recommendation',
  'scheduled-change': 'aws-node-termination-handler/scheduled-maintenance',
  'asg-terminate': 'aws-node-termination-handler/asg-lifecycle-termination',
};

// By plain string: the drain knows a notice's kind only as a string.
const nthByKind: ReadonlyMap<string, string> = new Map(Object.entries(nthTaintKeys));
const nthKeys: ReadonlySet<string> = new Set(nthByKind.values());

/** The key of the taint a notice of `kind` puts on its node under `keys`. */
export function taintKeyFor(kind: NoticeKind | string, keys: TaintKeys = TaintKeys.EksSpotDrainer): string {
  return (keys === TaintKeys.AwsNodeTerminationHandler && nthByKind.get(kind)) || `${taintPrefix}${kind}`;
}

/** Whether `key` is one of NTH's four taint keys (whose value says who wrote the taint: NTH or us). */
export function isNthTaintKey(key: string): boolean {
  return nthKeys.has(key);
}

/** Whether this project may write a taint of `key` under some TAINT_KEYS (its own prefix, or NTH's keys). */
export function isDrainerTaintKey(key: string): boolean {
  return key.startsWith(taintPrefix) || nthKeys.has(key);
}
