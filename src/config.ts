/**
 * The function's configuration: environment variables, read once per container, validated with
 * zod, failing fast with a ConfigError that names the variable. One table below is the source of
 * every variable's default and description (configVariables, checked against README/serverless);
 * how each raw value is read is in config-values.ts. Longer than 300 lines because splitting that
 * table would split the one place to read them.
 */
import {
  bool,
  budgetSpec,
  clusters,
  eventBus,
  gracePeriod,
  int,
  LaunchTimeoutAction,
  launchTimeoutAction,
  optionalTagKey,
  secretRef,
  taintEffect,
} from './config-values.js';
import type { DrainOptions } from './drain/options.js';
import { ConfigError } from './errors.js';
import type { BudgetSpec } from './interruption/budget.js';
import type { WebhookSecretRef } from './notify/secret-ref.js';
import type { PolicyConfig } from './policy.js';
import { TaintKeys } from './taint-keys.js';
import type * as z from './zod.js';

export { CLUSTER_NAME_PATTERN, LaunchTimeoutAction } from './config-values.js';

/** Everything the handler needs to know from its environment. */
export interface Config {
  /** EKS clusters this function may act on; nodes of other clusters are left alone. */
  managedClusters: string[];
  policy: PolicyConfig;
  drain: DrainOptions;
  /** The secret that holds the URL to POST a summary of each drain to; undefined sends nothing. */
  webhookSecret: WebhookSecretRef | undefined;
  /** The bus outcome events are put on (a name or an ARN); undefined puts none. */
  outcomeEventBus: string | undefined;
  /** How long an EC2 DescribeInstances answer is reused (0 = never). */
  instanceCacheTtlMs: number;
  /** Interval between Auto Scaling lifecycle action heartbeats while draining (0 = send none). */
  lifecycleActionHeartbeatMs: number;
  /** Heartbeats of a hook end this long after its lifecycle action began (HEARTBEAT_UNTIL_SECONDS). */
  lifecycleHeartbeatUntilMs: number;
  /** How a node's interruption is carried on beyond one drain (src/interruption). */
  interruption: InterruptionConfig;
  /** MANAGED_TAG: only instances carrying this EC2 tag key are acted on; undefined: all of a managed cluster. */
  managedTag: string | undefined;
  /** Instances one event may act on; the rest are logged and left alone. */
  maxInstancesPerEvent: number;
  /** Each instance of a multi-instance Health event gets an invocation of its own. */
  fanOutEvents: boolean;
  /** Auto Scaling launch hooks of managed clusters' instances (src/app/handle-launch.ts). */
  launchHooks: LaunchHookConfig;
}

/** How launch lifecycle actions are completed once the new node is Ready. */
export interface LaunchHookConfig {
  /** Complete launch hooks at all; off leaves them to the hook's own timeout (or another tool). */
  enabled: boolean;
  /** How long after the launch event the node may take to be Ready, across retries. */
  readyWaitMs: number;
  /** After that: ABANDON the action (Auto Scaling terminates the instance), or leave it to time out. */
  onTimeout: LaunchTimeoutAction;
}

export const defaultLaunchHookConfig: LaunchHookConfig = {
  enabled: true,
  readyWaitMs: 600_000,
  onTimeout: LaunchTimeoutAction.Leave,
};

/** What the reconcile and the notices do across a node's whole interruption. */
export interface InterruptionConfig {
  /** A rebalance cordon with no interruption after it is lifted after this long; 0 keeps it. */
  rebalanceCordonTtlMs: number;
  /** A Health scheduled change is drained this long before it starts (recorded until then). */
  scheduledDrainLeadMs: number;
  /** Cordon a node as soon as its scheduled change is announced, not only when it is drained. */
  scheduledCordonAtNotice: boolean;
  /** Taint nodes whose instance is gone node.kubernetes.io/out-of-service (non-graceful shutdown). */
  outOfServiceTaint: boolean;
  /** An instance's `running` event moves its marked node on at once (release), not at the next reconcile. */
  releaseOnRunning: boolean;
  /** How long a `running` event waits for the kubelet of a marked node to be Ready again. */
  runningWaitMs: number;
  /** How many nodes of a cluster voluntary drains may hold at once; undefined: no bound. */
  disruptionBudget: BudgetSpec | undefined;
}

export const defaultInterruptionConfig: InterruptionConfig = {
  rebalanceCordonTtlMs: 0,
  scheduledDrainLeadMs: 30 * 60_000,
  scheduledCordonAtNotice: false,
  outOfServiceTaint: true,
  releaseOnRunning: true,
  runningWaitMs: 90_000,
  disruptionBudget: { percent: 10 },
};

