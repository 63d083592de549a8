import type * as k8s from '@kubernetes/client-node';
import type { InstanceStateSource } from '../aws/instance-states.js';
import type { InterruptionConfig } from '../config.js';
import { defaultInterruptionConfig } from '../config.js';
import type { DrainProgress } from '../drain/drain-types.js';
import type { DrainOptions } from '../drain/options.js';
import { planDrain } from '../drain/plan.js';
import { reportPlanned } from '../drain/report.js';
import { noTimings } from '../drain/result.js';
import { type HookHandler, moveOn, type NodeReport } from '../interruption/carry-out.js';
import type { View } from '../interruption/door.js';
import type { Input, NoticeInput } from '../interruption/inputs.js';
import { standBy } from '../interruption/stand-by.js';
import type { KubeApis } from '../kube/connection.js';
import { retryKube } from '../kube/retry-kube.js';
import { Action, type NoticeKind } from '../types.js';
import { interruptionContext, type Timing } from './interruption-context.js';
import { dryRunResult, type NoticeResult, noticeResult } from './notice-result.js';

/** One node to cordon or drain for one notice. */
export interface DrainRequest {
  nodeName: string;
  kind: NoticeKind;
  eventId: string;
  /** Cordon or Drain (None never reaches here). */
  action: Action;
  /** When the notice says its drain must be over (epoch ms): its own deadline, or its budget. */
  deadline: number;
  /** Who drains: the Lambda request id or the CLI's run id. */
  holder: string;
  /** One sentence about the notice, written as an Event on the node. */
  noticeMessage: string;
  /** When the notice was sent (epoch ms; default: now). */
  eventTime?: number;
  detail?: string;
  hook?: NoticeInput['hook'];
  health?: NoticeInput['health'];
  /** The node as just read, and EC2's view of its instance: spares the door one GET. */
  view?: View & { node?: k8s.V1Node };
}

export interface DrainContext {
  apis: KubeApis;
  options: DrainOptions;
  interruption?: InterruptionConfig;
  now?: () => number;
  signal?: AbortSignal;
  /** When the invocation must have returned: no drain runs past it (default: the request's deadline). */
  invocationDeadline?: number;
  onProgress?: (progress: DrainProgress) => void;
  hooks?: HookHandler;
  /** EC2's view of instances (uncached); without it, nothing that needs EC2's word is done. */
  instanceStates?: InstanceStateSource;
  /** Record renewal and takeover timing (tests shorten it). */
  timing?: Timing;
  /** Hands a drain that outlasts the invocation on to a fresh one (carry-out.ts). */
  continueElsewhere?: (nodeName: string) => Promise<void>;
}

/**
 * Cordons and drains (or only cordons, or records) one node for one notice, through the node's
 * record: the notice goes through the door, the drain runs as the record's holder, and a notice
 * that must end sooner than the live holder stands by (mustStandBy). Idempotent across
 * invocations and deliveries.
 */
export async function drainNode(request: DrainRequest, context: DrainContext): Promise<NoticeResult> {
  const now = context.now ?? Date.now;
  const until = Math.min(request.deadline, context.invocationDeadline ?? request.deadline);
  const summary = {
    nodeName: request.nodeName,
    kind: request.kind,
    eventId: request.eventId,
    action: request.action,
  };
  if (context.options.dryRun) {
    const scope = { withBudgets: true, noticeKind: request.kind };
    const plan = await retryKube(() => planDrain(context.apis, request.nodeName, context.options, scope), {
      deadline: until,
      now,
    });
    return dryRunResult(summary, plan.pods.map(reportPlanned), noTimings(), until, now());
  }
  const input: Extract<Input, { type: 'notice' }> = {
    type: 'notice',
    holder: request.holder,
    notice: noticeOf(request, now()),
  };
  const ctx = interruptionContext({
    config: { drain: context.options, interruption: context.interruption ?? defaultInterruptionConfig },
    apis: context.apis,
    instanceStates: context.instanceStates,
    hooks: context.hooks,
    invocation: {
      id: request.holder,
      deadline: until,
      ...(context.signal ? { signal: context.signal } : {}),
    },
    now,
    ...(context.timing ? { timing: context.timing } : {}),
    ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    ...(context.continueElsewhere ? { continueElsewhere: context.continueElsewhere } : {}),
  });
  context.onProgress?.({ type: 'phase', phase: 'mark', detail: `cordoning ${request.nodeName}` });
  let report = await moveOn(request.nodeName, input, ctx, request.view ?? {});
  if (mustStandBy(request, report)) {
    context.onProgress?.({ type: 'record', detail: `standing by while ${report.holder} drains` });
    report = await standBy(request.nodeName, input, report, ctx);
  }
  context.onProgress?.({ type: 'phase', phase: 'done', detail: report.drain?.outcome ?? report.node });
  return noticeResult(summary, report, until, now());
}

/**
 * A notice that found a live holder draining the node has recorded what it brings (its hook, its
 * deadline: the holder adopts an earlier one at its next renewal) and returns at once, unless it
 * must end sooner than that holder would: then it stands by, to take the drain over should the
 * holder die, as nobody else would before its deadline (the reconcile comes every few minutes).
 */
function mustStandBy(request: DrainRequest, report: NodeReport): boolean {
  if (report.node !== 'in-progress-elsewhere' || request.action !== Action.Drain || !report.newReason) {
    return false;
  }
  return report.holderDeadline === undefined || request.deadline < report.holderDeadline;
}

function noticeOf(request: DrainRequest, now: number): NoticeInput {
  return {
    kind: request.kind,
    action: request.action === Action.Drain ? 'drain' : 'cordon',
    eventId: request.eventId,
    ...(request.detail ? { detail: request.detail } : {}),
    eventTime: request.eventTime ?? now,
    deadline: request.deadline,
    ...(request.hook ? { hook: request.hook } : {}),
    ...(request.health ? { health: request.health } : {}),
    message: request.noticeMessage,
  };
}
