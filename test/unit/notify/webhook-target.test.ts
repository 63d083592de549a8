import { describe, expect, it } from 'vitest';
import { TemplateSyntax } from '../../../src/notify/template.js';
import { parseWebhookSecret, urlTarget } from '../../../src/notify/webhook-target.js';

// Both are credentials: no reason may quote them.
const URL_SECRET = 'https://hooks.example.com/services/T0/B0/XXXXsecretXXXX';
const HEADER_SECRET = 'Bearer tok-XXXXsecretXXXX';

const json = (value: Record<string, unknown>) => JSON.stringify({ url: URL_SECRET, ...value });

describe('parseWebhookSecret', () => {
  it.each([
    ['a bare URL', URL_SECRET],
    ['a bare URL with a trailing newline', `${URL_SECRET}\n`],
    ['a JSON object with the URL only', JSON.stringify({ url: URL_SECRET })],
  ])('reads %s as the Slack preset, as before formats', (_, value) => {
    // Act
    const target = parseWebhookSecret(value);

    // Assess
    expect(target).toEqual(urlTarget(URL_SECRET));
    expect(target).toEqual({ url: URL_SECRET, format: 'slack', template: undefined, headers: {} });
  });

  it.each(['slack', 'teams', 'chime', 'json'] as const)('reads the %s preset', (format) => {
    // Act
    const target = parseWebhookSecret(json({ format }));

    // Assess
    expect(target).toEqual({ url: URL_SECRET, format, template: undefined, headers: {} });
  });

  it.each([
    ['teams', '{{cluster}}/{{node}}: {{outcome}}', TemplateSyntax.Text],
    ['json', '{"summary": "{{text}}", "evicted": {{evicted}}}', TemplateSyntax.Json],
  ])('compiles a %s template in its syntax', (format, template, syntax) => {
    // Act
    const target = parseWebhookSecret(json({ format, template }));

    // Assess
    expect(target).toMatchObject({ format, template: { syntax } });
  });

  it('keeps headers with their names in lower case', () => {
    // Act
    const target = parseWebhookSecret(
      json({
        format: 'json',
        headers: { Authorization: HEADER_SECRET, 'Content-Type': 'application/json; v=2' },
      }),
    );

    // Assess
    expect(target).toMatchObject({
      headers: { authorization: HEADER_SECRET, 'content-type': 'application/json; v=2' },
    });
  });

  it.each([
    ['an http URL', 'http://hooks.example.com/services/T0/B0/XXXXsecretXXXX', 'does not hold an https URL'],
    ['something that is not a URL', 'XXXXsecretXXXX', 'does not hold an https URL'],
    [
      'JSON that does not parse',
      `{"url": "${URL_SECRET}",}`,
      'starts like a JSON object but is not valid JSON',
    ],
    [
      'an http URL in JSON',
      JSON.stringify({ url: URL_SECRET.replace('https', 'http') }),
      'url: is not an https URL',
    ],
    ['JSON without a URL', JSON.stringify({ format: 'teams' }), 'url: expected a string'],
    ['an unknown format', json({ format: 'discord' }), 'format: expected one of slack, teams, chime, json'],
    [
      'a misspelt key',
      json({ header: {} }),
      'unknown key "header" (the keys are url, format, template and headers)',
    ],
    ['a template without a format', json({ template: '{{node}}' }), 'format: is required with a template'],
    [
      'a template that is not a string',
      json({ format: 'json', template: { text: 1 } }),
      'template: expected a string',
    ],
    [
      'a template naming an unknown placeholder',
      json({ format: 'teams', template: 'Node {{nodeName}} is gone', headers: { 'X-Token': HEADER_SECRET } }),
      'template: {{nodeName}} is not a placeholder (did you mean {{node}}?)',
    ],
    [
      'a json template that is not JSON once filled in',
      json({ format: 'json', template: '{"text": "{{node}}" "x": 1}' }),
      'template: is not valid JSON once its placeholders are filled in',
    ],
    [
      'headers that are not an object',
      json({ headers: ['a'] }),
      'headers: expected an object of header names to values',
    ],
    [
      'a header value that is not a string',
      json({ headers: { 'X-Count': 1 } }),
      'headers.X-Count: expected a string',
    ],
    ['a Host header', json({ headers: { Host: 'evil.example.com' } }), 'headers.Host: may not be set'],
    [
      'a Content-Length header',
      json({ headers: { 'content-length': '1' } }),
      'headers.content-length: may not be set',
    ],
    ['a Transfer-Encoding header', json({ headers: { 'Transfer-Encoding': 'chunked' } }), 'may not be set'],
    [
      'a header given twice',
      json({ headers: { 'X-Token': HEADER_SECRET, 'x-token': HEADER_SECRET } }),
      'headers.x-token: given twice',
    ],
    [
      'a header value with a line break',
      json({ headers: { 'X-Token': `${HEADER_SECRET}\r\nX-Evil: 1` } }),
      'headers.X-Token: the value holds a line break',
    ],
    [
      'a header name that is no HTTP token',
      json({ headers: { [`Bad Name ${HEADER_SECRET}`]: 'x' } }),
      'headers: the name of header 1 is not an HTTP header name',
    ],
    [
      'too many headers',
      json({ headers: Object.fromEntries([...Array(21)].map((_, i) => [`x-${i}`, 'v'])) }),
      'headers: more than 20',
    ],
  ])('refuses %s, never quoting the URL or a header value', (_, value, reason) => {
    // Act
    const result = parseWebhookSecret(value);

    // Assess
    expect(result).toEqual({ error: expect.stringContaining(reason) });
    expect(JSON.stringify(result)).not.toMatch(/XXXXsecretXXXX|hooks\.example\.com|evil/);
  });
});
