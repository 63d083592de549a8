/**
 * The app's shapes: what handling a notice needs (its dependencies, the invocation) and reports.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { InstanceStateSource } from '../aws/instance-states.js';
import type { LazyClient } from '../aws/lazy-client.js';
import type { Config } from '../config.js';
import type { DrainProgress } from '../drain/drain-types.js';
import type { ClusterAccess } from '../kube/cluster-access.js';
import type { OutcomePublisher } from '../notify/outcome-publisher.js';
import type { Notifier } from '../notify/types.js';
import type { MetricsSink } from '../observability/metrics.js';
import type { Action, DrainTarget, InterruptionNotice } from '../types.js';
import type { Timing } from './interruption-context.js';
import type { NoticeResult } from './notice-result.js';
import type { ClusterSource } from './resolve-target.js';

export interface AppDeps {
  config: Pick<Config, 'policy' | 'drain' | 'lifecycleActionHeartbeatMs' | 'interruption'> &
    Partial<Pick<Config, 'lifecycleHeartbeatUntilMs'>>;
  source: ClusterSource;
  access: ClusterAccess;
  /**
   * Built on first use: only notices with a lifecycle hook call Auto Scaling. Undefined where no Auto
   * Scaling is reachable (local runs): lifecycle actions are then left alone.
   */
  autoScaling: LazyClient<AutoScalingClient> | undefined;
  /** EC2's current state of instances, uncached; undefined where EC2 is not reachable (local runs). */
  instanceStates?: InstanceStateSource;
  notifier: Notifier;
  /** Puts an EventBridge event for each outcome (OUTCOME_EVENTS); never throws. */
  outcomes: OutcomePublisher;
  logger: Logger;
  metrics: MetricsSink;
  now?: () => number;
  onProgress?: (notice: InterruptionNotice, progress: DrainProgress) => void;
  /** Record renewal and takeover timing (tests shorten it). */
  timing?: Timing;
  /**
   * Hands a drain that outlasts the invocation on to a fresh one (in Lambda: a self-invoke, see
   * hand-off.ts). Undefined: such a drain stops at the invocation's end, and the reconcile goes on.
   */
  continueDrain?: ContinueDrain;
}

/** Asks a fresh invocation to take over the drain of `node` of `cluster` (hand-off.ts). */
export type ContinueDrain = (
  target: { cluster: string; node: string },
  invocation: Invocation,
) => Promise<void>;

/** One invocation: who it is, and when it must have returned (the Lambda timeout minus a reserve). */
export interface Invocation {
  id: string;
  deadline: number;
  signal?: AbortSignal;
  /** The function's own account and region (from its ARN): events from elsewhere are dropped. Unset: not checked (local runs). */
  account?: string;
  region?: string;
  /**
   * The alias or version this invocation was invoked through (the qualifier of its function ARN),
   * e.g. `provisioned` with provisioned concurrency: a fan-out invokes the same, so the new
   * invocations get its warm instances and its retries and dead-letter queue. Unset: unqualified.
   */
  qualifier?: string;
}

export type NoticeReport = {
  kind: InterruptionNotice['kind'];
  instanceId: string;
  action: Action;
  lifecycleAction?: LifecycleActionStatus;
} & (
  | { status: 'no-action' }
  /** Handed to an invocation of its own (a Health event naming several instances is fanned out). */
  | { status: 'delegated' }
  | { status: 'skipped'; reason: string; detail: string }
  | { status: 'done'; target: DrainTarget; result: NoticeResult }
);

/** What became of a notice's own lifecycle action. */
export type LifecycleActionStatus =
  | 'completed'
  | 'already-ended'
  /** Recorded on the node for the invocation draining it, which completes it when its drain ends. */
  | 'left-to-holder'
  /** Recorded on the node, and completed by the invocation that ended the drain while this one stood by. */
  | 'completed-by-holder'
  | 'not-ours';
