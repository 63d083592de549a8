/**
 * What each webhook format posts: a preset body, or the user's template in the format's envelope.
 *
 * - `slack`: `{"text", "blocks"}` (Slack incoming webhooks, and receivers that read Slack's `text`).
 * - `teams`: a message with one Adaptive Card, which Teams Workflows ("When a Teams webhook request is
 *   received") and the older Incoming Webhook connectors both post.
 * - `chime`: `{"Content"}` (Amazon Chime room webhooks).
 * - `json`: the notification's facts (facts.ts) as one flat object, for receivers of one's own.
 *
 * With a template, `json` posts the rendered template as the body; the others post it as the text
 * of their message.
 */
import { notificationFacts } from './facts.js';
import {
  deadlineText,
  escapeMarkup,
  isSettled,
  kindLabel,
  notificationWording,
  slackMessage,
} from './message.js';
import { type CompiledTemplate, renderTemplate, TemplateSyntax } from './template.js';
import { type Notification, NotificationEvent } from './types.js';

export const WebhookFormat = { Slack: 'slack', Teams: 'teams', Chime: 'chime', Json: 'json' } as const;
export type WebhookFormat = (typeof WebhookFormat)[keyof typeof WebhookFormat];

export const webhookFormats = Object.values(WebhookFormat);

/** How a format's template is read: a json template is the body, the others a message's text. */
export function templateSyntax(format: WebhookFormat): TemplateSyntax {
  return format === WebhookFormat.Json ? TemplateSyntax.Json : TemplateSyntax.Text;
}

/** An Adaptive Card element; only the few the presets use. */
type CardElement =
  | { type: 'TextBlock'; text: string; wrap: true; weight?: 'Bolder'; color?: 'Good' | 'Attention' }
  | { type: 'FactSet'; facts: { title: string; value: string }[] };

/** A Teams message carrying one Adaptive Card (1.4: what Teams renders on desktop, web and mobile). */
function teamsMessage(body: CardElement[]) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
        },
      },
    ],
  };
}

function teamsCard(notification: Notification) {
  const { info } = notification;
  const { headline, detail } = notificationWording(notification);
  const color =
    notification.event === NotificationEvent.Started
      ? undefined
      : isSettled(notification.summary)
        ? 'Good'
        : 'Attention';
  const facts = [
    { title: 'Cluster', value: info.clusterName },
    { title: 'Node', value: info.nodeName },
    { title: 'Instance', value: info.instanceId },
    { title: 'Notice', value: kindLabel(info.kind) },
    { title: 'Deadline', value: deadlineText(info.deadline) },
    { title: 'Event', value: info.eventId },
  ];
  return teamsMessage([
    { type: 'TextBlock', text: headline, wrap: true, weight: 'Bolder', ...(color ? { color } : {}) },
    ...(detail === undefined ? [] : [{ type: 'TextBlock' as const, text: detail, wrap: true as const }]),
    { type: 'FactSet', facts },
  ]);
}

const presets: Record<WebhookFormat, (notification: Notification) => unknown> = {
  [WebhookFormat.Slack]: slackMessage,
  [WebhookFormat.Teams]: teamsCard,
  [WebhookFormat.Chime]: (notification) => ({ Content: notificationWording(notification).text }),
  [WebhookFormat.Json]: notificationFacts,
};

/** The chat formats' envelopes around a template's text. */
const envelopes: Record<Exclude<WebhookFormat, 'json'>, (text: string) => unknown> = {
  [WebhookFormat.Slack]: (text) => ({ text }),
  [WebhookFormat.Teams]: (text) => teamsMessage([{ type: 'TextBlock', text, wrap: true }]),
  [WebhookFormat.Chime]: (text) => ({ Content: text }),
};

/**
 * The JSON body a notification posts in `format`: its preset, or `template` filled in from the
 * notification's facts (Slack's markup escaped in Slack texts, JSON-escaped in json templates).
 */
export function renderBody(
  format: WebhookFormat,
  template: CompiledTemplate | undefined,
  notification: Notification,
): string {
  if (template === undefined) return JSON.stringify(presets[format](notification));
  const facts = notificationFacts(notification);
  if (format === WebhookFormat.Json) return renderTemplate(template, facts);
  const text = renderTemplate(template, facts, format === WebhookFormat.Slack ? escapeMarkup : undefined);
  return JSON.stringify(envelopes[format](text));
}
