/**
 * The marks this project puts on a node (cordon, its taints, the load-balancer exclusion label,
 * out-of-service) and the patches that add or remove them with the record. Pure.
 *
 * What a release takes away is what the node vouches for, not what the record claims: the record is
 * an annotation the node's own kubelet may write, its taints are not (NodeRestriction). So a release
 * removes every taint of this project and only those (keys under `eks-spot-drainer/`, NTH's keys
 * with this project's value, and out-of-service with this project's value), and with TAINT_NODE the
 * cordon and the label only where one of those taints says this project made them. An operator's
 * cordon, taint or label is never taken away. With TAINT_NODE=false nothing vouches for the cordon
 * and the label but the record.
 */
import type * as k8s from '@kubernetes/client-node';
import { isDrainerTaintKey, isNthTaintKey, taintKeyFor } from '../taint-keys.js';
import type { Rules, TaintEffect } from './inputs.js';
import {
  type InterruptionRecord,
  type NodeMarks,
  recordAnnotation,
  serialiseRecord,
  stateLabel,
} from './record.js';
import {
  excludeFromLoadBalancersLabel,
  type NodeFacts,
  outOfServiceKey,
  type TaintFacts,
  taintPrefix,
} from './world.js';

/**
 * Labels the drainer sets in the very patch that cordons a schedulable node, or adds the
 * load-balancer label: deploy/node-fence.yaml lets the drainer uncordon, or remove that label, only
 * where they are, so an administrator's cordon or label stays out of its reach whatever its code
 * does. They fence the drainer, not the kubelet (which may write labels): the taints above vouch
 * against the kubelet.
 */
export type { TaintEffect };

export const cordonVouchLabel = 'eks-spot-drainer/cordoned';
export const lbVouchLabel = 'eks-spot-drainer/lb-excluded';

/** Kubernetes' non-graceful node shutdown taint (GA in 1.28), with this project's value. */
export const outOfServiceTaint: k8s.V1Taint = {
  key: outOfServiceKey,
  value: 'eks-spot-drainer',
  effect: 'NoExecute',
};

/** The value of this project's taints: which of the other marks it made, so a release can tell. */
export function vouchValue(marks: Pick<NodeMarks, 'cordoned' | 'lbLabel'>): string {
  const made = [...(marks.cordoned ? ['cordoned'] : []), ...(marks.lbLabel ? ['lb-excluded'] : [])];
  return made.length > 0 ? made.join('.') : 'marked';
}

/**
 * The marks with what marking the node now adds: cordon, a taint per reason kind, the label. It
 * starts from what the node vouches for, so a claim the record makes and the node does not back
 * never passes into the value of a taint written now.
 */
export function withMarks(record: InterruptionRecord, node: NodeFacts, rules: Rules): NodeMarks {
  const marks = vouchedMarks(record, node, rules);
  if (!node.unschedulable) marks.cordoned = true;
  if (rules.taintNode) {
    for (const reason of record.reasons) {
      const key = markKey(reason.kind, node, rules);
      if (!marks.taints.includes(key)) marks.taints.push(key);
    }
  }
  if (rules.excludeFromLoadBalancers && !node.lbLabel) marks.lbLabel = true;
  if (!marks.bootId && node.bootId) marks.bootId = node.bootId;
  return marks;
}

/**
 * The key of this project's taint for a notice of `kind`: the one NTH_TAINT_KEYS chooses, but where
 * NTH's own taint holds that key with this effect (NTH still running during a move), this project's
 * own key: a node takes one taint per key and effect, and a taint of ours must vouch for the cordon.
 */
function markKey(kind: string, node: NodeFacts, rules: Rules): string {
  const key = taintKeyFor(kind, rules.taintKeys);
  const effect = rules.taintEffect ?? 'NoSchedule';
  const held = node.taints.some((t) => t.key === key && t.effect === effect && !isOwnTaint(t));
  return held ? `${taintPrefix}${kind}` : key;
}

const vouchCodes = /^(cordoned|lb-excluded|cordoned\.lb-excluded|marked)$/;

/**
 * Whether this project made the taint: any under its own prefix (nothing else writes there), an NTH
 * key only with one of its values (NTH's own carry an event id), whatever NTH_TAINT_KEYS says now.
 * So an NTH still running during a move keeps its taints, and a change of NTH_TAINT_KEYS still
 * releases ours.
 */
export function isOwnTaint(t: TaintFacts): boolean {
  return t.key.startsWith(taintPrefix) || (isNthTaintKey(t.key) && vouchCodes.test(t.value ?? ''));
}

/**
 * The marks the node itself vouches for; a release removes these and nothing else. A record migrated
 * from version 2 is vouched for by a taint that version wrote (its value was the event id).
 */
