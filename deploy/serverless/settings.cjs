'use strict';
/**
 * serverless.yml values computed from params where YAML alone cannot: which EventBridge rules are
 * enabled, the function timeout, the optional VPC attachment, reserved and provisioned concurrency, NODE_OPTIONS,
 * and the alarm actions (the lifecycle action permissions are deploy/serverless/asg-lifecycle.cjs).
 *
 * Used as `${file(./deploy/serverless/settings.cjs):<key>}`.
 */

const { readBool, readInt, readList, readString } = require('./params.cjs');

// A Spot interruption warning gives two minutes; the function must outlive that window.
const SPOT_NOTICE_SECONDS = 120;
// Time for what surrounds a drain: EC2 lookup, EKS describe, token, report, lifecycle completion.
const HEADROOM_SECONDS = 60;
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
// Auto Scaling keeps a lifecycle action at most 48 h, however it is heartbeaten.
const MAX_DRAIN_SECONDS = 172_800;
// The function's key in serverless.yml.
const FUNCTION_NAME = 'interruption';

/** A rule is enabled when the function would act on its kind; a disabled rule costs no invocations. */
async function rulesEnabled(resolveVariable) {
  const flag = (name) => readBool(resolveVariable, name);
  return {
    spotInterruption: await flag('enableSpotInterruptionDraining'),
    // Rebalance recommendations cordon (monitoring) or drain; either needs the events.
    rebalanceRecommendation:
      (await flag('enableRebalanceMonitoring')) || (await flag('enableRebalanceDraining')),
    stateChange: await flag('enableStateChangeDraining'),
    // Releases what the others marked: off only with releaseOnRunning (the reconcile still releases).
    instanceRunning: await flag('releaseOnRunning'),
    scheduledChange: await flag('enableScheduledEventDraining'),
    // Not tied to ENABLE_ASG_LIFECYCLE_DRAINING: with draining off the function still completes the
    // lifecycle action, so scale-in never waits out the hook's timeout. Groups without a terminate
    // hook emit no events, so the rule costs nothing where it is not needed.
    asgTerminate: await flag('asgLifecycleRule'),
    capacityReservationInterruption: await flag('enableCapacityReservationDraining'),
    // Launch hooks are completed once the new node is Ready; off, they are left to their timeout.
    asgLaunch: await flag('enableAsgLaunchHooks'),
  };
}

/**
 * The longest drain plus headroom, up to Lambda's 900 s. Spot drains stop themselves at the 120 s
 * deadline; drains without a deadline (rebalance, state change, ASG hook, Health) may run
 * DRAIN_TIMEOUT_SECONDS (up to 48 h, as aws-node-termination-handler's heartbeatUntil): one that
 * outlasts the invocation is handed on to a fresh one before the timeout (src/app/hand-off.ts).
 */
async function functionTimeout(resolveVariable) {
  const drainTimeout = await readInt(resolveVariable, 'drainTimeoutSeconds', 1, MAX_DRAIN_SECONDS);
  return Math.min(Math.max(drainTimeout, SPOT_NOTICE_SECONDS) + HEADROOM_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS);
}

/**
 * A `functions` array item (osls merges the items) that puts the function in a VPC, for private
 * cluster endpoints; empty unless both subnetIds and securityGroupIds are set. The `vpc` key must be
 * absent, not null, without a VPC: osls grants the VPC managed policy whenever the key exists.
 */
async function functionVpc(resolveVariable) {
  const subnetIds = await readList(resolveVariable, 'subnetIds');
  const securityGroupIds = await readList(resolveVariable, 'securityGroupIds');
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return {};
  if (subnetIds.length === 0 || securityGroupIds.length === 0) {
    throw new Error('params "subnetIds" and "securityGroupIds" must be set together');
  }
  return { [FUNCTION_NAME]: { vpc: { subnetIds, securityGroupIds } } };
}

/**
 * A `functions` array item that reserves concurrency for the function; empty when the param is empty
 * or 0. Lambda reads a reservation of 0 as "never run", so 0 here means no reservation instead. A
 * reservation both guarantees and caps: a wave of more interruptions than it holds waits for Lambda's
 * retries of throttled asynchronous invocations, so size it to the largest wave expected.
 */
