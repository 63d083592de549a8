import { NodeEventReason } from '../kube/node-events.js';
import type { PlannedPod } from './plan.js';
import { countOutcomes, type PodReport, type PodTier } from './result.js';

/** A dry run's prediction for one pod, from the plan and the budgets that cover it. */
export function reportPlanned(planned: PlannedPod): PodReport {
  const base = {
    namespace: planned.pod.metadata?.namespace ?? '',
    name: planned.pod.metadata?.name ?? '',
    tier: planned.decision.tier as PodTier,
  };
  const { decision } = planned;
  if (decision.action === 'skip') return { ...base, outcome: 'skipped', reason: decision.reason };
  const blocking = planned.budgets.find((b) => b.disruptionsAllowed < 1);
  if (blocking) {
    return {
      ...base,
      outcome: 'blocked',
      pdb: blocking.name,
      reason: `PodDisruptionBudget ${blocking.name} allows no disruption${
        blocking.blockingSince ? ` since ${blocking.blockingSince}` : ''
      }`,
    };
  }
  if (planned.budgets.length > 1) {
    return { ...base, outcome: 'failed', reason: 'covered by more than one PodDisruptionBudget' };
  }
  return {
    ...base,
    outcome: 'would-evict',
    ...(decision.action === 'evict' && decision.warning ? { reason: decision.warning } : {}),
  };
}

/** How a drain ended, from its pods: `drained` only when no pod it would evict is left. */
export function outcomeOf(reports: PodReport[]): 'drained' | 'deadline-reached' | 'incomplete' {
  if (reports.some((r) => r.outcome === 'blocked' || r.outcome === 'still-terminating'))
    return 'deadline-reached';
  if (reports.some((r) => r.outcome === 'failed' || r.outcome === 'stuck' || r.outcome === 'returned'))
    return 'incomplete';
  return 'drained';
}

/** The Event that tells a node how its drain ended (the caller writes it beside the record). */
export function outcomeEvent(
  outcome: string,
  reports: PodReport[],
  tookMs: number,
): { reason: NodeEventReason; message: string; warning: boolean } {
  const counts = countOutcomes(reports);
  if (outcome === 'drained') {
    return {
      reason: NodeEventReason.DrainComplete,
      message: `Drained in ${(tookMs / 1000).toFixed(1)} s: ${counts.evicted + counts['already-terminating'] + counts.gone + counts['force-deleted']} pods gone, ${counts.skipped} skipped`,
      warning: false,
    };
  }
  const left = reports
    .filter(
      (r) => !['evicted', 'already-terminating', 'skipped', 'force-deleted', 'gone'].includes(r.outcome),
    )
    .map((r) => `${r.namespace}/${r.name} (${r.outcome}${r.pdb ? ` by PodDisruptionBudget ${r.pdb}` : ''})`);
  return {
    reason: NodeEventReason.DrainBlocked,
    message: `Drain ${outcome}; pods left: ${left.join(', ')}`,
    warning: true,
  };
}

/** What the Event on a pod the drain removed says: its node, the notice, the deadline and its grace. */
export function podEventMessage(
  removal: { how: 'evicted' } | { how: 'force-deleted'; pdb: string | undefined },
  drain: { nodeName: string; notice: { kind: string; eventId: string } | undefined; deadline: number },
  graceSeconds: number,
): string {
  const notice = drain.notice ? ` for ${drain.notice.kind} ${drain.notice.eventId}` : '';
  const why = `node ${drain.nodeName} is drained${notice} before ${new Date(drain.deadline).toISOString()}`;
  const grace = `grace period ${graceSeconds} s`;
  if (removal.how === 'evicted') return `Evicted: ${why}; ${grace}`;
  const budget = removal.pdb ? `PodDisruptionBudget ${removal.pdb}` : 'its PodDisruptionBudget';
  return `Deleted at the deadline though ${budget} still protected it (FORCE_AT_DEADLINE): ${why}; ${grace}`;
}