export function vouchedMarks(
  { marks, legacy }: Pick<InterruptionRecord, 'marks' | 'legacy'>,
  node: NodeFacts,
  rules: Pick<Rules, 'taintNode'>,
): NodeMarks {
  // Whatever the record says, a taint only this project can write is this project's to remove.
  const ours = node.taints.filter((t) => isOwnTaint(t) || isOurOutOfService(t));
  const says = (what: string) =>
    !rules.taintNode ||
    ours.some(
      (t) =>
        isOwnTaint(t) &&
        ((t.value ?? '').split('.').includes(what) || (legacy === true && !vouchCodes.test(t.value ?? ''))),
    );
  return {
    cordoned: marks.cordoned && says('cordoned'),
    taints: [...new Set(ours.map((t) => t.key))],
    lbLabel: marks.lbLabel && says('lb-excluded'),
    ...(marks.bootId ? { bootId: marks.bootId } : {}),
  };
}

function isOurOutOfService(t: TaintFacts): boolean {
  return t.key === outOfServiceKey && t.value === outOfServiceTaint.value;
}

export type NodePatch = {
  metadata: {
    resourceVersion?: string;
    annotations: Record<string, string | null>;
    labels: Record<string, string | null>;
  };
  spec?: { unschedulable?: true | null; taints?: k8s.V1Taint[] };
};

/**
 * The patch that writes `record` (and the marks its effects add) onto `node`, guarded by the node's
 * resourceVersion: a merge patch replaces the whole taint list, which is only safe on that version.
 */
export function writePatch(
  node: k8s.V1Node,
  record: InterruptionRecord,
  effects: { mark: boolean; outOfService: boolean; liftOutOfService?: boolean },
  now: Date,
  taintEffect: TaintEffect = 'NoSchedule',
): NodePatch {
  const labels: Record<string, string | null> = { [stateLabel]: record.state };
  const patch: NodePatch = {
    metadata: {
      resourceVersion: node.metadata?.resourceVersion,
      annotations: { [recordAnnotation]: serialiseRecord(record) },
      labels,
    },
  };
  if (!effects.mark && !effects.outOfService && !effects.liftOutOfService) return patch;
  const taints = (node.spec?.taints ?? []).filter(
    (t) => !(effects.liftOutOfService && t.key === outOfServiceKey && t.value === outOfServiceTaint.value),
  );
  const add = (taint: k8s.V1Taint) => {
    if (!taints.some((t) => t.key === taint.key && t.effect === taint.effect)) taints.push(taint);
  };
  const spec: NonNullable<NodePatch['spec']> = {};
  if (effects.mark) {
    spec.unschedulable = true;
    if (record.marks.cordoned && node.spec?.unschedulable !== true) labels[cordonVouchLabel] = 'true';
    const value = vouchValue(record.marks);
    // Every taint of ours says what this project made now (a cordon made later included).
    for (const [i, t] of taints.entries()) {
      if (isOwnTaint(t) && t.value !== value) taints[i] = { ...t, value };
    }
    // A taint of NTH's on the key with this effect stays NTH's: `add` leaves it (markKey avoids that).
    for (const key of record.marks.taints.filter(isDrainerTaintKey)) {
      add({ key, value, effect: taintEffect, timeAdded: now });
    }
    if (record.marks.lbLabel && node.metadata?.labels?.[excludeFromLoadBalancersLabel] === undefined) {
      labels[excludeFromLoadBalancersLabel] = 'true';
      labels[lbVouchLabel] = 'true';
    }
  }
  if (effects.outOfService) add({ ...outOfServiceTaint, timeAdded: now });
  if (JSON.stringify(taints) !== JSON.stringify(node.spec?.taints ?? [])) spec.taints = taints;
  if (Object.keys(spec).length > 0) patch.spec = spec;
  return patch;
}

/** The patch that removes the record and exactly the marks `vouched` names. */
export function releasePatch(node: k8s.V1Node, vouched: NodeMarks): NodePatch {
  const gone = new Set(vouched.taints);
  // By key and value: NTH's own taint may share a key of ours (with another effect), and stays.
  const taints = (node.spec?.taints ?? []).filter(
    (t) => !(gone.has(t.key) && (isOwnTaint(t) || isOurOutOfService(t))),
  );
  const labels: Record<string, null> = { [stateLabel]: null, [cordonVouchLabel]: null, [lbVouchLabel]: null };
  if (vouched.lbLabel) labels[excludeFromLoadBalancersLabel] = null;
  const spec: NonNullable<NodePatch['spec']> = {};
  if (vouched.cordoned) spec.unschedulable = null;
  if (taints.length !== (node.spec?.taints ?? []).length) spec.taints = taints;
  return {
    metadata: {
      resourceVersion: node.metadata?.resourceVersion,
      annotations: { [recordAnnotation]: null },
      labels,
    },
    ...(Object.keys(spec).length > 0 ? { spec } : {}),
  };
}
