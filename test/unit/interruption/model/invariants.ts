/**
 * The invariants of a node's interruption, as code: held against every patch the door writes, after
 * every step, and after every reconcile. Each is the issue's rule in the sim's own terms:
 *
 * 1. out-of-service only while EC2 confirms stopped (not by hibernation), terminated or unknown, and
 *    the node is NotReady; and never left on a Ready node of a running instance past a reconcile;
 * 2. a node unschedulable before our mark (an operator's cordon) is never uncordoned by us;
 * 3. a node whose instance runs, Ready, that nothing holds (no deadline or budget ahead, no Health
 *    change, no rebalance cordon kept), with no live holder, carries none of our marks after a reconcile;
 * 4. nothing is released while a notice with EC2's own deadline ahead (a Spot or capacity warning, a
 *    Health change due and not started) holds the node;
 * 5. at most one live holder; a holder that stopped renewing, or handed its drain off, is taken over
 *    by the next reconcile (or the hand-off's own look);
 * 6. lifecycle hooks are completed only for the node's own instance and group, each at most once;
 * 7. only this project's taints and marks are ever removed;
 * 8. a node is marked for voluntary reasons only (a rebalance, a Health change not yet one drain from
 *    its start) only while the disruption budget has a place: the cluster's other held nodes fewer
 *    than its limit; a notice with a hard deadline marks it whatever the budget says.
 */

import { countedStates } from '../../../../src/interruption/budget.js';
import { cordonVouchLabel, type NodePatch } from '../../../../src/interruption/marks.js';
import { overdueGraceMs } from '../../../../src/interruption/reasons.js';
import { RecordState, recordOn } from '../../../../src/interruption/record.js';
import { outOfServiceKey, taintPrefix } from '../../../../src/interruption/world.js';
import { lbLabelKey, type ModelNotice, type Sim } from './sim.js';

export interface Violation {
  rule: number;
  detail: string;
  what?: string;
}

const ours = (t: { key: string; value?: string }) =>
  t.key.startsWith(taintPrefix) || (t.key === outOfServiceKey && t.value === 'eks-spot-drainer');

/** Whether the machine came back (EC2 started it, and the kubelet turned Ready since) after `at`. */
function cameBackAfter(sim: Sim, at: number): boolean {
  const start = sim.starts.filter((s) => s > at).at(-1);
  return start !== undefined && sim.isReady() && sim.kubelet.readySince >= start;
}

/** Whether the sim's own account says a notice still holds the node. */
export function holds(sim: Sim, n: ModelNotice): boolean {
  if (n.closed) return false;
  const back = cameBackAfter(sim, n.at);
  const running = sim.ec2.state === 'running';
  if (n.arn) return !(back && sim.now >= (n.deadline ?? 0));
  if (n.kind === 'rebalance-recommendation') {
    return !back && (sim.rules.rebalanceCordonTtlMs === 0 || sim.now - n.at < sim.rules.rebalanceCordonTtlMs);
  }
  // EC2 started the machine since: what the notice announced has happened, and it is back.
  if (back) return false;
  return !running || sim.now < n.budgetEnd + overdueGraceMs;
}

/** A notice with EC2's own deadline ahead that asks for a drain now. */
function dueDeadlineAhead(sim: Sim): ModelNotice | undefined {
  return sim.notices.find((n) => {
    if (!holds(sim, n) || n.deadline === undefined) return false;
    if (n.arn) return sim.now >= (n.drainAt ?? 0) && sim.now < n.deadline;
    return sim.now < n.budgetEnd;
  });
}

/** A rebalance recommendation or a Health change: nothing of EC2's takes the machine at a set time. */
function voluntary(n: { kind: string }): boolean {
  return n.kind === 'rebalance-recommendation' || n.kind === 'scheduled-change';
}

export function liveHolders(sim: Sim): string[] {
  return [...sim.holders.entries()]
    .filter(([, h]) => h.alive && sim.now - h.lastRenewOk <= sim.rules.staleAfterMs)
    .map(([id]) => id);
}