/** One documented environment variable. */
export interface ConfigVariable {
  name: string;
  /** The default as it would be written in the environment; undefined when there is none. */
  default: string | undefined;
  required: boolean;
  description: string;
}

interface Spec<T> {
  default: string | undefined;
  description: string;
  schema: z.ZodMiniType<T, string | undefined>;
}

function spec<T>(
  def: string | undefined,
  description: string,
  schema: z.ZodMiniType<T, string | undefined>,
): Spec<T> {
  return { default: def, description, schema };
}

const variables = {
  MANAGED_CLUSTERS: spec(
    undefined,
    'Comma-separated EKS cluster names this function may drain nodes of.',
    clusters,
  ),
  ENABLE_SPOT_INTERRUPTION_DRAINING: spec(
    'true',
    'Drain the node on a Spot interruption warning.',
    bool(true),
  ),
  ENABLE_REBALANCE_MONITORING: spec('true', 'Cordon the node on a rebalance recommendation.', bool(true)),
  ENABLE_REBALANCE_DRAINING: spec(
    'false',
    'Drain (not just cordon) the node on a rebalance recommendation.',
    bool(false),
  ),
  ENABLE_STATE_CHANGE_DRAINING: spec(
    'true',
    'Drain the node when its instance is stopping, stopped, shutting down or terminated.',
    bool(true),
  ),
  ENABLE_SCHEDULED_EVENT_DRAINING: spec(
    'true',
    'Drain the node on an AWS Health scheduled EC2 change.',
    bool(true),
  ),
  ENABLE_ASG_LIFECYCLE_DRAINING: spec(
    'true',
    'Drain the node on an Auto Scaling terminate lifecycle action (the action is completed either way).',
    bool(true),
  ),
  ENABLE_CAPACITY_RESERVATION_DRAINING: spec(
    'true',
    'Drain the node on a capacity reservation interruption warning.',
    bool(true),
  ),
  CORDON_ONLY: spec('false', 'Only cordon: never evict pods.', bool(false)),
  DRY_RUN: spec('false', 'Compute and report the plan; change nothing.', bool(false)),
  DELETE_EMPTYDIR_DATA: spec('true', 'Evict pods that use emptyDir volumes.', bool(true)),
  EVICT_UNMANAGED_PODS: spec('true', 'Evict pods that no controller will recreate.', bool(true)),
  CRITICAL_PRIORITY_THRESHOLD: spec(
    '2000000000',
    'Pods at or above this priority are evicted after the others (DaemonSet pods later still).',
    int(2_000_000_000, -2_147_483_648, 2_147_483_647),
  ),
  EVICT_DAEMONSET_PODS: spec(
    'false',
    'Evict DaemonSet pods too, after every other pod (off: left, as kubectl drain --ignore-daemonsets).',
    bool(false),
  ),
  POD_TERMINATION_GRACE_PERIOD: spec(
    '-1',
    "Grace period in seconds given to every evicted pod; -1 uses each pod's own (always capped by the deadline).",
    gracePeriod,
  ),
  DEADLINE_SAFETY_MARGIN_SECONDS: spec(
    '5',
    'Seconds kept back before the deadline: grace periods end this long before it.',
    int(5, 0, 119),
  ),
  FORCE_AT_DEADLINE: spec(
    'false',
    'At the deadline, delete pods a PodDisruptionBudget still protects (needs rbac-force-delete.yaml).',
    bool(false),
  ),
  TAINT_NODE: spec('true', 'Add the eks-spot-drainer/<kind> NoSchedule taint besides cordoning.', bool(true)),
  TAINT_EFFECT: spec(
    'NoSchedule',
    'The effect of that taint: NoSchedule, PreferNoSchedule, or NoExecute (evicts at once, without budgets).',
    taintEffect,
  ),
  NTH_TAINT_KEYS: spec(
    'false',
    'Key that taint as aws-node-termination-handler does (src/taint-keys.ts), not eks-spot-drainer/<kind>.',
    bool(false),
  ),
  EXCLUDE_FROM_LOAD_BALANCERS: spec(
    'true',
    'Label the node node.kubernetes.io/exclude-from-external-load-balancers.',
    bool(true),
  ),
  DRAIN_TIMEOUT_SECONDS: spec(
    '600',
    'How long a drain may run when the notice sets no hard deadline (rebalance, ASG hook, state change); past the invocation, handed on.',
    int(600, 1, 172_800),
  ),
  WEBHOOK_URL_SECRET_NAME: spec(
    undefined,
    'Secrets Manager secret (or `ssm:<SecureString parameter>`) holding an https URL that receives a JSON summary of each drain.',
    secretRef,
  ),
  OUTCOME_EVENTS: spec(
    'true',
    'Put an EventBridge event on OUTCOME_EVENT_BUS for each outcome: node cordoned, drained, out of service, released; notice rejected.',
    bool(true),
  ),
  OUTCOME_EVENT_BUS: spec(
    'default',
    "The EventBridge bus of outcome events: a name (`default`, the account's own bus) or an event-bus ARN.",
    eventBus,
  ),
  INSTANCE_CACHE_SECONDS: spec(
    '30',
    'Seconds an EC2 instance lookup is reused; 0 disables the cache.',
    int(30, 0, 3_600),
  ),
  LIFECYCLE_HEARTBEAT_SECONDS: spec(
    '60',
    'Seconds between Auto Scaling lifecycle heartbeats while a hooked drain runs; 0 sends none.',
    int(60, 0, 7_200),
  ),
  HEARTBEAT_UNTIL_SECONDS: spec(
    '172800',
    'Seconds after a lifecycle action began that its heartbeats stop (then it ends at its own timeout), as NTH heartbeatUntil.',
    int(172_800, 60, 172_800),
  ),
  HOOK_COMPLETION_DELAY_SECONDS: spec(
    '0',
    "Seconds a drained node's lifecycle hooks wait at least before CONTINUE (volumes no CSI driver tracks).",
    int(0, 0, 900),
  ),
  REBALANCE_CORDON_TTL_MINUTES: spec(
    '0',
    'Minutes after which the reconcile lifts a rebalance cordon that no interruption followed; 0 keeps it.',
    int(0, 0, 10_080),
  ),
  SCHEDULED_DRAIN_LEAD_MINUTES: spec(
    '30',
    'A Health scheduled change further ahead than this is recorded, and drained by the reconcile this long before it starts.',
    int(30, 0, 10_080),
  ),
  SCHEDULED_CORDON_AT_NOTICE: spec(
    'false',
    'Cordon a node as soon as its scheduled change is announced (otherwise only when it is drained).',
    bool(false),
  ),
  OUT_OF_SERVICE_TAINT: spec(
    'true',
    'When EC2 reports the instance gone and its kubelet has stopped, taint the node node.kubernetes.io/out-of-service.',
    bool(true),
  ),
  RELEASE_ON_RUNNING: spec(
    'true',
    "When a marked node's instance runs again, release the node as soon as its kubelet is Ready, not at the next reconcile.",
    bool(true),
  ),
  RUNNING_WAIT_SECONDS: spec(
    '90',
    'How long a running event waits for the kubelet of a marked node to be Ready again; later, the reconcile releases it.',
    int(90, 0, 600),
  ),
  MANAGED_TAG: spec(
    undefined,
    "Act only on instances that carry this EC2 tag key (NTH's managedTag, e.g. aws-node-termination-handler/managed); empty: every instance of a managed cluster.",
    optionalTagKey,
  ),
  MAX_VOLUNTARY_DISRUPTIONS: spec(
    '10%',
    "Nodes of a cluster that voluntary drains (rebalance, Health changes) may hold at once: a count or a percentage of the cluster's nodes; the rest wait. Spot and other hard deadlines never wait but count. none: no bound.",
    budgetSpec,
  ),
  FAN_OUT_EVENTS: spec(
    'true',
    'Hand each instance of a Health event that names several to an invocation of its own (an asynchronous self-invoke).',
    bool(true),
  ),
  MAX_INSTANCES_PER_EVENT: spec(
    '50',
    'Instances one event may act on (a Health event can name many); the rest are logged and left alone.',
    int(50, 1, 10_000),
  ),
  ENABLE_ASG_LAUNCH_HOOKS: spec(
    'true',
    "Complete an Auto Scaling launch lifecycle action (CONTINUE) once the instance's node has joined a managed cluster and is Ready.",
    bool(true),
  ),
  LAUNCH_READY_WAIT_SECONDS: spec(
    '600',
    'How long after the launch event the node may take to be Ready (heartbeats meanwhile, retries included); then LAUNCH_HOOK_ON_TIMEOUT.',
    int(600, 1, 3_600),
  ),
  LAUNCH_HOOK_ON_TIMEOUT: spec(
    'leave',
    'A launch hook whose node is not Ready in time: leave (the hook times out with its own default result) or abandon (ABANDON: Auto Scaling terminates the instance).',
    launchTimeoutAction,
  ),
};

