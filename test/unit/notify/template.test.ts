import { describe, expect, it } from 'vitest';
import { type NotificationFacts, notificationFacts } from '../../../src/notify/facts.js';
import {
  type CompiledTemplate,
  compileTemplate,
  MAX_TEMPLATE_LENGTH,
  renderTemplate,
  TemplateSyntax,
} from '../../../src/notify/template.js';
import { NotificationEvent } from '../../../src/notify/types.js';
import { sampleInfo } from './sample.js';

const info = sampleInfo;

const finished: NotificationFacts = notificationFacts({
  event: NotificationEvent.Finished,
  info,
  summary: {
    outcome: 'drained',
    evicted: 4,
    skipped: 2,
    blocked: 0,
    failed: 0,
    durationMs: 9_040,
    timeLeftMs: 80_000,
  },
});

const started: NotificationFacts = notificationFacts({ event: NotificationEvent.Started, info });

/** The compiled template, failing the test with the reason when it is refused. */
function compiled(source: string, syntax: TemplateSyntax): CompiledTemplate {
  const result = compileTemplate(source, syntax);
  if ('error' in result) throw new Error(`refused: ${result.error}`);
  return result;
}

describe('compileTemplate', () => {
  it.each([
    [
      'an unknown placeholder',
      '{"text": "{{nodeName}}"}',
      TemplateSyntax.Json,
      /^\{\{nodeName\}\} is not a placeholder/,
    ],
    [
      'a near miss, with a hint',
      '{{instanceID}} went',
      TemplateSyntax.Text,
      /\{\{instanceID\}\}.*did you mean \{\{instanceId\}\}/,
    ],
    [
      'an NTH Go template field',
      '{{ .NodeName }} drained',
      TemplateSyntax.Text,
      /\{\{\.NodeName\}\}.*did you mean \{\{node\}\}/,
    ],
    [
      'an NTH pipeline',
      '{{ .Kind | upper }}',
      TemplateSyntax.Text,
      /\{\{\.Kind \| upper\}\} is not a placeholder/,
    ],
    [
      'a placeholder without its end',
      '{"text": "{{node"}',
      TemplateSyntax.Json,
      /the \{\{ at character 11 has no closing \}\}/,
    ],
    [
      'a placeholder glued to text outside a string',
      '{"text": x{{node}}}',
      TemplateSyntax.Json,
      /\{\{node\}\} at character 11 is outside a JSON string but not a whole value/,
    ],
    [
      'a placeholder as an object key outside a string',
      '{ {{node}}: 1 }',
      TemplateSyntax.Json,
      /\{\{node\}\} at character 3 is outside a JSON string/,
    ],
    [
      'a missing comma',
      '{"a": "{{node}}" "b": 1}',
      TemplateSyntax.Json,
      /is not valid JSON once its placeholders are filled in/,
    ],
    ['an unclosed string', '{"text": "{{node}}}', TemplateSyntax.Json, /is not valid JSON/],
    ['a trailing comma', '{"n": {{evicted}},}', TemplateSyntax.Json, /is not valid JSON/],
    ['an empty template', '  \n ', TemplateSyntax.Text, /^is empty$/],
    [
      'an overlong template',
      'x'.repeat(MAX_TEMPLATE_LENGTH + 1),
      TemplateSyntax.Text,
      /is longer than 16384 characters/,
    ],
  ])('refuses %s, saying why', (_, source, syntax, reason) => {
    // Act
    const result = compileTemplate(source, syntax);

    // Assess
    expect(result).toEqual({ error: expect.stringMatching(reason) });
  });

  it('lists every placeholder when one is unknown', () => {
    // Act
    const result = compileTemplate('{{nope}}', TemplateSyntax.Text);

    // Assess
    expect(result).toEqual({
      error:
        '{{nope}} is not a placeholder; the placeholders are event, text, cluster, node, instanceId, kind, ' +
        'notice, eventId, deadline, action, dryRun, outcome, evicted, skipped, blocked, failed, ' +
        'durationSeconds, timeLeftSeconds',
    });
  });

  it('quotes at most 40 printable characters of what is between the braces', () => {
    // Act
    const result = compileTemplate(`{{${'a'.repeat(60)}\u0007}}`, TemplateSyntax.Text);

    // Assess
    expect(result).toEqual({ error: expect.stringMatching(/^\{\{a{40}\.\.\.\}\} is not a placeholder/) });
  });

  it.each([
    ['a placeholder in a string', '{"text": "{{node}} is gone"}'],
    [
      'placeholders as values',
      '{"n": {{evicted}}, "ok": [{{dryRun}}, {{deadline}}], "o": {"x": {{outcome}}}}',
    ],
    ['a placeholder as the whole body', '{{text}}'],
    ['spaces inside the braces', '{"text": "{{ node }}"}'],
    ['braces in JSON that are not placeholders', '{"a": {"b": {}}}'],
    ['a placeholder in a key', '{"{{cluster}}": "{{node}}"}'],
    ['an escaped quote before a placeholder', '{"text": "\\"{{node}}\\""}'],
  ])('accepts a JSON template with %s', (_, source) => {
    // Act
    const result = compileTemplate(source, TemplateSyntax.Json);

    // Assess
    expect(result).not.toHaveProperty('error');
  });

  it('accepts any text with known placeholders as a text template (it is no JSON)', () => {
    // Act
    const result = compileTemplate('"{{node}}" {unbalanced: [', TemplateSyntax.Text);

    // Assess
    expect(result).not.toHaveProperty('error');
  });
});

