import type * as k8s from '@kubernetes/client-node';
import type { AutoScalingInstanceSource } from '../aws/autoscaling-instances.js';
import type { AwsCallOptions } from '../aws/aws-retry.js';
import type { InstanceCache } from '../aws/instance-lookup.js';
import { resolveManagedCluster } from '../aws/instance-tags.js';
import type { ScheduledEventSource } from '../aws/scheduled-events.js';
import type { ClusterAccess } from '../kube/cluster-access.js';
import type { KubeApis } from '../kube/connection.js';
import { findNodeForInstance } from '../kube/node-lookup.js';
import { retryKube } from '../kube/retry-kube.js';
import type { DrainTarget, InstanceInfo, InterruptionNotice } from '../types.js';

/** A node labelled so (`kubectl label node <name> eks-spot-drainer/exclude=true`) is left alone by every notice. */
export const optOutLabel = 'eks-spot-drainer/exclude';

export type Resolution =
  | {
      status: 'resolved';
      target: DrainTarget;
      node: k8s.V1Node;
      apis: KubeApis;
      instance: InstanceInfo | undefined;
      via: string;
    }
  /** Nothing of ours to act on; `clusterName` is set when the instance is ours but its node is gone. */
  | {
      status: 'skipped';
      reason: 'instance-gone' | 'not-managed' | 'node-not-found' | 'opted-out';
      detail: string;
      clusterName?: string;
    };

/** What AWS says beyond DescribeInstances, to confirm a notice (src/app/confirm-notice.ts). */
export interface Witnesses {
  /** Auto Scaling's group and lifecycle state of instances: confirms a terminate hook. */
  autoScalingInstances: AutoScalingInstanceSource;
  /** EC2's scheduled events of instances: confirms a Health scheduled change. */
  scheduledEvents: ScheduledEventSource;
}

/**
 * Where to look: EC2 tags pick the cluster, or one fixed cluster (a kubeconfig context).
 * `instances` and `witnesses` confirm each notice with AWS before anything is touched; without
 * `instances` (a kubeconfig alone) nothing can be confirmed. `recheckDelayMs`: the pause before AWS
 * is asked again when its answer may only be late.
 */
export type ClusterSource =
  | {
      kind: 'ec2-tags';
      instances: InstanceCache;
      witnesses: Witnesses;
      managedClusters: readonly string[];
      /** MANAGED_TAG: only instances carrying this tag key are acted on. */
      managedTag?: string;
      recheckDelayMs?: number;
    }
  | {
      kind: 'fixed';
      clusterName: string;
      instances?: InstanceCache;
      witnesses?: Partial<Witnesses>;
      recheckDelayMs?: number;
    };

/** The clusters this deployment manages: the one it is fixed to, or MANAGED_CLUSTERS. */
export function managedClustersOf(source: ClusterSource): readonly string[] {
  return source.kind === 'fixed' ? [source.clusterName] : source.managedClusters;
}

/**
 * From an instance id to the node to drain: EC2 says which cluster (only the managed ones count)
 * and gives the private DNS name and zone; the cluster's API says which node has that providerID.
 * `seen`: the instance as EC2 described it a moment ago (confirmNotice), not asked again.
 */
export async function resolveTarget(
  notice: InterruptionNotice,
  source: ClusterSource,
  access: ClusterAccess,
  call: AwsCallOptions,
  seen?: { instance: InstanceInfo | undefined },
): Promise<Resolution> {
  const instance = seen
    ? seen.instance
    : source.instances
      ? await source.instances.get(notice.instanceId, call)
      : undefined;
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
    const managed = resolveManagedCluster(instance!, source.managedClusters, source.managedTag);
    if (!managed) {
      const tagged = instance!.clusterNames.length > 0 ? instance!.clusterNames.join(', ') : 'no cluster tag';
      const untagged = source.managedTag && resolveManagedCluster(instance!, source.managedClusters);
      const detail = untagged
        ? `instance lacks the tag ${source.managedTag} (MANAGED_TAG)`
        : `instance belongs to ${tagged}`;
      return { status: 'skipped', reason: 'not-managed', detail };
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
  if (lookup.node.metadata.labels?.[optOutLabel] === 'true') {
    return {
      status: 'skipped',
      reason: 'opted-out',
      detail: `the node is labelled ${optOutLabel}=true`,
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