/** Rules 1, 2, 4 and 7, before the API server takes a patch of the door. */
export function checkPatch(sim: Sim, patch: NodePatch): Violation[] {
  const v: Violation[] = [];
  const node = sim.node;
  const before = node.spec?.taints ?? [];
  const after = patch.spec?.taints ?? before;
  const ec2 = sim.ec2;
  if (after.some((t) => t.key === outOfServiceKey) && !before.some((t) => t.key === outOfServiceKey)) {
    const confirmed =
      (ec2.state === 'stopped' && !/hibernat/i.test(ec2.stateReason ?? '')) ||
      ec2.state === 'terminated' ||
      ec2.state === 'gone';
    if (!confirmed || sim.isReady())
      v.push({
        rule: 1,
        detail: `out-of-service with EC2 ${ec2.state} ${ec2.stateReason ?? ''}, Ready ${sim.isReady()}`,
      });
  }
  const uncordons = node.spec?.unschedulable === true && patch.spec?.unschedulable === null;
  if (uncordons && sim.owners.cordon === 'admin')
    v.push({ rule: 2, detail: "uncordons an operator's cordon" });
  // deploy/node-fence.yaml's rules for the cordon's label: what the door writes, the fence lets through.
  const oldLabels = node.metadata?.labels ?? {};
  if (uncordons && oldLabels[cordonVouchLabel] === undefined)
    v.push({ rule: 2, detail: 'uncordons a node without the label of its own cordon (the fence refuses)' });
  const claims =
    patch.metadata.labels[cordonVouchLabel] === 'true' && oldLabels[cordonVouchLabel] === undefined;
  if (claims && !(node.spec?.unschedulable !== true && patch.spec?.unschedulable === true))
    v.push({ rule: 2, detail: 'labels a cordon it did not make in this patch (the fence refuses)' });
  for (const t of before) {
    if (!after.some((a) => a.key === t.key && a.effect === t.effect) && !ours(t)) {
      v.push({ rule: 7, detail: `removes taint ${t.key}=${t.value}` });
    }
  }
  const marks =
    (node.spec?.unschedulable !== true && patch.spec?.unschedulable === true) ||
    after.some((t) => t.key.startsWith(taintPrefix) && !before.some((b) => b.key === t.key));
  // Counted as countBudget counts: by the record's state, or a recorded change on a cordoned node.
  const state = recordOn(node)?.state;
  const counted =
    countedStates.includes(state ?? RecordState.Scheduled) ||
    (state === RecordState.Scheduled && node.spec?.unschedulable === true);
  // Out of service marks a machine that is gone already: no disruption of ours, whatever the budget.
  const outOfService = after.some((t) => t.key === outOfServiceKey);
  if (marks && !counted && !outOfService && sim.budgetOthers >= sim.budgetLimit()) {
    const incoming = sim.incoming
      ? [{ kind: sim.incoming.kind, deadline: sim.incoming.deadline?.getTime() }]
      : [];
    const reasons = [...sim.notices.filter((n) => holds(sim, n)), ...incoming];
    const forced = reasons.some(
      (n) => !voluntary(n) || sim.now >= (n.deadline ?? 0) - sim.rules.noDeadlineBudgetMs,
    );
    if (!forced)
      v.push({
        rule: 8,
        detail: `marked with ${sim.budgetOthers} of ${sim.budgetLimit()} places taken by others`,
      });
  }
  if (patch.metadata.labels[lbLabelKey] === null && sim.owners.lb === 'admin') {
    v.push({ rule: 7, detail: "removes an operator's load-balancer label" });
  }
  // Lifting out-of-service from a machine that is back releases nothing that holds the node.
  const releases =
    patch.metadata.annotations['eks-spot-drainer/drain'] === null ||
    uncordons ||
    before.some((t) => t.key.startsWith(taintPrefix) && !after.some((a) => a.key === t.key));
  const held = releases ? dueDeadlineAhead(sim) : undefined;
  if (held)
    v.push({
      rule: 4,
      detail: `released while ${held.kind} ${held.eventId} holds it until ${held.budgetEnd - sim.now} ms from now`,
    });
  return v;
}

/** Rules 5 and 6, after every step. */
export function checkStep(sim: Sim): Violation[] {
  const v: Violation[] = [];
  const live = liveHolders(sim);
  if (live.length > 1) v.push({ rule: 5, detail: `${live.length} live holders: ${live.join(', ')}` });
  // Once while its record lives: a notice delivered after the record is gone may complete it again
  // (Auto Scaling answers that it has ended), as no record is left to remember it.
  const seen = new Map<string, number>();
  for (const { key, generation, remembered } of sim.hooks.attempts) {
    const name = key.replaceAll('\u0000', '/');
    if (!sim.hooks.genuine.has(key))
      v.push({ rule: 6, detail: `completed a hook Auto Scaling never held: ${name}` });
    if (!remembered) continue;
    const once = `${generation} ${key}`;
    seen.set(once, (seen.get(once) ?? 0) + 1);
    if (seen.get(once) === 2) v.push({ rule: 6, detail: `completed ${name} twice while its record lived` });
  }
  return v;
}

/** Rules 1, 3 and 5, after a reconcile. */
export function checkReconciled(sim: Sim): Violation[] {
  const v: Violation[] = [];
  const running = sim.ec2.state === 'running';
  const taints = sim.node.spec?.taints ?? [];
  const record = recordOn(sim.node);
  if (running && sim.isReady() && taints.some((t) => t.key === outOfServiceKey && ours(t))) {
    v.push({ rule: 1, detail: 'out-of-service left on a Ready node of a running instance' });
  }
  const holding = sim.notices.filter((n) => holds(sim, n));
  const renewed = record?.state === 'draining' ? Date.parse(record.renewedAt ?? '') : Number.NaN;
  const heldByLive = sim.now - renewed <= sim.rules.staleAfterMs;
  if (running && sim.isReady() && holding.length === 0 && !heldByLive) {
    const marks = taints.filter(ours).map((t) => t.key);
    if (sim.owners.cordon === 'us' && sim.node.spec?.unschedulable) marks.push('cordon');
    if (sim.owners.lb === 'us') marks.push('load-balancer label');
    if (marks.length > 0)
      v.push({ rule: 3, detail: `nothing holds the node, yet it keeps ${marks.join(', ')}` });
  }
  // As a holder that stopped renewing: of an instance leaving, what is left is EC2's to decide.
  if (record?.state === 'draining' && record.handedOffAt && running) {
    v.push({ rule: 5, detail: `a drain ${record.holder} handed off was not taken over by a look` });
  }
  if (record?.state === 'draining' && running && sim.now - renewed > sim.rules.staleAfterMs) {
    v.push({ rule: 5, detail: `a drain held by ${record.holder}, who stopped renewing, was not taken over` });
  }
  return v;
}
