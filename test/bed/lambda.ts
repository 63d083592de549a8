import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { AdminClients } from './kube.js';
import { createSpotNode, type SpotNode } from './kube.js';
import { type ClusterTagStyle, createInstance, type InstanceFixture } from './moto.js';
import { type TestBedInfo, testCredentials, testRegion } from './testbed.js';

/** The account moto answers for (its default), where the bed's function "runs" and its events come from. */
export const testAccount = '123456789012';
/** The function ARN Lambda would hand the bed's function: its account and region are the ones events must carry. */
export const testFunctionArn = `arn:aws:lambda:${testRegion}:${testAccount}:function:eks-spot-drainer-test-interruption`;

/**
 * What every function run on the shared bed is given: the bed is one cluster that every test file
 * marks nodes of at once, so a disruption budget counted over it would make one file's drains wait
 * on another's (disruption-budget.test.ts has a control plane of its own).
 */
export const sharedBedEnv = { MAX_VOLUNTARY_DISRUPTIONS: 'none' } as const;

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
    ...sharedBedEnv,
    ...extra,
  };
}

/** The part of the Lambda context the app reads: a request id, a clock that runs down, the function's ARN. */
export function lambdaContext(
  awsRequestId: string,
  remainingMs = 150_000,
  invokedFunctionArn = testFunctionArn,
): Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis' | 'invokedFunctionArn'> {
  const end = Date.now() + remainingMs;
  return { awsRequestId, getRemainingTimeInMillis: () => end - Date.now(), invokedFunctionArn };
}

/** An EC2 instance in moto and its KWOK node in `pool`, named and labelled as EKS would. */
export async function spotNodeWithInstance(
  bed: Pick<TestBedInfo, 'awsEndpoint' | 'clusterName'>,
  admin: AdminClients,
  pool: string,
  options: {
    clusterTagStyle?: ClusterTagStyle;
    clusterName?: string;
    onDemand?: boolean;
    extraTags?: Record<string, string>;
  } = {},
): Promise<{ instance: InstanceFixture; node: SpotNode }> {
  const instance = await createInstance(bed.awsEndpoint, {
    clusterTagStyle: options.clusterTagStyle ?? 'aws:eks:cluster-name',
    clusterName: options.clusterName ?? bed.clusterName,
    ...(options.onDemand ? { onDemand: true } : {}),
    ...(options.extraTags ? { extraTags: options.extraTags } : {}),
  });
  const node = await createSpotNode(admin.core, {
    instanceId: instance.instanceId,
    name: instance.privateDnsName,
    availabilityZone: instance.availabilityZone,
    extraLabels: { pool },
  });
  return { instance, node };
}

/** The reconcile schedule's event, as EventBridge delivers it from the rule `rule` in `region`. */
export function reconcileEvent(
  region: string,
  rule = 'eks-spot-drainer-test-reconcile',
): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:123456789012:rule/${rule}`],
    detail: {},
  };
}
