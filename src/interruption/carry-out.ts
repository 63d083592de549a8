/**
 * Moves a node on: one input through the door, then its effects carried out in order (Events, hooks
 * completed, a drain run as the record's holder). Notices and the reconcile both come through here.
 */
import { DeadlineClock } from '../drain/deadline-clock.js';
import { drainPods } from '../drain/drain-pods.js';
import type { DrainProgress } from '../drain/drain-types.js';
import type { DrainOptions } from '../drain/options.js';
import { outcomeEvent } from '../drain/report.js';
import type { PodsResult } from '../drain/result.js';
import type { KubeApis } from '../kube/connection.js';
import { NodeEventRecorder } from '../kube/node-events.js';
import { retryKube } from '../kube/retry-kube.js';
import { volumesBeforeHooks } from './before-hooks.js';
import { type Applied, applyInput, type DoorContext, type View } from './door.js';
import { Holder } from './holder.js';
import type { Effect, Input, NodeOutcome } from './inputs.js';
import {
  type HookRecord,
  holdingReason,
  hookKey,
  type InterruptionRecord,
  type RecordState,
} from './record.js';
import { ownHooks } from './steps.js';
import { effectsOf } from './transition.js';
import { isNodeReady } from './world.js';

/** Completes Auto Scaling lifecycle hooks (src/interruption knows no AWS client). */
export interface HookHandler {
  /**
   * Completes the hooks (CONTINUE); returns those it completed or found ended. `volumesAttached`:
   * the node's VolumeAttachments still there when the wait for them reached its bound.
   */
  complete(hooks: HookRecord[], volumesAttached?: string[]): Promise<HookRecord[]>;
  /** The node's hooks while its drain runs: keep them alive with heartbeats. */
  onHooks?(hooks: HookRecord[]): void;
}

export interface CarryOutContext extends DoorContext {
  apis: KubeApis;
  drain: DrainOptions;
  hooks?: HookHandler;
  /** When the invocation must have returned (epoch ms): no drain runs past it. */
  deadline: number;
  /** The invocation's own end, where `deadline` was stretched for the write of a drain's end. */
  invocationDeadline?: number;
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
  renewIntervalMs: number;
  /** Who writes the Events (the invocation's id). */
  actor: string;
  /**
   * Asks a fresh invocation to look at the node (in Lambda: an asynchronous self-invoke). With it, a
   * drain whose deadline lies beyond this invocation's end is handed on before that end; without it
   * (the CLI), such a drain stops at the invocation's end as it always did.
   */
  continueElsewhere?: (nodeName: string) => Promise<void>;
}

/** A drain is handed on this long before the invocation's end: the halt, the write and the invoke fit in it. */
export const handOffLeadMs = 10_000;
/** A drain is handed on only if its deadline lies at least this far beyond the invocation's end. */
const handOffGainMs = 30_000;

/** What moving a node on did. */
export interface NodeReport {
  nodeName: string;
  /** What happened to the node. */
  node: NodeOutcome;
  why: string;
  /** What a drain run here did to the pods. */
  drain?: PodsResult;
  /** The record's state and holder afterwards (none: released, or never recorded). */
  state?: RecordState;
  holder?: string;
  /** When the drain run here had to end (epoch ms). */
  deadline?: number;
  hooksCompleted: HookRecord[];
  /** Hooks this input tried to complete and could not (Auto Scaling failed): a retry of the input completes them. */
  hooksFailed: HookRecord[];
  /** This node's hooks still recorded (a holder elsewhere completes them, or the reconcile). */
  hooksPending: HookRecord[];
  /** Notices only: the notice's reason was new to the record (not a duplicate delivery). */
  newReason?: boolean;
  /** Notices only: the deadline the drain's holder had before this notice (epoch ms). */
  holderDeadline?: number;
}

/** One input through the door (retried on 429s and 503s until the invocation's end), then its effects. */
export async function moveOn(
  nodeName: string,
  input: Input,
  ctx: CarryOutContext,
  view: View = {},
): Promise<NodeReport> {
  const started = ctx.now();
  const applied = await retryKube(() => applyInput(nodeName, input, ctx, view), call(ctx, ctx.deadline));
  if (applied === 'node-gone') {
    return {
      nodeName,
      node: 'node-gone',
      why: 'the node no longer exists',
      hooksCompleted: [],
      hooksFailed: [],
      hooksPending: [],
    };
  }
  const report = await carryOut(nodeName, applied, ctx, started);
  if (input.type === 'notice') {
    report.newReason = !(applied.before?.reasons.some((r) => r.eventId === input.notice.eventId) ?? false);
    const held = Date.parse(applied.before?.deadline ?? '');
    if (applied.before?.holder && Number.isFinite(held)) report.holderDeadline = held;
  }
  return report;
}

