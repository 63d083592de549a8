import { sleep } from '../retry.js';
import { type CarryOutContext, moveOn, type NodeReport } from './carry-out.js';
import type { Input } from './inputs.js';

/**
 * A notice that brought a drain of its own (an earlier deadline, a lifecycle hook) and found another
 * invocation draining the node waits in the wings: it asks the door again every renewal interval, so
 * that it takes the drain over as soon as the holder stops renewing, or learns that the holder ended
 * it, at most until its own deadline. A duplicate delivery of the holder's own event need not wait:
 * a retry of the holder's invocation, or the reconcile, carries that on.
 */
export async function standBy(
  nodeName: string,
  input: Extract<Input, { type: 'notice' }>,
  found: NodeReport,
  ctx: CarryOutContext,
): Promise<NodeReport> {
  let current = found;
  while (
    current.node === 'in-progress-elsewhere' &&
    ctx.now() + ctx.renewIntervalMs < ctx.deadline &&
    !ctx.signal?.aborted
  ) {
    await sleep(ctx.renewIntervalMs, ctx.signal);
    current = { ...(await moveOn(nodeName, input, ctx)), newReason: found.newReason };
  }
  return current;
}
