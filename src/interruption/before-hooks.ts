/**
 * What comes between a drain's end and the CONTINUE of its node's lifecycle hooks: the node's
 * volumes detach (a hook completed earlier lets EC2 take the instance with them attached), and
 * HOOK_COMPLETION_DELAY_SECONDS passes, for volumes no VolumeAttachment tracks (no CSI driver).
 * Both are bounded by the drain's deadline and the invocation's time: a hook is never held past them.
 */
import type { DrainProgress } from '../drain/drain-types.js';
import type { DrainOptions } from '../drain/options.js';
import type { KubeApis } from '../kube/connection.js';
import { NodeEventReason, type NodeEventRecorder } from '../kube/node-events.js';
import { volumesStaying, waitForDetached } from '../kube/volume-attachments.js';
import { describeError } from '../observability/redact.js';
import { sleep } from '../retry.js';
import { type InterruptionRecord, RecordState } from './record.js';

/** What the wait needs of the carry-out's context (carry-out.ts passes its own). */
export interface VolumeWaitContext {
  apis: KubeApis;
  drain: Pick<DrainOptions, 'dryRun' | 'hookCompletionDelayMs'>;
  now: () => number;
  /** When the invocation must have returned (epoch ms). */
  deadline: number;
  invocationDeadline?: number;
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
}

/** Kept back from the invocation's end for CompleteLifecycleAction itself. */
export const completionReserveMs = 2_000;

/** Records whose drain ended: the only ones whose volumes are on their way off the node. */
const drainEnded = new Set<RecordState>([
  RecordState.Drained,
  RecordState.DeadlineReached,
  RecordState.Incomplete,
]);

/**
 * Waits, before the node's hooks are completed, for its VolumeAttachments to go and the configured
 * delay to pass, at most until the bound; returns the VolumeAttachments still there (an Event and a
 * progress line name them). Nothing to wait for unless the record's drain ended.
 */
export async function volumesBeforeHooks(
  nodeName: string,
  record: InterruptionRecord | undefined,
  ctx: VolumeWaitContext,
  events: NodeEventRecorder,
): Promise<string[]> {
  if (!record || !drainEnded.has(record.state) || ctx.drain.dryRun) return [];
  const until = boundOf(record, ctx);
  const delayEnd = Math.min(ctx.now() + ctx.drain.hookCompletionDelayMs, until);
  const progress = ctx.onProgress ?? (() => {});
  const detached = await waitForDetached(ctx.apis, nodeName, until, {
    now: ctx.now,
    // A cluster whose RBAC predates reading claims waits for every volume, as it did before.
    staying: () => volumesStaying(ctx.apis, nodeName).catch(() => new Set<string>()),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (detached.error) {
    progress({
      type: 'record',
      detail: `cannot list VolumeAttachments (${describeError(detached.error)}): hooks completed without waiting for volumes`,
    });
  }
  if (delayEnd > ctx.now()) await sleep(delayEnd - ctx.now(), ctx.signal);
  if (detached.attached.length > 0) {
    const message = `Lifecycle hooks completed with volumes still attached (${detached.attached.join(', ')}): the deadline came first`;
    progress({ type: 'record', detail: message });
    events.record(NodeEventReason.VolumesStillAttached, message, 'Warning');
  }
  return detached.attached;
}

/**
 * The drain's deadline or the invocation's end, whichever is first, less the time the completion
 * itself takes (the hooks' calls end with the invocation).
 */
function boundOf(record: InterruptionRecord, ctx: VolumeWaitContext): number {
  const invocation = Math.min(ctx.invocationDeadline ?? ctx.deadline, ctx.deadline);
  const drain = Date.parse(record.deadline);
  return (Number.isFinite(drain) ? Math.min(drain, invocation) : invocation) - completionReserveMs;
}