type VariableName = keyof typeof variables;
type ValueOf<K extends VariableName> = (typeof variables)[K] extends Spec<infer T> ? T : never;

/** Every environment variable the function reads, with its default and meaning. */
export const configVariables: readonly ConfigVariable[] = Object.entries(variables).map(([name, v]) => ({
  name,
  default: v.default,
  required: name === 'MANAGED_CLUSTERS',
  description: v.description,
}));

/**
 * Reads and validates the configuration; throws ConfigError naming the first bad variable.
 *
 * @example
 * const config = loadConfig({ MANAGED_CLUSTERS: 'prod-a,prod-b', DRY_RUN: 'yes' });
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const read = <K extends VariableName>(name: K): ValueOf<K> => {
    const value = env[name]?.trim();
    const result = (variables[name].schema as z.ZodMiniType<ValueOf<K>, string | undefined>).safeParse(
      value === '' ? undefined : value,
    );
    if (!result.success) throw new ConfigError(name, result.error.issues[0]?.message ?? 'invalid value');
    return result.data;
  };
  // Read even when events are off: a bad bus fails now, not when they are switched on.
  const outcomeEventBus = read('OUTCOME_EVENT_BUS');
  return {
    managedClusters: read('MANAGED_CLUSTERS'),
    policy: {
      spotInterruption: read('ENABLE_SPOT_INTERRUPTION_DRAINING'),
      rebalanceMonitoring: read('ENABLE_REBALANCE_MONITORING'),
      rebalanceDraining: read('ENABLE_REBALANCE_DRAINING'),
      stateChange: read('ENABLE_STATE_CHANGE_DRAINING'),
      scheduledChange: read('ENABLE_SCHEDULED_EVENT_DRAINING'),
      asgLifecycle: read('ENABLE_ASG_LIFECYCLE_DRAINING'),
      capacityReservation: read('ENABLE_CAPACITY_RESERVATION_DRAINING'),
      cordonOnly: read('CORDON_ONLY'),
    },
    drain: {
      dryRun: read('DRY_RUN'),
      deleteEmptyDirData: read('DELETE_EMPTYDIR_DATA'),
      evictUnmanagedPods: read('EVICT_UNMANAGED_PODS'),
      criticalPriorityThreshold: read('CRITICAL_PRIORITY_THRESHOLD'),
      evictDaemonSetPods: read('EVICT_DAEMONSET_PODS'),
      podGracePeriodSeconds: read('POD_TERMINATION_GRACE_PERIOD'),
      safetyMarginMs: read('DEADLINE_SAFETY_MARGIN_SECONDS') * 1000,
      forceAtDeadline: read('FORCE_AT_DEADLINE'),
      taintNode: read('TAINT_NODE'),
      taintEffect: read('TAINT_EFFECT'),
      taintKeys: read('NTH_TAINT_KEYS') ? TaintKeys.AwsNodeTerminationHandler : TaintKeys.EksSpotDrainer,
      excludeFromLoadBalancers: read('EXCLUDE_FROM_LOAD_BALANCERS'),
      noDeadlineBudgetMs: read('DRAIN_TIMEOUT_SECONDS') * 1000,
      hookCompletionDelayMs: read('HOOK_COMPLETION_DELAY_SECONDS') * 1000,
    },
    webhookSecret: read('WEBHOOK_URL_SECRET_NAME'),
    outcomeEventBus: read('OUTCOME_EVENTS') ? outcomeEventBus : undefined,
    instanceCacheTtlMs: read('INSTANCE_CACHE_SECONDS') * 1000,
    lifecycleActionHeartbeatMs: read('LIFECYCLE_HEARTBEAT_SECONDS') * 1000,
    lifecycleHeartbeatUntilMs: read('HEARTBEAT_UNTIL_SECONDS') * 1000,
    interruption: {
      rebalanceCordonTtlMs: read('REBALANCE_CORDON_TTL_MINUTES') * 60_000,
      scheduledDrainLeadMs: read('SCHEDULED_DRAIN_LEAD_MINUTES') * 60_000,
      scheduledCordonAtNotice: read('SCHEDULED_CORDON_AT_NOTICE'),
      outOfServiceTaint: read('OUT_OF_SERVICE_TAINT'),
      releaseOnRunning: read('RELEASE_ON_RUNNING'),
      runningWaitMs: read('RUNNING_WAIT_SECONDS') * 1000,
      disruptionBudget: read('MAX_VOLUNTARY_DISRUPTIONS'),
    },
    managedTag: read('MANAGED_TAG'),
    maxInstancesPerEvent: read('MAX_INSTANCES_PER_EVENT'),
    fanOutEvents: read('FAN_OUT_EVENTS'),
    launchHooks: {
      enabled: read('ENABLE_ASG_LAUNCH_HOOKS'),
      readyWaitMs: read('LAUNCH_READY_WAIT_SECONDS') * 1000,
      onTimeout: read('LAUNCH_HOOK_ON_TIMEOUT'),
    },
  };
}
