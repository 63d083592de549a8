/**
 * What a drain notification says. Plain data, filled in by the caller from its notice, target and
 * drain result, so src/notify depends on nothing but the shared kinds.
 */
import type { Action, NoticeKind } from '../types.js';

/** The node a drain is about, and why. */
export interface DrainInfo {
  clusterName: string;
  nodeName: string;
  instanceId: string;
  kind: NoticeKind;
  /** The EventBridge event id, to find the invocation's logs. */
  eventId: string;
  /** When the instance is expected to be gone; undefined when the notice sets no hard limit. */
  deadline: Date | undefined;
  /** Cordon or drain; drain when omitted. */
  action?: Action;
  dryRun?: boolean;
}

/** How a drain ended, in counts. */
export interface DrainSummary {
  /** The drain's outcome, e.g. `drained`, `deadline-reached`, `incomplete`. */
  outcome: string;
  evicted: number;
  skipped: number;
  /** Pods a PodDisruptionBudget kept on the node until the deadline. */
  blocked: number;
  failed: number;
  durationMs: number;
  /** Milliseconds left before the deadline (negative: overran); undefined without a deadline. */
  timeLeftMs: number | undefined;
}

/** What became of one notification. Never an exception: the caller logs it and moves on. */
export type NotifyStatus =
  /** No webhook is configured. */
  | { status: 'disabled' }
  | { status: 'sent'; httpStatus: number }
  /** Not delivered; `reason` is safe to log (it never holds the URL). */
  | { status: 'failed'; reason: string; httpStatus?: number };

/** Sends drain notifications; every method resolves, none throws. */
export interface Notifier {
  drainStarted(info: DrainInfo): Promise<NotifyStatus>;
  drainFinished(info: DrainInfo, summary: DrainSummary): Promise<NotifyStatus>;
}

/** The two moments a notification is sent at. */
export const NotificationEvent = { Started: 'drain-started', Finished: 'drain-finished' } as const;
export type NotificationEvent = (typeof NotificationEvent)[keyof typeof NotificationEvent];

/** One notification, as every format renders it: a drain began, or it ended with its summary. */
export type Notification =
  | { event: typeof NotificationEvent.Started; info: DrainInfo }
  | { event: typeof NotificationEvent.Finished; info: DrainInfo; summary: DrainSummary };
