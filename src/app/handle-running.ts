/**
 * An instance runs again (EC2's `running` state change). If this project marked its node (a Spot
 * stop, an owner's stop, a hibernation), the node is moved on as the reconcile would move that one
 * node, as soon as its kubelet is Ready again: capacity comes back within seconds of the kubelet,
 * not at the next reconcile. The event itself is trusted for nothing: EC2 is asked (uncached) and
 * the transition decides from the node and EC2 as they are. What came of the node is an outcome
 * event, as the reconcile's would be (`by: running`). An unmarked node costs one GET of its
 * cluster's API server; an instance of a cluster this function does not manage costs none.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import { moveOn } from '../interruption/carry-out.js';
import type { NodeOutcome } from '../interruption/inputs.js';
import { readySinceLaunch } from '../interruption/reasons.js';
import { isMarked } from '../interruption/record.js';
import { type InstanceFacts, nodeFacts } from '../interruption/world.js';
import { httpStatusOf } from '../kube/api-errors.js';
import { belongsTo } from '../kube/node-lookup.js';
import { retryKube } from '../kube/retry-kube.js';
import type { InstanceInfo } from '../types.js';
import type { AppDeps, Invocation } from './app-types.js';
import { interruptionContext } from './interruption-context.js';
import { heldByOf, movedNodeEvent, putOutcomeEvents } from './outcome-events.js';

/** How often a marked node is read again while its kubelet is not back yet. */
export const kubeletPollMs = 2_000;

export interface RunningReport {
  instanceId: string;
  /**
   * `moved-on`: the node went through the door (released, or what else the reconcile would do);
   * `waiting`: its kubelet was not Ready again in time, so the reconcile moves it on later.
   * The others: nothing of ours to act on, and no request to a cluster beyond the one lookup.
   */
  status:
    | 'off'
    | 'no-ec2'
    | 'instance-gone'
    | 'not-running'
    | 'not-managed'
    | 'node-not-found'
    | 'not-marked'
    | 'moved-on'
    | 'waiting';
  why: string;
  cluster?: string;
  node?: string;
  /** What the door did to the node (moved-on, waiting). */
  outcome?: NodeOutcome;
}

/** Moves the marked node of an instance that runs again on; see the module's comment. */
export async function handleRunning(
  event: { eventId: string; instanceId: string },
  deps: AppDeps,
  invocation: Invocation,
): Promise<RunningReport> {
  const { instanceId } = event;
  const log = deps.logger.createChild();
  log.appendKeys({ eventId: event.eventId, instanceId, kind: 'instance-running' });
  const report = await nodeBack(instanceId, deps, invocation);
  const fields = { status: report.status, why: report.why, cluster: report.cluster, node: report.node };
  const marked = report.status === 'moved-on' || report.status === 'waiting';
  if (report.status !== 'off' && report.status !== 'no-ec2') {
    deps.metrics.instanceRunning({ marked, released: report.outcome === 'released' });
  }
  if (marked) log.info('marked instance running again', { ...fields, outcome: report.outcome });
  else log.debug('instance running: nothing of ours to give back', fields);
  return report;
}

async function nodeBack(instanceId: string, deps: AppDeps, invocation: Invocation): Promise<RunningReport> {
  const done = (status: RunningReport['status'], why: string, more: Partial<RunningReport> = {}) => ({
    instanceId,
    status,
    why,
    ...more,
  });
  if (!deps.config.interruption.releaseOnRunning) return done('off', 'RELEASE_ON_RUNNING is false');
  const { source } = deps;
  if (!source.instances)
    return done('no-ec2', 'EC2 cannot be asked here; a reconcile with EC2 moves the node on');
  const call = { deadline: invocation.deadline, ...(invocation.signal ? { signal: invocation.signal } : {}) };
  // Uncached: the container may remember the instance from its stop a minute ago.
  const info = await source.instances.refresh(instanceId, call);
  if (!info) return done('instance-gone', 'EC2 no longer knows the instance');
  if (info.state !== 'running') return done('not-running', `EC2 says it is ${info.state} now`);
  const cluster =
    source.kind === 'fixed'
      ? source.clusterName
      : resolveManagedCluster(info, source.managedClusters, source.managedTag);
  if (!cluster) return done('not-managed', 'the instance is not in a managed cluster');
  const apis = await deps.access.connect(cluster, call);
  // One GET by the name EKS, Karpenter and most AMIs give the node; a node named otherwise is the
  // reconcile's to find (it lists marked nodes by their label).
  const name = info.privateDnsName || instanceId;
  const read = () => retryKube(() => readNode(apis.core, name), call);
  let node = await read();
  if (!node || !belongsTo(node, instanceId)) {
    return done('node-not-found', `no node ${name} of this instance`, { cluster });
  }
  if (!isMarked(node))
    return done('not-marked', 'this project did not mark the node', { cluster, node: name });

  const now = deps.now ?? Date.now;
  const instance = instanceFactsOf(info);
  const waitUntil = Math.min(now() + deps.config.interruption.runningWaitMs, invocation.deadline);
  while (!kubeletBack(node, instance, now()) && now() + kubeletPollMs <= waitUntil) {
    await sleep(kubeletPollMs, undefined, invocation.signal ? { signal: invocation.signal } : {});
    node = await read();
    if (!node) return done('node-not-found', `node ${name} was deleted`, { cluster });
  }
  const back = kubeletBack(node, instance, now());
  const ctx = interruptionContext({
    config: deps.config,
    apis,
    instanceStates: deps.instanceStates,
    hooks: undefined,
    invocation,
    now,
    ...(deps.timing ? { timing: deps.timing } : {}),
  });
  const heldBy = heldByOf(node);
  // A failure surfaces (Lambda retries the event, then the dead-letter queue keeps it), as a notice's does.
  const moved = await moveOn(name, { type: 'look', holder: invocation.id }, ctx, { node, instance });
  // As the reconcile's: a node released here is an outcome the reconcile will no longer see.
  const outcome = movedNodeEvent({ cluster, node: name, instanceId, heldBy, report: moved }, 'running', {
    invocationId: invocation.id,
    now,
  });
  await putOutcomeEvents(deps, outcome ? [outcome] : []);
  const why = back ? moved.why : `the kubelet is not Ready again yet; ${moved.why}`;
  return done(back ? 'moved-on' : 'waiting', why, { cluster, node: name, outcome: moved.node });
}

/** The kubelet of the machine as started again is Ready (one that was Ready before the stop is not). */
function kubeletBack(node: k8s.V1Node, instance: InstanceFacts, now: number): boolean {
  return readySinceLaunch({ node: nodeFacts(node, now - Date.now()), instance, fresh: true });
}

function instanceFactsOf(info: InstanceInfo): InstanceFacts {
  return {
    state: info.state ?? 'unknown',
    ...(info.launchTime ? { launchTime: info.launchTime.getTime() } : {}),
    ...(info.stateReason ? { stateReason: info.stateReason } : {}),
  };
}

async function readNode(core: k8s.CoreV1Api, name: string): Promise<k8s.V1Node | undefined> {
  try {
    return await core.readNode({ name });
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}
