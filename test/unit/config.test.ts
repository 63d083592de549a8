import { describe, expect, it } from 'vitest';
import {
  configVariables,
  defaultInterruptionConfig,
  defaultLaunchHookConfig,
  loadConfig,
} from '../../src/config.js';
import { defaultDrainOptions } from '../../src/drain/options.js';
import { ConfigError } from '../../src/errors.js';
import { defaultPolicyConfig } from '../../src/policy.js';

const base = { MANAGED_CLUSTERS: 'prod-a' };

/** The ConfigError loadConfig throws for `env`. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('applies every default when only MANAGED_CLUSTERS is set', () => {
    const config = loadConfig(base);

    expect(config).toEqual({
      managedClusters: ['prod-a'],
      policy: defaultPolicyConfig,
      drain: defaultDrainOptions,
      webhookSecret: undefined,
      outcomeEventBus: 'default',
      instanceCacheTtlMs: 30_000,
      lifecycleActionHeartbeatMs: 60_000,
      lifecycleHeartbeatUntilMs: 172_800_000,
      interruption: defaultInterruptionConfig,
      maxInstancesPerEvent: 50,
      fanOutEvents: true,
      launchHooks: defaultLaunchHookConfig,
    });
  });

  it('maps every variable onto the config', () => {
    const config = loadConfig({
      MANAGED_CLUSTERS: ' prod-a , prod_b,prod-a ',
      ENABLE_SPOT_INTERRUPTION_DRAINING: 'false',
      ENABLE_REBALANCE_MONITORING: 'no',
      ENABLE_REBALANCE_DRAINING: 'YES',
      ENABLE_STATE_CHANGE_DRAINING: '0',
      ENABLE_SCHEDULED_EVENT_DRAINING: 'False',
      ENABLE_ASG_LIFECYCLE_DRAINING: 'false',
      ENABLE_CAPACITY_RESERVATION_DRAINING: 'false',
      CORDON_ONLY: '1',
      DRY_RUN: 'true',
      DELETE_EMPTYDIR_DATA: 'false',
      EVICT_UNMANAGED_PODS: 'false',
      CRITICAL_PRIORITY_THRESHOLD: '1000',
      EVICT_DAEMONSET_PODS: 'true',
      POD_TERMINATION_GRACE_PERIOD: '30',
      DEADLINE_SAFETY_MARGIN_SECONDS: '10',
      FORCE_AT_DEADLINE: 'true',
      TAINT_NODE: 'false',
      TAINT_EFFECT: 'PreferNoSchedule',
      EXCLUDE_FROM_LOAD_BALANCERS: 'false',
      DRAIN_TIMEOUT_SECONDS: '300',
      HOOK_COMPLETION_DELAY_SECONDS: '20',
      WEBHOOK_URL_SECRET_NAME: 'ssm:/eks-spot-drainer/webhook',
      OUTCOME_EVENTS: 'true',
      OUTCOME_EVENT_BUS: 'drains',
      INSTANCE_CACHE_SECONDS: '0',
      LIFECYCLE_HEARTBEAT_SECONDS: '0',
      HEARTBEAT_UNTIL_SECONDS: '3600',
      REBALANCE_CORDON_TTL_MINUTES: '45',
      SCHEDULED_DRAIN_LEAD_MINUTES: '90',
      SCHEDULED_CORDON_AT_NOTICE: 'true',
      OUT_OF_SERVICE_TAINT: 'false',
      RELEASE_ON_RUNNING: 'false',
      RUNNING_WAIT_SECONDS: '30',
      MAX_VOLUNTARY_DISRUPTIONS: '3',
      MAX_INSTANCES_PER_EVENT: '5',
      MANAGED_TAG: 'aws-node-termination-handler/managed',
      FAN_OUT_EVENTS: 'false',
      ENABLE_ASG_LAUNCH_HOOKS: 'false',
      LAUNCH_READY_WAIT_SECONDS: '120',
      LAUNCH_HOOK_ON_TIMEOUT: 'Abandon',
    });

    expect(config).toEqual({
      managedClusters: ['prod-a', 'prod_b'],
      policy: {
        spotInterruption: false,
        rebalanceMonitoring: false,
        rebalanceDraining: true,
        stateChange: false,
        scheduledChange: false,
        asgLifecycle: false,
        capacityReservation: false,
        cordonOnly: true,
      },
      drain: {
        dryRun: true,
        deleteEmptyDirData: false,
        evictUnmanagedPods: false,
        criticalPriorityThreshold: 1000,
        evictDaemonSetPods: true,
        podGracePeriodSeconds: 30,
        safetyMarginMs: 10_000,
        forceAtDeadline: true,
        taintNode: false,
        taintEffect: 'PreferNoSchedule',
        excludeFromLoadBalancers: false,
        noDeadlineBudgetMs: 300_000,
        hookCompletionDelayMs: 20_000,
      },
      webhookSecret: { store: 'ssm', name: '/eks-spot-drainer/webhook' },
      outcomeEventBus: 'drains',
      instanceCacheTtlMs: 0,
      lifecycleActionHeartbeatMs: 0,
      lifecycleHeartbeatUntilMs: 3_600_000,
      interruption: {
        rebalanceCordonTtlMs: 45 * 60_000,
        scheduledDrainLeadMs: 90 * 60_000,
        scheduledCordonAtNotice: true,
        outOfServiceTaint: false,
        releaseOnRunning: false,
        runningWaitMs: 30_000,
        disruptionBudget: { count: 3 },
      },
      managedTag: 'aws-node-termination-handler/managed',
      maxInstancesPerEvent: 5,
      fanOutEvents: false,
      launchHooks: { enabled: false, readyWaitMs: 120_000, onTimeout: 'abandon' },
    });
  });

  it('treats empty and blank values as unset', () => {
    const config = loadConfig({
      ...base,
      DRY_RUN: '',
      TAINT_NODE: '  ',
      WEBHOOK_URL_SECRET_NAME: '',
      DRAIN_TIMEOUT_SECONDS: '',
    });

    expect(config.drain.dryRun).toBe(false);
    expect(config.drain.taintNode).toBe(true);
    expect(config.webhookSecret).toBeUndefined();
    expect(config.drain.noDeadlineBudgetMs).toBe(600_000);
  });

  it.each([
    ['default', 'default'],
    ['ops.drains_prod-1', 'ops.drains_prod-1'],
    [
      'arn:aws:events:eu-west-1:210987654321:event-bus/central',
      'arn:aws:events:eu-west-1:210987654321:event-bus/central',
    ],
  ])('puts outcome events on the bus %s', (value, expected) => {
    expect(loadConfig({ ...base, OUTCOME_EVENT_BUS: value }).outcomeEventBus).toBe(expected);
  });

  it('puts no outcome events when OUTCOME_EVENTS is off, and still checks the bus', () => {
    const off = loadConfig({ ...base, OUTCOME_EVENTS: 'false', OUTCOME_EVENT_BUS: 'drains' });
    const error = configError({ ...base, OUTCOME_EVENTS: 'false', OUTCOME_EVENT_BUS: 'no such/bus' });

    expect(off.outcomeEventBus).toBeUndefined();
    expect(error.variable).toBe('OUTCOME_EVENT_BUS');
  });

  it('keeps the pod grace period for -1 and overrides it with 1 and up', () => {
    expect(
      loadConfig({ ...base, POD_TERMINATION_GRACE_PERIOD: '-1' }).drain.podGracePeriodSeconds,
    ).toBeUndefined();
    expect(loadConfig({ ...base, POD_TERMINATION_GRACE_PERIOD: '1' }).drain.podGracePeriodSeconds).toBe(1);
  });

  it('refuses a pod grace period of 0: every eviction would be a force delete', () => {
    const error = configError({ ...base, POD_TERMINATION_GRACE_PERIOD: '0' });

    expect(error.variable).toBe('POD_TERMINATION_GRACE_PERIOD');
    expect(error.message).toMatch(/force delete/);
  });

  it.each([
    ['eks-spot-drainer/webhook', { store: 'secretsmanager', name: 'eks-spot-drainer/webhook' }],
    ['prod_webhook+slack@team=1.x', { store: 'secretsmanager', name: 'prod_webhook+slack@team=1.x' }],
    ['ssm:/eks-spot-drainer/webhook', { store: 'ssm', name: '/eks-spot-drainer/webhook' }],
    ['ssm:webhook.url', { store: 'ssm', name: 'webhook.url' }],
  ])('names the webhook secret %s', (value, expected) => {
    expect(loadConfig({ ...base, WEBHOOK_URL_SECRET_NAME: value }).webhookSecret).toEqual(expected);
  });

  it.each([
    [{}, 'MANAGED_CLUSTERS', /is required/],
    [{ MANAGED_CLUSTERS: '   ' }, 'MANAGED_CLUSTERS', /is required/],
    [{ MANAGED_CLUSTERS: 'a,,b' }, 'MANAGED_CLUSTERS', /empty cluster name/],
    [{ MANAGED_CLUSTERS: 'prod-a,-bad' }, 'MANAGED_CLUSTERS', /"-bad" is not a valid EKS cluster name/],
    [{ MANAGED_CLUSTERS: 'has space' }, 'MANAGED_CLUSTERS', /not a valid EKS cluster name/],
    [{ MANAGED_CLUSTERS: 'a'.repeat(101) }, 'MANAGED_CLUSTERS', /not a valid EKS cluster name/],
    [{ ...base, DRY_RUN: 'maybe' }, 'DRY_RUN', /^expected true or false, got "maybe"$/],
    [{ ...base, CORDON_ONLY: 'on' }, 'CORDON_ONLY', /expected true or false/],
    [{ ...base, ENABLE_REBALANCE_DRAINING: 'tru' }, 'ENABLE_REBALANCE_DRAINING', /got "tru"/],
    [{ ...base, CRITICAL_PRIORITY_THRESHOLD: '2e9' }, 'CRITICAL_PRIORITY_THRESHOLD', /expected an integer/],
    [{ ...base, CRITICAL_PRIORITY_THRESHOLD: '1.5' }, 'CRITICAL_PRIORITY_THRESHOLD', /expected an integer/],
    [{ ...base, POD_TERMINATION_GRACE_PERIOD: '-2' }, 'POD_TERMINATION_GRACE_PERIOD', /from -1 to/],
    [{ ...base, DEADLINE_SAFETY_MARGIN_SECONDS: '-1' }, 'DEADLINE_SAFETY_MARGIN_SECONDS', /from 0 to 119/],
    [{ ...base, DEADLINE_SAFETY_MARGIN_SECONDS: '120' }, 'DEADLINE_SAFETY_MARGIN_SECONDS', /from 0 to 119/],
    [{ ...base, DRAIN_TIMEOUT_SECONDS: '0' }, 'DRAIN_TIMEOUT_SECONDS', /from 1 to/],
    [{ ...base, DRAIN_TIMEOUT_SECONDS: 'ten' }, 'DRAIN_TIMEOUT_SECONDS', /got "ten"/],
    [{ ...base, INSTANCE_CACHE_SECONDS: '-5' }, 'INSTANCE_CACHE_SECONDS', /expected an integer/],
    [{ ...base, LIFECYCLE_HEARTBEAT_SECONDS: '9999' }, 'LIFECYCLE_HEARTBEAT_SECONDS', /from 0 to 7200/],
    [{ ...base, MAX_INSTANCES_PER_EVENT: '0' }, 'MAX_INSTANCES_PER_EVENT', /from 1 to 10000/],
    [{ ...base, LAUNCH_HOOK_ON_TIMEOUT: 'terminate' }, 'LAUNCH_HOOK_ON_TIMEOUT', /expected abandon or leave/],
    [{ ...base, LAUNCH_READY_WAIT_SECONDS: '0' }, 'LAUNCH_READY_WAIT_SECONDS', /from 1 to 3600/],
    [{ ...base, OUTCOME_EVENTS: 'sometimes' }, 'OUTCOME_EVENTS', /expected true or false/],
    [
      { ...base, OUTCOME_EVENT_BUS: 'aws.partner/x' },
      'OUTCOME_EVENT_BUS',
      /event bus name or an event-bus ARN/,
    ],
    [
      { ...base, OUTCOME_EVENT_BUS: 'arn:aws:sns:eu-west-1:210987654321:topic' },
      'OUTCOME_EVENT_BUS',
      /event-bus ARN/,
    ],
    [
      { ...base, WEBHOOK_URL_SECRET_NAME: 'has space' },
      'WEBHOOK_URL_SECRET_NAME',
      /Secrets Manager secret name/,
    ],
    [{ ...base, WEBHOOK_URL_SECRET_NAME: 'ssm:bad name' }, 'WEBHOOK_URL_SECRET_NAME', /ssm:<parameter name>/],
    [{ ...base, WEBHOOK_URL_SECRET_NAME: 'ssm:' }, 'WEBHOOK_URL_SECRET_NAME', /ssm:<parameter name>/],
    [
      { ...base, WEBHOOK_URL_SECRET_NAME: 'https://hooks.slack.com/services/T/B/x' },
      'WEBHOOK_URL_SECRET_NAME',
      /holds a URL/,
    ],
  ])('rejects %j naming %s', (env, variable, message) => {
    const error = configError(env);

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message.slice(variable.length + 2)).toMatch(message);
  });

  it('never quotes a webhook URL given in place of a secret name', () => {
    const error = configError({
      ...base,
      WEBHOOK_URL_SECRET_NAME: 'https://hooks.slack.com/services/T000/B000/secret-token',
    });

    expect(error.message).not.toContain('secret-token');
    expect(error.message).not.toContain('hooks.slack.com');
  });

  it('reads no WEBHOOK_URL: a URL in the environment is ignored, never sent to', () => {
    const config = loadConfig({ ...base, WEBHOOK_URL: 'https://hooks.example.com/T000/B000' });

    expect(config.webhookSecret).toBeUndefined();
    expect(JSON.stringify(config)).not.toContain('hooks.example.com');
  });

  it('quotes a bad value short and printable', () => {
    const error = configError({ ...base, DRY_RUN: `x\n${'y'.repeat(500)}` });

    expect(error.message.length).toBeLessThan(100);
    expect(error.message).toMatch(/^[\x20-\x7e]+$/);
  });

  it('reads process.env when given nothing', () => {
    const saved = process.env.MANAGED_CLUSTERS;
    process.env.MANAGED_CLUSTERS = 'from-process-env';
    try {
      expect(loadConfig().managedClusters).toEqual(['from-process-env']);
    } finally {
      if (saved === undefined) delete process.env.MANAGED_CLUSTERS;
      else process.env.MANAGED_CLUSTERS = saved;
    }
  });
});

describe('configVariables', () => {
  it('documents every variable once, with a description', () => {
    const names = configVariables.map((v) => v.name);

    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(41);
    for (const variable of configVariables) expect(variable.description.length).toBeGreaterThan(10);
  });

  it('marks only MANAGED_CLUSTERS as required', () => {
    expect(configVariables.filter((v) => v.required).map((v) => v.name)).toEqual(['MANAGED_CLUSTERS']);
  });

  it('states the defaults loadConfig applies', () => {
    // Setting every variable to its documented default must give the same config as leaving it unset.
    const documented = Object.fromEntries(
      configVariables.filter((v) => v.default !== undefined).map((v) => [v.name, v.default]),
    );

    expect(loadConfig({ ...documented, ...base })).toEqual(loadConfig(base));
  });
});
