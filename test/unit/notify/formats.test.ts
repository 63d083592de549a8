import { describe, expect, it } from 'vitest';
import { renderBody, templateSyntax, WebhookFormat } from '../../../src/notify/formats.js';
import { type CompiledTemplate, compileTemplate } from '../../../src/notify/template.js';
import { type Notification, NotificationEvent } from '../../../src/notify/types.js';
import { sampleInfo, sampleSummary } from './sample.js';

const info = sampleInfo;

const summary = sampleSummary();

const started: Notification = { event: NotificationEvent.Started, info };
const finished: Notification = { event: NotificationEvent.Finished, info, summary };

const facts = [
  { title: 'Cluster', value: 'prod-a' },
  { title: 'Node', value: 'ip-10-0-1-5.ec2.internal' },
  { title: 'Instance', value: 'i-0123456789abcdef0' },
  { title: 'Notice', value: 'Spot interruption warning' },
  { title: 'Deadline', value: '2025-03-01T12:02:00.000Z' },
  { title: 'Event', value: 'a1b2c3d4-0000-4000-8000-000000000001' },
];

/** A Teams message around the given Adaptive Card body. */
function teamsMessage(body: unknown[]) {
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

function template(format: WebhookFormat, source: string): CompiledTemplate {
  const result = compileTemplate(source, templateSyntax(format));
  if ('error' in result) throw new Error(`refused: ${result.error}`);
  return result;
}

describe('renderBody with a preset', () => {
  it.each([
    [
      WebhookFormat.Teams,
      'finished',
      finished,
      teamsMessage([
        {
          type: 'TextBlock',
          text: 'drained: node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a after 9.0 s',
          wrap: true,
          weight: 'Bolder',
          color: 'Good',
        },
        {
          type: 'TextBlock',
          text: '4 evicted, 2 skipped, 0 blocked, 0 failed; 1 min 20 s before the deadline',
          wrap: true,
        },
        { type: 'FactSet', facts },
      ]),
    ],
    [
      WebhookFormat.Teams,
      'started',
      started,
      teamsMessage([
        {
          type: 'TextBlock',
          text: 'Draining node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a',
          wrap: true,
          weight: 'Bolder',
        },
        { type: 'FactSet', facts },
      ]),
    ],
    [
      WebhookFormat.Chime,
      'started',
      started,
      {
        Content:
          'Draining node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a: ' +
          'Spot interruption warning, deadline 2025-03-01T12:02:00.000Z.',
      },
    ],
    [
      WebhookFormat.Chime,
      'finished',
      finished,
      {
        Content:
          'drained: node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a after 9.0 s ' +
          '(Spot interruption warning): 4 evicted, 2 skipped, 0 blocked, 0 failed; 1 min 20 s before the deadline.',
      },
    ],
    [
      WebhookFormat.Json,
      'finished',
      finished,
      expect.objectContaining({
        event: 'drain-finished',
        cluster: 'prod-a',
        node: 'ip-10-0-1-5.ec2.internal',
        outcome: 'drained',
        evicted: 4,
        timeLeftSeconds: 80,
      }),
    ],
    [
      WebhookFormat.Slack,
      'started',
      started,
      {
        text: expect.stringMatching(/^Draining node ip-10-0-1-5\.ec2\.internal/),
        blocks: [expect.objectContaining({ type: 'section' }), expect.objectContaining({ type: 'section' })],
      },
    ],
  ])('posts the %s preset of a drain %s', (format, _, notification, expected) => {
    // Act
    const body = renderBody(format, undefined, notification);

    // Assess
    expect(JSON.parse(body)).toEqual(expected);
  });

  it('colours a Teams card that needs a human to look', () => {
    // Act
    const body = renderBody(WebhookFormat.Teams, undefined, {
      ...finished,
      summary: { ...summary, outcome: 'deadline-reached', blocked: 1 },
    });

    // Assess
    expect(JSON.parse(body).attachments[0].content.body[0].color).toBe('Attention');
  });

  it('posts the facts of a drain as the json preset, the same keys a template can name', () => {
    // Act
    const body = JSON.parse(renderBody(WebhookFormat.Json, undefined, started));

    // Assess
    expect(Object.keys(body)).toEqual([
      'event',
      'text',
      'cluster',
      'node',
      'instanceId',
      'kind',
      'notice',
      'eventId',
      'deadline',
      'action',
      'dryRun',
      'outcome',
      'evicted',
      'skipped',
      'blocked',
      'failed',
      'durationSeconds',
      'timeLeftSeconds',
    ]);
  });
});

describe('renderBody with a template', () => {
  const line = '{{cluster}}/{{node}}: {{outcome}}, {{evicted}} evicted';

  it.each([
    [
      WebhookFormat.Teams,
      line,
      teamsMessage([{ type: 'TextBlock', text: 'prod-a/a<b>"c: drained, 4 evicted', wrap: true }]),
    ],
    [WebhookFormat.Chime, line, { Content: 'prod-a/a<b>"c: drained, 4 evicted' }],
    [WebhookFormat.Slack, line, { text: 'prod-a/a&lt;b&gt;"c: drained, 4 evicted' }],
    [
      WebhookFormat.Json,
      '{"title": "{{cluster}}/{{node}}", "status": {{outcome}}, "counts": {"evicted": {{evicted}}}}',
      { title: 'prod-a/a<b>"c', status: 'drained', counts: { evicted: 4 } },
    ],
  ])('renders a %s template, each value escaped for the format', (format, source, expected) => {
    // Prepare
    const notification: Notification = { ...finished, info: { ...info, nodeName: 'a<b>"c' } };

    // Act
    const body = renderBody(format, template(format, source), notification);

    // Assess
    expect(JSON.parse(body)).toEqual(expected);
  });

  it('posts a Teams Adaptive Card written as a json template, with the facts JSON-escaped', () => {
    // Prepare: the card a Teams Workflow ("When a Teams webhook request is received") posts as it is.
    const card = `{
      "type": "message",
      "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {
          "type": "AdaptiveCard", "version": "1.4",
          "body": [
            {"type": "TextBlock", "text": "{{outcome}}: {{node}}", "weight": "Bolder", "wrap": true},
            {"type": "FactSet", "facts": [{"title": "Evicted", "value": "{{evicted}}"}]}
          ]
        }
      }]
    }`;
    const notification: Notification = { ...finished, info: { ...info, nodeName: 'x"}]}' } };

    // Act
    const body = JSON.parse(renderBody(WebhookFormat.Json, template(WebhookFormat.Json, card), notification));

    // Assess
    expect(body.attachments[0].content.body).toEqual([
      { type: 'TextBlock', text: 'drained: x"}]}', weight: 'Bolder', wrap: true },
      { type: 'FactSet', facts: [{ title: 'Evicted', value: '4' }] },
    ]);
  });
});