describe('renderTemplate', () => {
  it.each([
    [
      'fills in strings and numbers, JSON-typed where a placeholder stands as a value',
      '{"summary": "{{cluster}}/{{node}}: {{outcome}}", "evicted": {{evicted}}, "dryRun": {{dryRun}}, "left": {{timeLeftSeconds}}}',
      finished,
      { summary: 'prod-a/ip-10-0-1-5.ec2.internal: drained', evicted: 4, dryRun: false, left: 80 },
    ],
    [
      'leaves what a starting drain has not got empty in a string and null as a value',
      '{"t": "[{{outcome}}]", "outcome": {{outcome}}, "evicted": {{evicted}}, "event": {{event}}}',
      started,
      { t: '[]', outcome: null, evicted: null, event: 'drain-started' },
    ],
    [
      'quotes a string that stands as a value',
      '{"node": {{node}}, "took": {{durationSeconds}}}',
      finished,
      { node: 'ip-10-0-1-5.ec2.internal', took: 9 },
    ],
  ])('%s', (_, source, facts, expected) => {
    // Prepare
    const template = compiled(source, TemplateSyntax.Json);

    // Act
    const body = renderTemplate(template, facts);

    // Assess
    expect(JSON.parse(body)).toEqual(expected);
  });

  it('JSON-escapes quotes, backslashes, newlines and control characters in a JSON template', () => {
    // Prepare
    const template = compiled('{"text": "node {{node}}!", "raw": {{node}}}', TemplateSyntax.Json);
    const node = 'a"b\\c\nd\u0001e\u2028"}, "injected": true, "x": "';

    // Act
    const body = renderTemplate(template, { ...finished, node });

    // Assess
    expect(JSON.parse(body)).toEqual({ text: `node ${node}!`, raw: node });
  });

  it('applies the escape of a text template to each value, not to the template', () => {
    // Prepare
    const template = compiled('*{{node}}* <!here>', TemplateSyntax.Text);

    // Act
    const text = renderTemplate(template, { ...finished, node: 'a<b>&c' }, (v) => v.replace(/</g, '&lt;'));

    // Assess
    expect(text).toBe('*a&lt;b>&c* <!here>');
  });

  it('writes numbers, booleans and missing facts of a text template as words', () => {
    // Prepare
    const template = compiled(
      '{{evicted}} evicted, dry run {{dryRun}}, outcome "{{outcome}}"',
      TemplateSyntax.Text,
    );

    // Act
    const texts = [renderTemplate(template, finished), renderTemplate(template, started)];

    // Assess
    expect(texts).toEqual([
      '4 evicted, dry run false, outcome "drained"',
      ' evicted, dry run false, outcome ""',
    ]);
  });
});
