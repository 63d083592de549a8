import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import type { InstanceCache } from '../aws/instance-lookup.js';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import type { ClusterAccess } from '../kube/cluster-access.js';
import type { KubeApis } from '../kube/connection.js';
import { findNodeForInstance } from '../kube/node-lookup.js';
import { retryKube } from '../kube/retry-kube.js';
import type { DrainTarget, InstanceInfo, InterruptionNotice } from '../types.js';
import { ec2Contradiction } from './verify-notice.js';

export type Resolution =
  | {
      status: 'resolved';
      target: DrainTarget;
      node: k8s.V1Node;
      apis: KubeApis;
      instance: InstanceInfo | undefined;
      via: string;
    }
  /**
   * Nothing of ours to act on; `clusterName` is set when the instance is ours but its node is gone.
   * `ec2-disagrees`: EC2 contradicts the notice (a Spot warning for an On-Demand instance): forged.
   */
  | {
      status: 'skipped';
      reason: 'instance-gone' | 'not-managed' | 'node-not-found' | 'ec2-disagrees';
      detail: string;
      clusterName?: string;
    };

/**
 * Where to look: EC2 tags pick the cluster, or one fixed cluster (a kubeconfig context).
 * `recheckDelayMs`: the pause before EC2 is asked again when its answer contradicts a notice.
 */
export type ClusterSource =
  | {
      kind: 'ec2-tags';
      instances: InstanceCache;
      managedClusters: readonly string[];
      recheckDelayMs?: number;
    }
  | { kind: 'fixed'; clusterName: string; instances?: InstanceCache; recheckDelayMs?: number };

/** EC2's reads are eventually consistent: one second, then one uncached look, before a contradiction stands. */
export const defaultRecheckDelayMs = 1_000;

/**
 * From an instance id to the node to drain: EC2 says which cluster (only the managed ones count)
 * and gives the private DNS name and zone; the cluster's API says which node has that providerID.
 */
export async function resolveTarget(
  notice: InterruptionNotice,
  source: ClusterSource,
  access: ClusterAccess,
  call: AwsCallOptions,
): Promise<Resolution> {
  let instance = source.instances ? await source.instances.get(notice.instanceId, call) : undefined;
  if (instance && source.instances) {
    const checked = await checkWithEc2(notice, instance, source.instances, source.recheckDelayMs, call);
    if (typeof checked === 'string') return { status: 'skipped', reason: 'ec2-disagrees', detail: checked };
    instance = checked;
  }
  if (source.kind === 'ec2-tags' && !instance) {
    return {
      status: 'skipped',
      reason: 'instance-gone',
      detail: 'EC2 no longer knows the instance (or it is terminated)',
    };
  }
  let clusterName: string;
  if (source.kind === 'fixed') {
    clusterName = source.clusterName;
  } else {
    const managed = resolveManagedCluster(instance!, source.managedClusters);
    if (!managed) {
      const tagged = instance!.clusterNames.length > 0 ? instance!.clusterNames.join(', ') : 'no cluster tag';
      return { status: 'skipped', reason: 'not-managed', detail: `instance belongs to ${tagged}` };
    }
    clusterName = managed;
  }
  const apis = await access.connect(clusterName, call);
  // Read-only, so safe to repeat: a 429 or 503 must not send the event to Lambda's retry minutes later.
  const lookup = await retryKube(
    () =>
      findNodeForInstance(apis.core, {
        instanceId: notice.instanceId,
        privateDnsName: instance?.privateDnsName,
        availabilityZone: instance?.availabilityZone,
      }),
    // Retried until the notice's own deadline at most: past it there is nothing left to drain.
    {
      deadline: Math.min(call.deadline, notice.deadline?.getTime() ?? Number.POSITIVE_INFINITY),
      ...(call.signal ? { signal: call.signal } : {}),
    },
  );
  if (!lookup.node?.metadata?.name) {
    return {
      status: 'skipped',
      reason: 'node-not-found',
      detail: `no node after ${lookup.via}`,
      clusterName,
    };
  }
  return {
    status: 'resolved',
    target: {
      clusterName,
      nodeName: lookup.node.metadata.name,
      instanceId: notice.instanceId,
      providerId: lookup.node.spec?.providerID ?? '',
    },
    node: lookup.node,
    apis,
    instance,
    via: lookup.via,
  };
}

/**
 * The instance as EC2 describes it once it agrees with the notice, or the contradiction when it still
 * does not after one uncached look (a stale cache entry or EC2's eventual consistency must not drop a
 * real warning; a contradiction that survives the second look is not a matter of timing).
 */
async function checkWithEc2(
  notice: InterruptionNotice,
  instance: InstanceInfo,
  instances: InstanceCache,
  recheckDelayMs: number | undefined,
  call: AwsCallOptions,
): Promise<InstanceInfo | undefined | string> {
  if (ec2Contradiction(notice, instance) === undefined) return instance;
  await sleep(recheckDelayMs ?? defaultRecheckDelayMs, undefined, call.signal ? { signal: call.signal } : {});
  const fresh = await instances.refresh(notice.instanceId, call);
  if (!fresh) return undefined;
  return ec2Contradiction(notice, fresh) ?? fresh;
}
