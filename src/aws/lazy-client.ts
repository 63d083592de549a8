/**
 * An AWS SDK client that is built, and its package imported, on first use. The function's bundle is
 * split (serverless.yml `splitting`): a package reached only through `import()` is a chunk of its own,
 * which an invocation that never calls the service neither loads nor parses. Cold starts are what a
 * Spot notice waits on, so every client a notice does not need is one of these.
 */
export type LazyClient<C> = () => Promise<C>;

/**
 * Builds the client on the first call and hands the same one to every later call; a build that
 * failed (a chunk that could not be read) is tried again on the next call.
 *
 * The package must be reached only through `import()`, here and where its commands are built (a
 * static import anywhere puts it back into the entry chunk): import the client's type with
 * `import type`, and the commands with `await import(...)` next to `await client()`.
 *
 * @example
 * const autoScaling = lazyClient(async () => {
 *   const { AutoScalingClient } = await import('@aws-sdk/client-auto-scaling');
 *   return new AutoScalingClient(sdkClientConfig({ region }));
 * });
 * // where it is used:
 * const [asg, { CompleteLifecycleActionCommand }] = await Promise.all([
 *   autoScaling(),
 *   import('@aws-sdk/client-auto-scaling'),
 * ]);
 */
export function lazyClient<C>(build: () => Promise<C>): LazyClient<C> {
  let client: Promise<C> | undefined;
  return () => {
    client ??= build().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
}
