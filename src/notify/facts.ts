/**
 * The facts of a notification by name: the body of the `json` format, and the values of a template's
 * placeholders (`{{node}}`). Everything here comes from DrainInfo and DrainSummary; a fact a drain
 * that is only starting does not have yet (its outcome, counts, duration) is null.
 */
import { Action } from '../types.js';
import { kindLabel, notificationWording } from './message.js';
import { type Notification, NotificationEvent } from './types.js';

/** The facts of one notification, each a placeholder of the same name. */
export interface NotificationFacts {
  /** `drain-started` or `drain-finished`. */
  event: NotificationEvent;
  /** The whole notification in one sentence, as the presets word it. */
  text: string;
  cluster: string;
  node: string;
  instanceId: string;
  /** The notice kind, e.g. `spot-interruption`. */
  kind: string;
  /** The notice kind in words, e.g. `Spot interruption warning`. */
  notice: string;
  /** The EventBridge event id, to find the invocation's logs. */
  eventId: string;
  /** When the instance is expected to be gone (ISO 8601); null when the notice sets no hard limit. */
  deadline: string | null;
  /** `drain` or `cordon`. */
  action: string;
  dryRun: boolean;
  /** e.g. `drained`, `deadline-reached`, `incomplete`; null when starting. */
  outcome: string | null;
  evicted: number | null;
  skipped: number | null;
  /** Pods a PodDisruptionBudget kept on the node until the deadline. */
  blocked: number | null;
  failed: number | null;
  /** How long the drain took, in seconds to a tenth. */
  durationSeconds: number | null;
  /** Seconds to a tenth left before the deadline (negative: overran); null without a deadline. */
  timeLeftSeconds: number | null;
}

export type Placeholder = keyof NotificationFacts;
export type FactValue = NotificationFacts[Placeholder];

// A record, so that adding a fact without its placeholder (or the reverse) does not compile.
const placeholderSet: Record<Placeholder, true> = {
  event: true,
  text: true,
  cluster: true,
  node: true,
  instanceId: true,
  kind: true,
  notice: true,
  eventId: true,
  deadline: true,
  action: true,
  dryRun: true,
  outcome: true,
  evicted: true,
  skipped: true,
  blocked: true,
  failed: true,
  durationSeconds: true,
  timeLeftSeconds: true,
};

/** Every placeholder a template may name, in the order docs/notifications.md lists them. */
export const placeholderNames = Object.keys(placeholderSet) as readonly Placeholder[];

export function isPlaceholder(name: string): name is Placeholder {
  return Object.hasOwn(placeholderSet, name);
}

/** Milliseconds as seconds to a tenth (-1500 -> -1.5). */
function seconds(ms: number | undefined): number | null {
  return ms === undefined || !Number.isFinite(ms) ? null : Math.round(ms / 100) / 10;
}

/** The facts of a notification. */
export function notificationFacts(notification: Notification): NotificationFacts {
  const { info } = notification;
  const summary = notification.event === NotificationEvent.Finished ? notification.summary : undefined;
  const deadline =
    info.deadline === undefined || Number.isNaN(info.deadline.getTime()) ? null : info.deadline;
  return {
    event: notification.event,
    text: notificationWording(notification).text,
    cluster: info.clusterName,
    node: info.nodeName,
    instanceId: info.instanceId,
    kind: info.kind,
    notice: kindLabel(info.kind),
    eventId: info.eventId,
    deadline: deadline === null ? null : deadline.toISOString(),
    action: info.action === Action.Cordon ? Action.Cordon : Action.Drain,
    dryRun: info.dryRun === true,
    outcome: summary?.outcome ?? null,
    evicted: summary?.evicted ?? null,
    skipped: summary?.skipped ?? null,
    blocked: summary?.blocked ?? null,
    failed: summary?.failed ?? null,
    durationSeconds: seconds(summary?.durationMs),
    timeLeftSeconds: seconds(summary?.timeLeftMs),
  };
}
