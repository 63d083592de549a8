import type { InstanceStateSource } from '../aws/instance-states.js';
import type { Config } from '../config.js';
import type { DrainProgress } from '../drain/drain-types.js';
import type { CarryOutContext, HookHandler } from '../interruption/carry-out.js';
import type { Rules } from '../interruption/inputs.js';
import { instanceFacts } from '../interruption/reconcile.js';
import type { KubeApis } from '../kube/connection.js';
import { budgetKeeper } from '../kube/disruption-budget.js';

/** How often a drain's holder renews the record (and learns of tighter deadlines and new hooks). */
export const renewIntervalMs = 5_000;
/**
 * A draining record not renewed for this long is taken over: longer than a renewal can take (one
 * request may wait up to its 20 s timeout in an API server's queue during a reclaim wave) plus its
 * 5 s interval, so a live holder is never taken for dead.
 */
export const staleAfterMs = 30_000;

/** Lease timing the tests shorten. */
export interface Timing {
  staleAfterMs?: number;
  renewIntervalMs?: number;
}

/** The rules of the node's record, from the configuration. */
export function rulesOf(config: Pick<Config, 'drain' | 'interruption'>, timing: Timing = {}): Rules {
  return {
    taintNode: config.drain.taintNode,
    ...(config.drain.taintEffect ? { taintEffect: config.drain.taintEffect } : {}),
    excludeFromLoadBalancers: config.drain.excludeFromLoadBalancers,
    outOfServiceTaint: config.interruption.outOfServiceTaint,
    rebalanceCordonTtlMs: config.interruption.rebalanceCordonTtlMs,
    scheduledDrainLeadMs: config.interruption.scheduledDrainLeadMs,
    scheduledCordonAtNotice: config.interruption.scheduledCordonAtNotice,
    noDeadlineBudgetMs: config.drain.noDeadlineBudgetMs,
    staleAfterMs: timing.staleAfterMs ?? staleAfterMs,
    ...(config.interruption.disruptionBudget
      ? { disruptionBudget: config.interruption.disruptionBudget }
      : {}),
  };
}

/** Everything moving a node of one cluster on needs, for one invocation. */
export function interruptionContext(options: {
  config: Pick<Config, 'drain' | 'interruption'>;
  apis: KubeApis;
  instanceStates: InstanceStateSource | undefined;
  hooks: HookHandler | undefined;
  invocation: { id: string; deadline: number; signal?: AbortSignal };
  now: () => number;
  timing?: Timing;
  onProgress?: (progress: DrainProgress) => void;
  /** Hands a drain that outlasts the invocation on to a fresh one (carry-out.ts). */
  continueElsewhere?: (nodeName: string) => Promise<void>;
}): CarryOutContext {
  const { invocation, instanceStates, now } = options;
  const call = {
    deadline: invocation.deadline,
    now,
    ...(invocation.signal ? { signal: invocation.signal } : {}),
  };
  return {
    core: options.apis.core,
    apis: options.apis,
    rules: rulesOf(options.config, options.timing),
    now,
    ...(instanceStates
      ? {
          describe: async (id: string) => {
            const state = (await instanceStates([id], call)).get(id);
            return state ? instanceFacts(state) : { state: 'gone' };
          },
        }
      : {}),
    ...(options.config.interruption.disruptionBudget
      ? {
          budget: budgetKeeper(
            options.apis,
            options.config.interruption.disruptionBudget,
            invocation.id,
            call,
          ),
        }
      : {}),
    drain: options.config.drain,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    deadline: invocation.deadline,
    ...(invocation.signal ? { signal: invocation.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    renewIntervalMs: options.timing?.renewIntervalMs ?? renewIntervalMs,
    actor: invocation.id,
    ...(options.continueElsewhere ? { continueElsewhere: options.continueElsewhere } : {}),
  };
}
