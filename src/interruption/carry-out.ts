/**
 * Moves a node on: one input through the door, then its effects carried out in order (Events, hooks
 * completed, a drain run as the record's holder). Notices and the reconcile both come through here.
 */
import { DeadlineClock } from '../drain/deadline-clock.js';
import { drainPods } from '../drain/drain-pods.js';
import { outcomeEvent } from '../drain/report.js';
import type { PodsResult } from '../drain/result.js';
import { NodeEventRecorder } from '../kube/node-events.js';
import { retryKube } from '../kube/retry-kube.js';
import { volumesBeforeHooks } from './before-hooks.js';
import type { CarryOutContext, NodeReport } from './carry-out-types.js';
import { type Applied, applyInput, type View } from './door.js';
import { drainTiming } from './hand-off-timing.js';
import { Holder } from './holder.js';
import type { Effect, Input, NodeOutcome } from './inputs.js';
import { type HookRecord, holdingReason, hookKey, type InterruptionRecord } from './record.js';
import { ownHooks } from './steps.js';
import { effectsOf } from './transition.js';
import { isNodeReady } from './world.js';

export type { CarryOutContext, HookHandler, NodeReport } from './carry-out-types.js';

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

type DrainEffect = Extract<Effect, { type: 'drain' }>;
type DrainReport = Partial<NodeReport> & Pick<NodeReport, 'hooksCompleted'>;

/** How the holder's drain stopped, besides its pods' outcome. */
interface DrainRun {
  pods: PodsResult;
  halted: 'taken-over' | 'halted' | 'handing-off' | undefined;
  clock: DeadlineClock;
}

/** The drain of an input whose record names this holder; its end goes through the door again. */
async function runDrain(
  nodeName: string,
  effect: DrainEffect,
  record: InterruptionRecord,
  ctx: CarryOutContext,
  events: NodeEventRecorder,
): Promise<DrainReport> {
  const run = await drainAsHolder(nodeName, effect, record, ctx, events);
  return afterDrain(nodeName, effect, run, ctx, events);
}

/** The pods drained while the holder renews the record; stopped early if taken over, halted or handed on. */
async function drainAsHolder(
  nodeName: string,
  effect: DrainEffect,
  record: InterruptionRecord,
  ctx: CarryOutContext,
  events: NodeEventRecorder,
): Promise<DrainRun> {
  const progress = ctx.onProgress ?? (() => {});
  const timing = drainTiming(effect.deadline, ctx.deadline, ctx.continueElsewhere !== undefined);
  const clock = new DeadlineClock(timing.until, ctx.drain.safetyMarginMs, ctx.now);
  clock.onChange(() =>
    progress({ type: 'record', detail: `deadline moved to ${new Date(clock.deadline).toISOString()}` }),
  );
  const halt = new AbortController();
  let halted: DrainRun['halted'];
  const stop = (why: typeof halted) => {
    halted ??= why;
    halt.abort();
  };
  const handOffTimer =
    timing.handOffAt !== undefined
      ? setTimeout(() => stop('handing-off'), Math.max(0, timing.handOffAt - ctx.now()))
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
  return { pods, halted, clock };
}

/** What follows the drain: the hand-off, the take-over, or its end through the door (and a look after a halt). */
async function afterDrain(
  nodeName: string,
  effect: DrainEffect,
  { pods, halted, clock }: DrainRun,
  ctx: CarryOutContext,
  events: NodeEventRecorder,
): Promise<DrainReport> {
  const progress = ctx.onProgress ?? (() => {});
  // Handed on only if the drain is not over: a drain that ended as the timer fired just ends.
  if (halted === 'handing-off' && pods.outcome === 'halted') {
    progress({ type: 'record', detail: 'handed off: a fresh invocation takes the drain over' });
    const handed = await moveOn(nodeName, { type: 'hand-off', holder: effect.holder }, ctx);
    return { ...handed, node: lostIsTakenOver(handed.node), drain: pods, deadline: clock.deadline };
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
  const node = lostIsTakenOver(after.node);
  // The kubelet stopped mid-drain: what it was evicting can no longer go. A fresh look decides.
  if (halted === 'halted' && after.node === 'ended') {
    const look = await moveOn(nodeName, { type: 'look', holder: effect.holder }, ctx);
    const hooksCompleted = [...after.hooksCompleted, ...look.hooksCompleted];
    return { ...look, drain: pods, deadline: clock.deadline, hooksCompleted };
  }
  return { ...after, node, drain: pods, deadline: clock.deadline };
}

/** A holder that finds the record no longer its own was taken over. */
function lostIsTakenOver(node: NodeOutcome): NodeOutcome {
  return node === 'lost' ? 'taken-over' : node;
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
