/**
 * What to do about a notice: one pure switch from notice kind to action, driven by plain switches
 * named after aws-node-termination-handler's options.
 */
import { Action, type InterruptionNotice, NoticeKind } from './types.js';

/** Which notices the function acts on (see src/config.ts for the environment variables). */
export interface PolicyConfig {
  /** Drain on Spot interruption warnings (ENABLE_SPOT_INTERRUPTION_DRAINING). */
  spotInterruption: boolean;
  /** Cordon on rebalance recommendations (ENABLE_REBALANCE_MONITORING). */
  rebalanceMonitoring: boolean;
  /** Drain on rebalance recommendations; wins over monitoring (ENABLE_REBALANCE_DRAINING). */
  rebalanceDraining: boolean;
  /** Drain when the instance is stopping, stopped, shutting down or terminated (ENABLE_STATE_CHANGE_DRAINING). */
  stateChange: boolean;
  /** Drain on AWS Health scheduled EC2 changes (ENABLE_SCHEDULED_EVENT_DRAINING). */
  scheduledChange: boolean;
  /** Drain on Auto Scaling terminate lifecycle actions (ENABLE_ASG_LIFECYCLE_DRAINING). */
  asgLifecycle: boolean;
  /** Drain on capacity reservation interruption warnings (ENABLE_CAPACITY_RESERVATION_DRAINING). */
  capacityReservation: boolean;
  /** Never evict: every drain becomes a cordon (CORDON_ONLY). */
  cordonOnly: boolean;
}

/** The defaults of the environment variables. */
export const defaultPolicyConfig: PolicyConfig = {
  spotInterruption: true,
  rebalanceMonitoring: true,
  rebalanceDraining: false,
  stateChange: true,
  scheduledChange: true,
  asgLifecycle: true,
  capacityReservation: true,
  cordonOnly: false,
};

/** The action a notice calls for before cordonOnly is applied. */
function baseAction(notice: InterruptionNotice, policy: PolicyConfig): Action {
  const drainIf = (enabled: boolean): Action => (enabled ? Action.Drain : Action.None);
  switch (notice.kind) {
    case NoticeKind.SpotInterruption:
      return drainIf(policy.spotInterruption);
    case NoticeKind.RebalanceRecommendation:
      if (policy.rebalanceDraining) return Action.Drain;
      return policy.rebalanceMonitoring ? Action.Cordon : Action.None;
    case NoticeKind.StateChange:
      // The parser only lets stopping, stopped, shutting-down and terminated through.
      return drainIf(policy.stateChange);
    case NoticeKind.ScheduledChange:
      return drainIf(policy.scheduledChange);
    case NoticeKind.AsgTerminate:
      return drainIf(policy.asgLifecycle);
    case NoticeKind.CapacityReservationInterruption:
      return drainIf(policy.capacityReservation);
  }
}

/**
 * Decides what to do about one notice.
 *
 * For an asg-terminate notice `none` still obliges the handler to complete the lifecycle action
 * (CONTINUE), or Auto Scaling holds the instance until the hook times out.
 *
 * @example
 * decideAction(notice, { ...defaultPolicyConfig, cordonOnly: true }); // 'cordon' for a Spot warning
 */
export function decideAction(notice: InterruptionNotice, policy: PolicyConfig): Action {
  const action = baseAction(notice, policy);
  return policy.cordonOnly && action === Action.Drain ? Action.Cordon : action;
}

const STRENGTH: Record<Action, number> = { [Action.None]: 0, [Action.Cordon]: 1, [Action.Drain]: 2 };

/** How strong an action is: none 0 < cordon 1 < drain 2. */
export function actionStrength(action: Action): number {
  return STRENGTH[action];
}

/** Orders actions by strength: negative when `a` is weaker than `b`, 0 when equal, positive when stronger. */
export function compareActions(a: Action, b: Action): number {
  return STRENGTH[a] - STRENGTH[b];
}

/** True when `next` asks for more than `current` (e.g. a Spot warning after a rebalance cordon). */
export function isUpgrade(current: Action, next: Action): boolean {
  return compareActions(next, current) > 0;
}

/** The stronger of two actions. */
export function strongerAction(a: Action, b: Action): Action {
  return compareActions(a, b) >= 0 ? a : b;
}