async function carryOut(
  nodeName: string,
  applied: Applied,
  ctx: CarryOutContext,
  started: number,
): Promise<NodeReport> {
  const last = applied.transitions.at(-1)!;
  const report: NodeReport = {
    nodeName,
    node: last.outcome,
    why: last.why,
    ...recordFacts(
      last.record ?? (last.effects.some((e) => e.type === 'release') ? undefined : applied.before),
      applied,
    ),
    hooksCompleted: [],
    hooksFailed: [],
  };
  const events = new NodeEventRecorder(ctx.apis.core, applied.node, ctx.actor);
  for (const effect of effectsOf(applied.transitions)) {
    if (effect.type === 'event') {
      events.record(effect.reason, effect.message, effect.warning ? 'Warning' : 'Normal');
    }
    if (effect.type === 'complete-hooks') {
      const attached = ctx.hooks ? await volumesBeforeHooks(nodeName, last.record, ctx, events) : [];
      const done = await completeHooks(nodeName, effect.hooks, ctx, attached);
      report.hooksCompleted.push(...done);
      const completed = new Set(done.map(hookKey));
      report.hooksFailed.push(...effect.hooks.filter((h) => !completed.has(hookKey(h))));
    }
    if (effect.type === 'continue-elsewhere') {
      // Lost, the record still says it was handed off: the reconcile's next look takes the drain.
      await ctx
        .continueElsewhere?.(nodeName)
        .catch((error: unknown) =>
          (ctx.onProgress ?? (() => {}))({ type: 'record', detail: `hand-off not sent: ${String(error)}` }),
        );
    }
    if (effect.type === 'drain') {
      const markMs = ctx.now() - started;
      const ran = await runDrain(nodeName, effect, last.record!, ctx, events);
      if (ran.drain) ran.drain.timings.markMs = markMs;
      Object.assign(report, ran, {
        hooksCompleted: [...report.hooksCompleted, ...ran.hooksCompleted],
        hooksFailed: [...report.hooksFailed, ...(ran.hooksFailed ?? [])],
      });
    }
  }
  await events.flush();
  const completed = new Set(report.hooksCompleted.map(hookKey));
  report.hooksPending = report.hooksPending.filter((h) => !completed.has(hookKey(h)));
  return report;
}

