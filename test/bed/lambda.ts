import type { Context } from 'aws-lambda';
import type { AdminClients } from './kube.js';
import { createSpotNode, type SpotNode } from './kube.js';
import { type ClusterTagStyle, createInstance, type InstanceFixture } from './moto.js';
import { type TestBedInfo, testCredentials } from './testbed.js';

/**
 * The environment the Lambda app reads, pointed at the test bed: moto for AWS (or `awsEndpoint`, a
 * fault proxy in front of it), the test credentials, and the bed's cluster as the managed one.
 */
export function lambdaEnv(
  bed: Pick<TestBedInfo, 'region' | 'awsEndpoint' | 'clusterName'>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    AWS_REGION: bed.region,
    AWS_ENDPOINT_URL: bed.awsEndpoint,
    AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
    MANAGED_CLUSTERS: bed.clusterName,
    POWERTOOLS_METRICS_NAMESPACE: 'EksSpotDrainerTest',
    ...extra,
  };
}

/** The part of the Lambda context the app reads: a request id and a clock that runs down. */
export function lambdaContext(
  awsRequestId: string,
  remainingMs = 150_000,
): Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'> {
  const end = Date.now() + remainingMs;
  return { awsRequestId, getRemainingTimeInMillis: () => end - Date.now() };
}

/** An EC2 instance in moto and its KWOK node in `pool`, named and labelled as EKS would. */
export async function spotNodeWithInstance(
  bed: Pick<TestBedInfo, 'awsEndpoint' | 'clusterName'>,
  admin: AdminClients,
  pool: string,
  options: { clusterTagStyle?: ClusterTagStyle; clusterName?: string } = {},
): Promise<{ instance: InstanceFixture; node: SpotNode }> {
  const instance = await createInstance(bed.awsEndpoint, {
    clusterTagStyle: options.clusterTagStyle ?? 'aws:eks:cluster-name',
    clusterName: options.clusterName ?? bed.clusterName,
  });
  const node = await createSpotNode(admin.core, {
    instanceId: instance.instanceId,
    name: instance.privateDnsName,
    availabilityZone: instance.availabilityZone,
    extraLabels: { pool },
  });
  return { instance, node };
}
