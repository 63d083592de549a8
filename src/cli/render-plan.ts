/**
 * What `plan` prints: what a drain of a node would do right now, pod by pod, and which
 * PodDisruptionBudgets would hold it up. Pure: from a node and a DrainPlan to lines.
 */
import type * as k8s from '@kubernetes/client-node';
import type { BudgetView, DrainPlan, PlannedPod } from '../drain/plan.js';
import { recordOn } from '../interruption/record.js';
import { isDrainerTaintKey } from '../taint-keys.js';
import { plural, table } from './text.js';

/** What a drain would do with one pod. */
export type PodPlan = 'evict' | 'blocked' | 'fail' | 'skip' | 'wait';

/** Decides a pod's plan from the filter decision and the budgets that cover it, as a drain would. */
export function planOf(planned: PlannedPod): { plan: PodPlan; detail: string } {
  const { decision, budgets } = planned;
  if (decision.action === 'skip') return { plan: 'skip', detail: decision.reason };
  if (decision.action === 'wait')
    return { plan: 'wait', detail: 'already terminating: waited for, not evicted' };
  const last = decision.tier === 'critical' ? ['evicted last, after the ordinary pods'] : [];
  if (budgets.length > 1) {
    return {
      plan: 'fail',
      detail: `covered by ${budgets.map(budgetName).join(' and ')}: the API refuses to evict a pod under more than one PodDisruptionBudget`,
    };
  }
  const budget = budgets[0];
  if (budget && budget.disruptionsAllowed < 1) {
    return { plan: 'blocked', detail: [blockingText(budget), ...last].join('; ') };
  }
  const allowed = budget
    ? [`PodDisruptionBudget ${budgetName(budget)} allows ${budget.disruptionsAllowed}`]
    : [];
  const warning = decision.warning ? [decision.warning] : [];
  return { plan: 'evict', detail: [...allowed, ...warning, ...last].join('; ') };
}

function budgetName(budget: Pick<BudgetView, 'namespace' | 'name'>): string {
  return `${budget.namespace}/${budget.name}`;
}

function blockingText(budget: BudgetView): string {
  const since = budget.blockingSince ? ` since ${budget.blockingSince}` : '';
  return `PodDisruptionBudget ${budgetName(budget)} allows no disruption${since}`;
}

/** Header, pod table, budgets and a one-line verdict for `plan`. */
export function renderPlan(node: k8s.V1Node, plan: DrainPlan, clusterName: string): string[] {
  const lines = [
    `node ${plan.nodeName} (${node.spec?.providerID || 'no providerID'}) of cluster ${clusterName}`,
  ];
  lines.push(`  state: ${nodeState(node)}`);
  const rows = plan.pods.map((p) => {
    const { plan: what, detail } = planOf(p);
    return { pod: p, what, row: [p.key, p.decision.tier, what, detail] };
  });
  if (rows.length === 0) {
    lines.push('  no pods on this node: a drain would only cordon it');
    return lines;
  }
  lines.push(
    '',
    ...table(
      ['POD', 'TIER', 'PLAN', 'DETAIL'],
      rows.map((r) => r.row),
    ),
  );

  const budgets = budgetsOnNode(plan.pods);
  if (budgets.length > 0) {
    lines.push('', '  PodDisruptionBudgets covering pods of this node:');
    for (const { budget, pods } of budgets) lines.push(`    ${budgetLine(budget, pods)}`);
  }

  const count = (what: PodPlan) => rows.filter((r) => r.what === what).length;
  const critical = rows.filter((r) => r.what === 'evict' && r.pod.decision.tier === 'critical').length;
  const verdict = [
    `would evict ${plural(count('evict'), 'pod')}${critical > 0 ? ` (${critical} critical, last)` : ''}`,
    `skip ${count('skip')}`,
  ];
  if (count('wait') > 0) verdict.push(`wait for ${count('wait')} already terminating`);
  if (count('blocked') > 0) verdict.push(`${count('blocked')} blocked by a PodDisruptionBudget now`);
  if (count('fail') > 0) verdict.push(`${count('fail')} would fail`);
  lines.push('', `  ${verdict.join(', ')}`, '  (plan only: nothing was changed)');
  return lines;
}

function nodeState(node: k8s.V1Node): string {
  const parts = [node.spec?.unschedulable ? 'cordoned' : 'schedulable'];
  const taints = (node.spec?.taints ?? []).filter((t) => isDrainerTaintKey(t.key));
  if (taints.length > 0) parts.push(`tainted ${taints.map((t) => `${t.key}:${t.effect}`).join(', ')}`);
  const record = recordOn(node);
  if (record) {
    const holding = record.reasons[0];
    const by = record.holder ? ` by ${record.holder}` : '';
    const why = holding ? ` for ${holding.kind} event ${holding.eventId}` : '';
    parts.push(`interruption record: ${record.state}${by}${why} (updated ${record.updatedAt})`);
  }
  return parts.join('; ');
}

function budgetsOnNode(pods: PlannedPod[]): { budget: BudgetView; pods: number }[] {
  const byName = new Map<string, { budget: BudgetView; pods: number }>();
  for (const pod of pods) {
    if (pod.decision.action !== 'evict') continue;
    for (const budget of pod.budgets) {
      const entry = byName.get(budgetName(budget)) ?? { budget, pods: 0 };
      entry.pods++;
      byName.set(budgetName(budget), entry);
    }
  }
  return [...byName.values()];
}

function budgetLine(budget: BudgetView, pods: number): string {
  const here = `${plural(pods, 'pod')} of this node under it`;
  if (budget.disruptionsAllowed < 1) {
    const since = budget.blockingSince ? ` since ${budget.blockingSince}` : '';
    return `${budgetName(budget)} allows no disruption${since}; ${here}: retried until the deadline (FORCE_AT_DEADLINE deletes them then)`;
  }
  const paced = pods > budget.disruptionsAllowed ? ': the rest go as their replacements become ready' : '';
  return `${budgetName(budget)} allows ${plural(budget.disruptionsAllowed, 'disruption')} now; ${here}${paced}`;
}
