/**
 * Slack-compatible messages about drains: `text` says everything on its own (it is what
 * notifications and non-Slack receivers show); `blocks` lays the same facts out for Slack.
 */
import { Action, NoticeKind } from '../types.js';
import type { DrainInfo, DrainSummary } from './types.js';

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

// Outcomes that mean the node is safe to lose; anything else asks a human to look.
const settledOutcomes = new Set(['drained', 'cordoned', 'already-done', 'in-progress-elsewhere', 'dry-run']);

/** Slack reads &, < and > as markup; node names and ids never need it, but a stray one must not break a message. */
function escapeMarkup(value: string): string {
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

function kindLabel(kind: NoticeKind): string {
  return kindLabels[kind] ?? kind;
}

function deadlineText(deadline: Date | undefined): string {
  return deadline === undefined || Number.isNaN(deadline.getTime()) ? 'none' : deadline.toISOString();
}

function verb(info: DrainInfo): string {
  const cordon = info.action === Action.Cordon;
  if (info.dryRun) return cordon ? 'Dry run: would cordon' : 'Dry run: would drain';
  return cordon ? 'Cordoning' : 'Draining';
}

function nodeText(info: DrainInfo): string {
  return `node ${escapeMarkup(info.nodeName)} (${escapeMarkup(info.instanceId)}) in cluster ${escapeMarkup(info.clusterName)}`;
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

/** The message sent when a drain (or cordon) begins. */
export function drainStartedMessage(info: DrainInfo): SlackMessage {
  const headline = `${verb(info)} ${nodeText(info)}`;
  const text = `${headline}: ${escapeMarkup(kindLabel(info.kind))}, deadline ${deadlineText(info.deadline)}.`;
  return {
    text,
    blocks: [{ type: 'section', text: mrkdwn(`:rotating_light: *${headline}*`) }, factFields(info)],
  };
}

function spareText(timeLeftMs: number | undefined): string {
  if (timeLeftMs === undefined) return '';
  return timeLeftMs >= 0
    ? `; ${formatDuration(timeLeftMs)} before the deadline`
    : `; ${formatDuration(timeLeftMs)} past the deadline`;
}

/** The message sent when a drain has ended, whatever its outcome. */
export function drainFinishedMessage(info: DrainInfo, summary: DrainSummary): SlackMessage {
  const settled = settledOutcomes.has(summary.outcome) && summary.failed === 0 && summary.blocked === 0;
  const counts =
    `${summary.evicted} evicted, ${summary.skipped} skipped, ` +
    `${summary.blocked} blocked, ${summary.failed} failed`;
  const headline = `${escapeMarkup(summary.outcome)}: ${nodeText(info)} after ${formatDuration(summary.durationMs)}`;
  const detail = `${counts}${spareText(summary.timeLeftMs)}`;
  const text = `${info.dryRun ? 'Dry run ' : ''}${headline} (${escapeMarkup(kindLabel(info.kind))}): ${detail}.`;
  const icon = settled ? ':white_check_mark:' : ':warning:';
  return {
    text,
    blocks: [{ type: 'section', text: mrkdwn(`${icon} *${headline}*\n${detail}`) }, factFields(info)],
  };
}