/** The drain of an input whose record names this holder; its end goes through the door again. */
async function runDrain(
  nodeName: string,
  effect: Extract<Effect, { type: 'drain' }>,
  record: InterruptionRecord,
  ctx: CarryOutContext,
  events: NodeEventRecorder,
): Promise<Partial<NodeReport> & Pick<NodeReport, 'hooksCompleted'>> {
  const progress = ctx.onProgress ?? (() => {});
  // A drain that outlasts the invocation keeps its own deadline (grace periods are cut to it, not to
  // the invocation's end) and is handed on before that end.
  const handsOff = ctx.continueElsewhere !== undefined && effect.deadline - ctx.deadline >= handOffGainMs;
  const until = handsOff ? effect.deadline : Math.min(effect.deadline, ctx.deadline);
  const clock = new DeadlineClock(until, ctx.drain.safetyMarginMs, ctx.now);
  clock.onChange(() =>
    progress({ type: 'record', detail: `deadline moved to ${new Date(clock.deadline).toISOString()}` }),
  );
  const halt = new AbortController();
  let halted: 'taken-over' | 'halted' | 'handing-off' | undefined;
  const stop = (why: typeof halted) => {
    halted ??= why;
    halt.abort();
  };
  const handOffTimer = handsOff
    ? setTimeout(() => stop('handing-off'), Math.max(0, ctx.deadline - handOffLeadMs - ctx.now()))
    : undefined;
  ctx.hooks?.onHooks?.(record.hooks);
  const holder = new Holder(nodeName, effect.holder, ctx, {
    intervalMs: ctx.renewIntervalMs,
    onRenewed: (renewed, node) => {
      clock.tighten(Date.parse(renewed.deadline));
      ctx.hooks?.onHooks?.(renewed.hooks);
      if (effect.stopWhenNotReady && !isNodeReady(node)) stop('halted');
    },
    onLost: () => stop('taken-over'),
  }).start();
  let pods: PodsResult;
  try {
    pods = await drainPods(nodeName, clock, {
      apis: ctx.apis,
      options: { ...ctx.drain, keepDoNotDisrupt: effect.voluntary },
      now: ctx.now,
      halt: halt.signal,
      onProgress: progress,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...noticeOf(record),
      actor: ctx.actor,
    });
  } catch (error) {
    clearTimeout(handOffTimer);
    await holder.stop();
    // Give the node up at once, so Lambda's retry of this event, or anyone else, may take over.
    const failed: Input = { type: 'drain-ended', holder: effect.holder, outcome: 'failed' };
    await retryKube(() => applyInput(nodeName, failed, ctx), call(ctx, ctx.now() + 5_000)).catch(() => {});
    await events.flush(500);
    throw error;
  }
  clearTimeout(handOffTimer);
  await holder.stop();
  // Handed on only if the drain is not over: a drain that ended as the timer fired just ends.
  if (halted === 'handing-off' && pods.outcome === 'halted') {
    progress({ type: 'record', detail: 'handed off: a fresh invocation takes the drain over' });
    const handed = await moveOn(nodeName, { type: 'hand-off', holder: effect.holder }, ctx);
    const node: NodeOutcome = handed.node === 'lost' ? 'taken-over' : handed.node;
    return { ...handed, node, drain: pods, deadline: clock.deadline };
  }
  if (halted === 'taken-over') {
    progress({ type: 'record', detail: 'taken over: the new holder finishes the drain' });
    return {
      node: 'taken-over',
      why: 'another holder took the record over',
      drain: pods,
      hooksCompleted: [],
    };
  }
  const ended = outcomeEvent(pods.outcome, pods.pods, pods.timings.totalMs);
  // The closing Event goes out beside the record's end: one round trip after the last pod, not two.
  events.record(ended.reason, ended.message, ended.warning ? 'Warning' : 'Normal');
  const end: Input = { type: 'drain-ended', holder: effect.holder, outcome: pods.outcome };
  const after = await moveOn(nodeName, end, {
    ...ctx,
    deadline: Math.max(clock.deadline, ctx.now() + 10_000),
    invocationDeadline: ctx.invocationDeadline ?? ctx.deadline,
  });
  const node: NodeOutcome = after.node === 'lost' ? 'taken-over' : after.node;
  // The kubelet stopped mid-drain: what it was evicting can no longer go. A fresh look decides.
  if (halted === 'halted' && after.node === 'ended') {
    const look = await moveOn(nodeName, { type: 'look', holder: effect.holder }, ctx);
    const hooksCompleted = [...after.hooksCompleted, ...look.hooksCompleted];
    return { ...look, drain: pods, deadline: clock.deadline, hooksCompleted };
  }
  return { ...after, node, drain: pods, deadline: clock.deadline };
}

/** Completes hooks, then takes those completed off the record (a failure leaves them for a retry). */
async function completeHooks(
  nodeName: string,
  hooks: HookRecord[],
  ctx: CarryOutContext,
  volumesAttached: string[],
): Promise<HookRecord[]> {
  if (!ctx.hooks || hooks.length === 0) return [];
  const done = await ctx.hooks.complete(hooks, volumesAttached);
  if (done.length > 0) {
    await retryKube(
      () => applyInput(nodeName, { type: 'hooks-completed', hooks: done }, ctx),
      call(ctx, ctx.now() + 10_000),
    ).catch(() => {});
  }
  return done;
}

function recordFacts(
  record: InterruptionRecord | undefined,
  applied: Applied,
): Pick<NodeReport, 'state' | 'holder' | 'hooksPending'> {
  if (!record) return { hooksPending: [] };
  return {
    state: record.state,
    ...(record.holder ? { holder: record.holder } : {}),
    hooksPending: ownHooks(record, applied.world),
  };
}

function call(ctx: CarryOutContext, deadline: number) {
  return { deadline, now: ctx.now, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

/** The notice the drain is for, named in each evicted pod's Event: the strongest that holds the node. */
function noticeOf(record: InterruptionRecord): { notice?: { kind: string; eventId: string } } {
  const reason = holdingReason(record);
  return reason ? { notice: { kind: reason.kind, eventId: reason.eventId } } : {};
}
