import type { LambdaClient } from '@aws-sdk/client-lambda';
import { type AwsCallOptions, callAws } from './aws-retry.js';
import { sdkClientConfig } from './clients.js';
import { lazyClient } from './lazy-client.js';

/** Hands an event to another invocation of this function, asynchronously (Lambda queues it). */
export type SelfInvoker = (event: unknown, options: AwsCallOptions & { qualifier?: string }) => Promise<void>;

export interface SelfInvokerOptions {
  /** This function's name: Lambda sets AWS_LAMBDA_FUNCTION_NAME. The role may invoke only it. */
  functionName: string;
  region: string;
  endpoint?: string | undefined;
}

/**
 * Invokes this very function with InvocationType Event: the new invocation gets its own timeout, its
 * own deadline and its own retries and dead-letter queue. The Lambda client is loaded on first use
 * only (src/aws/lazy-client.ts): most invocations never fan out, and their cold start should not pay
 * for it.
 */
export function selfInvoker(options: SelfInvokerOptions): SelfInvoker {
  const lambda = lazyClient<LambdaClient>(async () => {
    const { LambdaClient } = await import('@aws-sdk/client-lambda');
    return new LambdaClient(sdkClientConfig(options));
  });
  return async (event, call) => {
    const [client, { InvokeCommand }] = await Promise.all([lambda(), import('@aws-sdk/client-lambda')]);
    const payload = new TextEncoder().encode(JSON.stringify(event));
    await callAws(
      `Invoke ${options.functionName}${call.qualifier ? `:${call.qualifier}` : ''} (Event)`,
      (abortSignal) =>
        client.send(
          new InvokeCommand({
            FunctionName: options.functionName,
            ...(call.qualifier ? { Qualifier: call.qualifier } : {}),
            InvocationType: 'Event',
            Payload: payload,
          }),
          { abortSignal },
        ),
      call,
    );
  };
}
