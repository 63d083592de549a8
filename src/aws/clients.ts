import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { type LazyClient, lazyClient } from './lazy-client.js';

/**
 * The AWS clients the function uses, built once per container. EC2 and EKS serve every notice; Auto
 * Scaling only notices that carry a lifecycle hook, so it is built, and its package loaded, on first use.
 */
export interface AwsClients {
  ec2: EC2Client;
  eks: EKSClient;
  autoScaling: LazyClient<AutoScalingClient>;
}

export interface AwsClientOptions {
  region: string;
  /** One endpoint for every service (moto in tests); AWS_ENDPOINT_URL works too. */
  endpoint?: string;
  /** Per-client endpoints; each wins over `endpoint` (AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL). */
  endpoints?: Partial<Record<keyof AwsClients, string>>;
  /** Default: the SDK's provider chain (in Lambda, the execution role). Tests pass moto's fake keys. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/**
 * Time to open a connection, and time a whole request may take. EC2, EKS and Auto Scaling answer
 * in well under a second; a request that hangs for longer is better abandoned and sent again while
 * the deadline still leaves room, than waited on for the SDK's default (a 15-minute idle socket).
 */
export const connectionTimeoutMs = 3_000;
export const requestTimeoutMs = 5_000;

/**
 * One attempt per SDK call: callAws (src/aws/aws-retry.ts) is the only retry loop. The SDK's
 * standard mode would sleep between its own attempts without knowing our deadline, and nesting two
 * loops multiplies the attempts (SDK 3 x ours) that a region-wide reclaim sends to throttled APIs.
 */
export const sdkMaxAttempts = 1;

/**
 * Builds the EC2, EKS and Auto Scaling clients with bounded timeouts and no SDK-level retries (Auto
 * Scaling on its first use).
 *
 * @example
 * const { ec2, eks, autoScaling } = createAwsClients({ region: process.env.AWS_REGION! });
 * const asg = await autoScaling();
 */
export function createAwsClients(options: AwsClientOptions): AwsClients {
  const at = (client: keyof AwsClients) =>
    sdkClientConfig({ ...options, endpoint: options.endpoints?.[client] ?? options.endpoint });
  return {
    ec2: new EC2Client(at('ec2')),
    eks: new EKSClient(at('eks')),
    autoScaling: lazyClient(async () => {
      const { AutoScalingClient } = await import('@aws-sdk/client-auto-scaling');
      return new AutoScalingClient(at('autoScaling'));
    }),
  };
}

/**
 * The configuration every SDK client of the function gets, whichever service: bounded timeouts, one
 * attempt (callAws retries), and the endpoint and credentials tests pass.
 */
export function sdkClientConfig(options: {
  region: string;
  endpoint?: string | undefined;
  credentials?: AwsClientOptions['credentials'] | undefined;
}) {
  return {
    region: options.region,
    maxAttempts: sdkMaxAttempts,
    requestHandler: {
      connectionTimeout: connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Without it the handler only logs a warning when requestTimeout passes, and keeps waiting.
      throwOnRequestTimeout: true,
    },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}