async function functionReservedConcurrency(resolveVariable) {
  const raw = await readString(resolveVariable, 'reservedConcurrency');
  const reserved = Number(raw);
  if (raw === '' || reserved === 0) return {};
  if (!Number.isSafeInteger(reserved) || reserved < 0) {
    throw new Error(`param "reservedConcurrency" must be empty or a whole number >= 0, got "${raw}"`);
  }
  return { [FUNCTION_NAME]: { reservedConcurrency: reserved } };
}

/**
 * A `functions` array item that keeps `provisionedConcurrency` instances of the function initialised
 * (no cold start for the notices they take); empty when the param is 0. osls then publishes a version
 * and an alias `provisioned` holding the setting, and points the rules, the invoke config (retries,
 * dead-letter destination) and the fan-out's self-invocations (which invoke the alias the event came
 * through) at the alias. Billed whether used or not: docs/deploy.md has the price. Provisioned
 * instances count against a reservation, so they must fit in it.
 */
async function functionProvisionedConcurrency(resolveVariable) {
  const provisioned = await readInt(resolveVariable, 'provisionedConcurrency', 0, 10_000);
  if (provisioned === 0) return {};
  const reserved = Number(await readString(resolveVariable, 'reservedConcurrency'));
  if (reserved > 0 && provisioned > reserved) {
    throw new Error(
      `param "provisionedConcurrency" (${provisioned}) must not exceed "reservedConcurrency" (${reserved})`,
    );
  }
  return { [FUNCTION_NAME]: { provisionedConcurrency: provisioned } };
}

/**
 * The function's NODE_OPTIONS. With sourceMaps=true, --enable-source-maps: Node reads every loaded
 * chunk's source map at load, so the stack of an error that escapes the handler names src/ files and
 * lines. That costs each cold start about 10 ms and 2.5 MB (docs/benchmarks.md, scenario 5b), for traces
 * our own logs never print (they log an error's name and message), so it is off by default. Node
 * cannot switch it on at the first error: only modules loaded afterwards get their maps. The maps
 * ship in the package either way: the param (or the variable, edited on the function) is enough.
 */
async function nodeOptions(resolveVariable) {
  return (await readBool(resolveVariable, 'sourceMaps')) ? '--enable-source-maps' : '';
}

/** Where alarms notify: the optional SNS topic, else nowhere (the alarm state is still visible). */
async function alarmActions(resolveVariable) {
  const topicArn = await readString(resolveVariable, 'alarmTopicArn');
  return topicArn === '' ? [] : [topicArn];
}

/**
 * The reconcile schedule: every reconcileIntervalMinutes (1 to 1440); 0 disables its rule (a rate
 * expression still has to be valid, so a disabled rule keeps a placeholder of one hour).
 */
async function reconcileSchedule(resolveVariable) {
  const minutes = await readInt(resolveVariable, 'reconcileIntervalMinutes', 0, 1440);
  if (minutes === 0) return 'rate(1 hour)';
  return minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`;
}

async function reconcileEnabled(resolveVariable) {
  return (await readInt(resolveVariable, 'reconcileIntervalMinutes', 0, 1440)) > 0;
}

// Each key is resolved on demand: osls calls the function a `${file(...):key}` address names.
module.exports = {
  rulesEnabled: ({ resolveVariable }) => rulesEnabled(resolveVariable),
  functionTimeout: ({ resolveVariable }) => functionTimeout(resolveVariable),
  functionVpc: ({ resolveVariable }) => functionVpc(resolveVariable),
  functionReservedConcurrency: ({ resolveVariable }) => functionReservedConcurrency(resolveVariable),
  functionProvisionedConcurrency: ({ resolveVariable }) => functionProvisionedConcurrency(resolveVariable),
  alarmActions: ({ resolveVariable }) => alarmActions(resolveVariable),
  nodeOptions: ({ resolveVariable }) => nodeOptions(resolveVariable),
  reconcileSchedule: ({ resolveVariable }) => reconcileSchedule(resolveVariable),
  reconcileEnabled: ({ resolveVariable }) => reconcileEnabled(resolveVariable),
};
