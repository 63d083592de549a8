/**
 * Each kind of notice believed only as far as AWS confirms it, before anything is touched: a notice
 * AWS contradicts is refused (no cordon, no record, no lifecycle action completed), so a
 * `lambda:InvokeFunction` with a forged event cannot drain a node, nor end someone's Auto Scaling hook.
 *
 * | kind                              | asked of AWS                                                            |
 * | --------------------------------- | ----------------------------------------------------------------------- |
 * | spot-interruption, rebalance      | EC2 DescribeInstances: the instance is Spot                             |
 * | capacity-reservation-interruption | EC2 DescribeInstances: the instance runs in a Capacity Reservation      |
 * | state-change                      | EC2 DescribeInstances: not started again since the event                |
 * | asg-terminate                     | Auto Scaling: in the event's group, terminating (`Terminating:Wait` ...) |
 * | scheduled-change (not closed)     | EC2 DescribeInstanceStatus: a matching scheduled event                  |
 *
 * A Health `closed` needs no check: it only takes back what the same Health event recorded.
 * EC2's and Auto Scaling's reads are eventually consistent: an answer that may only be late gets one
 * more look, uncached, after `recheckDelayMs`; a contradiction (another group, a state that is not
 * terminating, a Dedicated Host event for an instance on none) does not.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { terminateHookStanding } from '../aws/autoscaling-instances.js';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import { scheduledChangeStanding } from '../aws/scheduled-events.js';
import { type InstanceInfo, type InterruptionNotice, NoticeKind } from '../types.js';
import type { ClusterSource } from './resolve-target.js';
import { ec2Contradiction, type Refusal, Rejection } from './verify-notice.js';

/** EC2's reads are eventually consistent: one second, then one uncached look, before a refusal stands. */
export const defaultRecheckDelayMs = 1_000;

/**
 * AWS's answer to a notice: confirmed (or AWS cannot say: no EC2 to ask, EC2 no longer knows the
 * instance), with the instance as EC2 last described it when it was asked; or the refusal.
 */
export type Confirmation =
  | { ok: true; seen?: { instance: InstanceInfo | undefined } }
  | ({ ok: false } & Refusal);

/** One look at AWS: agreed, or refused (`final`: no later look can change it). */
type Look = { ok: true; instance: InstanceInfo | undefined } | Refused;
type Refused = { ok: false; final: boolean } & Refusal;

/** Whether AWS confirms the notice; asks twice at most, the second time uncached. */
export async function confirmNotice(
  notice: InterruptionNotice,
  source: ClusterSource,
  call: AwsCallOptions,
): Promise<Confirmation> {
  if (!source.instances) return { ok: true };
  if (notice.kind === NoticeKind.ScheduledChange && notice.health?.status === 'closed') return { ok: true };
  const first = await look(notice, source, false, call);
  if (first.ok) return { ok: true, seen: { instance: first.instance } };
  if (first.final) return { ok: false, reason: first.reason, detail: first.detail };
  await sleep(
    source.recheckDelayMs ?? defaultRecheckDelayMs,
    undefined,
    call.signal ? { signal: call.signal } : {},
  );
  const second = await look(notice, source, true, call);
  if (second.ok) return { ok: true, seen: { instance: second.instance } };
  return { ok: false, reason: second.reason, detail: second.detail };
}

async function look(
  notice: InterruptionNotice,
  source: ClusterSource,
  fresh: boolean,
  call: AwsCallOptions,
): Promise<Look> {
  const instances = source.instances!;
  const instance = fresh
    ? await instances.refresh(notice.instanceId, call)
    : await instances.get(notice.instanceId, call);
  // Gone, or of no cluster managed here: nothing of it to drain, and the resolution says so.
  if (!instance || (source.kind === 'ec2-tags' && !resolveManagedCluster(instance, source.managedClusters))) {
    return { ok: true, instance };
  }
  const contradiction = ec2Contradiction(notice, instance);
  if (contradiction) return { ok: false, final: false, ...contradiction };
  const refusal =
    notice.kind === NoticeKind.AsgTerminate
      ? await lookAtAutoScaling(notice, source, call)
      : notice.kind === NoticeKind.ScheduledChange
        ? await lookAtSchedule(notice, instance, source, call)
        : undefined;
  return refusal ?? { ok: true, instance };
}

async function lookAtAutoScaling(
  notice: InterruptionNotice,
  source: ClusterSource,
  call: AwsCallOptions,
): Promise<Refused | undefined> {
  const witness = source.witnesses?.autoScalingInstances;
  if (!witness || !notice.lifecycleAction) return undefined;
  const seen = (await witness([notice.instanceId], call)).get(notice.instanceId);
  const verdict = terminateHookStanding(notice.lifecycleAction.autoScalingGroupName, seen);
  if (verdict.standing === 'confirmed') return undefined;
  return {
    ok: false,
    final: verdict.standing === 'contradicted',
    reason: Rejection.AutoScalingDisagrees,
    detail: `${verdict.why}; a terminate hook for ${notice.instanceId} is only sent while it terminates`,
  };
}

async function lookAtSchedule(
  notice: InterruptionNotice,
  instance: InstanceInfo,
  source: ClusterSource,
  call: AwsCallOptions,
): Promise<Refused | undefined> {
  const witness = source.witnesses?.scheduledEvents;
  if (!witness || !notice.deadline) return undefined;
  const claim = { instanceId: notice.instanceId, eventTypeCode: notice.detail, start: notice.deadline };
  const unlisted = scheduledChangeStanding(claim, []);
  if (unlisted.standing === 'unlisted-type') {
    if (instance.tenancy === 'host') return undefined;
    return {
      ok: false,
      final: true,
      reason: Rejection.NoScheduledEvent,
      detail: `${notice.detail} is ${unlisted.detail}; EC2 places ${notice.instanceId} on ${instance.tenancy ?? 'default'} tenancy`,
    };
  }
  const events = (await witness([notice.instanceId], call)).get(notice.instanceId) ?? [];
  const standing = scheduledChangeStanding(claim, events);
  if (standing.standing !== 'unconfirmed') return undefined;
  return { ok: false, final: false, reason: Rejection.NoScheduledEvent, detail: standing.detail };
}
