import type { TaintEffect, TaintKeys } from '../taint-keys.js';

/** How a drain behaves: plain configuration, read once from the environment (see src/config.ts). */
export interface DrainOptions {
  /** Compute and report the plan; change nothing. */
  dryRun: boolean;
  /** Evict pods that use emptyDir volumes (their data is lost with the instance anyway). */
  deleteEmptyDirData: boolean;
  /** Evict pods that no controller will recreate (kubectl's --force). */
  evictUnmanagedPods: boolean;
  /** Pods at or above this priority are evicted after the others (DaemonSet pods after them all). */
  criticalPriorityThreshold: number;
  /**
   * Evict DaemonSet pods too, after every other pod of the node, critical ones last; off, they are
   * left (kubectl drain --ignore-daemonsets). One that tolerates every taint of the node is left either
   * way: its DaemonSet would put it straight back.
   */
  evictDaemonSetPods: boolean;
  /** Overrides every pod's terminationGracePeriodSeconds when set (still capped by the deadline). */
  podGracePeriodSeconds: number | undefined;
  /** Time kept back before the deadline: grace periods end this long before it. */
  safetyMarginMs: number;
  /** At the deadline, delete the pods a PodDisruptionBudget still protects (needs rbac-force-delete.yaml). */
  forceAtDeadline: boolean;
  /** Add the eks-spot-drainer/<kind> taint besides cordoning. */
  taintNode: boolean;
  /** The effect of that taint: NoSchedule (default), PreferNoSchedule or NoExecute. */
  taintEffect?: TaintEffect;
  /** Whose keys that taint carries (src/taint-keys.ts): this project's when absent. */
  taintKeys?: TaintKeys;
  /** Label the node node.kubernetes.io/exclude-from-external-load-balancers. */
  excludeFromLoadBalancers: boolean;
  /** How long a drain may run when the notice sets no hard deadline (rebalance, ASG hook, state change). */
  noDeadlineBudgetMs: number;
  /**
   * After a drain, its node's lifecycle hooks wait for its VolumeAttachments to go, and at least this
   * long (volumes no CSI driver tracks), both bounded by the drain's deadline.
   */
  hookCompletionDelayMs: number;
  /**
   * Leave pods annotated `karpenter.sh/do-not-disrupt` (or `eks-spot-drainer/do-not-disrupt`) alone:
   * set for a voluntary drain (a rebalance, a Health change not yet near); otherwise they are evicted
   * like the rest, and the report says so.
   */
  keepDoNotDisrupt?: boolean;
}

export const defaultDrainOptions: DrainOptions = {
  dryRun: false,
  deleteEmptyDirData: true,
  evictUnmanagedPods: true,
  // system-cluster-critical; system-node-critical (2000001000) is above it.
  criticalPriorityThreshold: 2_000_000_000,
  evictDaemonSetPods: false,
  podGracePeriodSeconds: undefined,
  safetyMarginMs: 5_000,
  forceAtDeadline: false,
  taintNode: true,
  taintEffect: 'NoSchedule',
  taintKeys: 'eks-spot-drainer',
  excludeFromLoadBalancers: true,
  noDeadlineBudgetMs: 600_000,
  hookCompletionDelayMs: 0,
};
