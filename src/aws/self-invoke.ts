import { type AwsCallOptions, callAws } from './aws-retry.js';
import { sdkClientConfig } from './clients.js';

/** Hands an event to another invocation of this function, asynchronously (Lambda queues it). */
export type SelfInvoker = (event: unknown, options: AwsCallOptions) => Promise<void>;

export interface SelfInvokerOptions {
  /** This function's name: Lambda sets AWS_LAMBDA_FUNCTION_NAME. The role may invoke only it. */
  functionName: string;
  region: string;
  endpoint?: string | undefined;
}

/**
 * Invokes this very function with InvocationType Event: the new invocation gets its own timeout, its
 * own deadline and its own retries and dead-letter queue. The Lambda client is loaded on first use
 * only: most invocations never fan out, and their cold start should not pay for it.
 */
export function selfInvoker(options: SelfInvokerOptions): SelfInvoker {
  let client: Promise<{ send: (event: unknown, signal: AbortSignal) => Promise<unknown> }> | undefined;
  const load = async () => {
    const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
    const lambda = new LambdaClient(sdkClientConfig(options));
    return {
      send: (event: unknown, abortSignal: AbortSignal) =>
        lambda.send(
          new InvokeCommand({
            FunctionName: options.functionName,
            InvocationType: 'Event',
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
          { abortSignal },
        ),
    };
  };
  return async (event, call) => {
    client ??= load();
    const lambda = await client;
    await callAws(`Invoke ${options.functionName} (Event)`, (signal) => lambda.send(event, signal), call);
  };
}
