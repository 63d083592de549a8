/**
 * The words of a drain notification, and the Slack message made of them: `text` says everything on
 * its own (it is what notifications and non-Slack receivers show); `blocks` lays the same facts out
 * for Slack. The other formats (formats.ts) reuse the words through {@link notificationWording}.
 */
import { Action, NoticeKind } from '../types.js';
import { type DrainInfo, type DrainSummary, type Notification, NotificationEvent } from './types.js';

export interface SlackText {
  type: 'mrkdwn';
  text: string;
}

export type SlackBlock = { type: 'section'; text: SlackText } | { type: 'section'; fields: SlackText[] };

/** The JSON body posted to the webhook. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const kindLabels: Record<NoticeKind, string> = {
  [NoticeKind.SpotInterruption]: 'Spot interruption warning',
  [NoticeKind.RebalanceRecommendation]: 'rebalance recommendation',
  [NoticeKind.StateChange]: 'EC2 state change',
  [NoticeKind.ScheduledChange]: 'AWS Health scheduled change',
  [NoticeKind.AsgTerminate]: 'Auto Scaling terminate lifecycle action',
  [NoticeKind.CapacityReservationInterruption]: 'capacity reservation interruption warning',
};

// Outcomes that mean the node is safe to lose (see isSettled).
const settledOutcomes = new Set(['drained', 'cordoned', 'already-done', 'in-progress-elsewhere', 'dry-run']);

/** Slack reads &, < and > as markup; node names and ids never need it, but a stray one must not break a message. */
export function escapeMarkup(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function mrkdwn(text: string): SlackText {
  return { type: 'mrkdwn', text };
}

/** 850 -> "0.9 s", 41234 -> "41.2 s", 125000 -> "2 min 5 s". */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  // Rounded in integers: toFixed on 0.85 gives "0.8", and 59.96 s must not print as "60.0 s".
  const tenths = Math.round(abs / 100);
  if (tenths < 600) return `${Math.floor(tenths / 10)}.${tenths % 10} s`;
  const seconds = Math.round(abs / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** The notice kind in words, e.g. "Spot interruption warning". */
export function kindLabel(kind: NoticeKind): string {
  return kindLabels[kind] ?? kind;
}

/** The deadline as an ISO time, or "none". */
export function deadlineText(deadline: Date | undefined): string {
  return deadline === undefined || Number.isNaN(deadline.getTime()) ? 'none' : deadline.toISOString();
}

function verb(info: DrainInfo): string {
  const cordon = info.action === Action.Cordon;
  if (info.dryRun) return cordon ? 'Dry run: would cordon' : 'Dry run: would drain';
  return cordon ? 'Cordoning' : 'Draining';
}

type Escape = (value: string) => string;
const asIs: Escape = (value) => value;

function nodeText(info: DrainInfo, escapeName: Escape): string {
  return `node ${escapeName(info.nodeName)} (${escapeName(info.instanceId)}) in cluster ${escapeName(info.clusterName)}`;
}

/** Whether a finished drain left the node safe to lose; anything else asks a human to look. */
export function isSettled(summary: DrainSummary): boolean {
  return settledOutcomes.has(summary.outcome) && summary.failed === 0 && summary.blocked === 0;
}

function spareText(timeLeftMs: number | undefined): string {
  if (timeLeftMs === undefined) return '';
  return timeLeftMs >= 0
    ? `; ${formatDuration(timeLeftMs)} before the deadline`
    : `; ${formatDuration(timeLeftMs)} past the deadline`;
}

/** A notification in words: a headline, the counts (when finished), and one sentence with both. */
export interface NotificationWording {
  headline: string;
  /** Counts and time to spare; undefined when the drain is only starting. */
  detail: string | undefined;
  /** Everything on one line: what chat notifications and plain receivers show. */
  text: string;
}

/**
 * The words of a notification; `escapeName` is applied to every name, id and outcome (Slack's markup
 * escape for Slack, nothing for the other formats).
 */
export function notificationWording(
  notification: Notification,
  escapeName: Escape = asIs,
): NotificationWording {
  const { info } = notification;
  const kind = escapeName(kindLabel(info.kind));
  if (notification.event === NotificationEvent.Started) {
    const headline = `${verb(info)} ${nodeText(info, escapeName)}`;
    return {
      headline,
      detail: undefined,
      text: `${headline}: ${kind}, deadline ${deadlineText(info.deadline)}.`,
    };
  }
  const { summary } = notification;
  const counts =
    `${summary.evicted} evicted, ${summary.skipped} skipped, ` +
    `${summary.blocked} blocked, ${summary.failed} failed`;
  const headline = `${escapeName(summary.outcome)}: ${nodeText(info, escapeName)} after ${formatDuration(summary.durationMs)}`;
  const detail = `${counts}${spareText(summary.timeLeftMs)}`;
  const text = `${info.dryRun ? 'Dry run ' : ''}${headline} (${kind}): ${detail}.`;
  return { headline, detail, text };
}

function factFields(info: DrainInfo): SlackBlock {
  return {
    type: 'section',
    fields: [
      mrkdwn(`*Cluster*\n${escapeMarkup(info.clusterName)}`),
      mrkdwn(`*Node*\n${escapeMarkup(info.nodeName)}`),
      mrkdwn(`*Instance*\n${escapeMarkup(info.instanceId)}`),
      mrkdwn(`*Notice*\n${escapeMarkup(kindLabel(info.kind))}`),
      mrkdwn(`*Deadline*\n${deadlineText(info.deadline)}`),
      mrkdwn(`*Event*\n${escapeMarkup(info.eventId)}`),
    ],
  };
}

/** The Slack message of a notification: the format `slack`, and what a bare-URL secret gets. */
export function slackMessage(notification: Notification): SlackMessage {
  const { headline, detail, text } = notificationWording(notification, escapeMarkup);
  const fields = factFields(notification.info);
  if (notification.event === NotificationEvent.Started) {
    return { text, blocks: [{ type: 'section', text: mrkdwn(`:rotating_light: *${headline}*`) }, fields] };
  }
  const icon = isSettled(notification.summary) ? ':white_check_mark:' : ':warning:';
  return { text, blocks: [{ type: 'section', text: mrkdwn(`${icon} *${headline}*\n${detail}`) }, fields] };
}

/** The message sent when a drain (or cordon) begins. */
export function drainStartedMessage(info: DrainInfo): SlackMessage {
  return slackMessage({ event: NotificationEvent.Started, info });
}

/** The message sent when a drain has ended, whatever its outcome. */
export function drainFinishedMessage(info: DrainInfo, summary: DrainSummary): SlackMessage {
  return slackMessage({ event: NotificationEvent.Finished, info, summary });
}
