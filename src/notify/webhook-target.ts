/**
 * What the webhook secret holds: a bare https URL (posted the Slack preset, as always), or a JSON
 * object that also says the format, a template and request headers:
 *
 *   {"url": "https://...", "format": "teams", "template": "{{cluster}}/{{node}}: {{outcome}}",
 *    "headers": {"X-Api-Key": "..."}}
 *
 * Pure: parsed once, when the secret is read. A reason it gives is safe to log: it names keys,
 * header names and placeholders, never the URL or a header's value (both may be credentials).
 */
import * as z from '../zod.js';
import { templateSyntax, WebhookFormat, webhookFormats } from './formats.js';
import { isHttpsUrl } from './secret-ref.js';
import { type CompiledTemplate, compileTemplate } from './template.js';

/** Where and how notifications are posted. */
export interface WebhookTarget {
  url: string;
  format: WebhookFormat;
  /** Replaces the format's preset; undefined: the preset. */
  template: CompiledTemplate | undefined;
  /** Added to every request, names in lower case. */
  headers: Readonly<Record<string, string>>;
}

/** A bare URL: the Slack preset and no extra headers. */
export function urlTarget(url: string): WebhookTarget {
  return { url, format: WebhookFormat.Slack, template: undefined, headers: {} };
}

const MAX_HEADERS = 20;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
// Visible ASCII, space and tab: no line break to smuggle a header in, nothing fetch would refuse.
const HEADER_VALUE = /^[\t\x20-\x7e]{0,4096}$/;
// Headers that say how the request is framed or where it goes: fetch sets them, nobody else.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

const secretSchema = z.strictObject({
  url: z.string({ error: 'expected a string' }),
  format: z.optional(z.enum(webhookFormats, { error: `expected one of ${webhookFormats.join(', ')}` })),
  template: z.optional(z.string({ error: 'expected a string' })),
  headers: z.optional(
    z.record(z.string(), z.string({ error: 'expected a string' }), {
      error: 'expected an object of header names to values',
    }),
  ),
});

/** A key quoted back in an error: short and printable. */
function quoteKey(key: string): string {
  const head = key.length > 40 ? `${key.slice(0, 40)}...` : key;
  return `"${head.replace(/[^\x20-\x7e]/g, '?')}"`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map(quoteKey).join(', ');
    return `unknown key ${keys} (the keys are url, format, template and headers)`;
  }
  const path = issue.path.map(String).join('.');
  return path === '' ? 'expected a JSON object' : `${path}: ${issue.message}`;
}

/** The headers, names in lower case; or why one is refused (by its name, never its value). */
function checkHeaders(
  headers: Record<string, string>,
): { headers: Record<string, string> } | { error: string } {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) return { error: `headers: more than ${MAX_HEADERS}` };
  const checked: Record<string, string> = {};
  for (const [index, [name, value]] of entries.entries()) {
    if (!HEADER_NAME.test(name)) {
      return { error: `headers: the name of header ${index + 1} is not an HTTP header name` };
    }
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) {
      return { error: `headers.${name}: may not be set (the HTTP client sets it)` };
    }
    if (Object.hasOwn(checked, lower)) return { error: `headers.${name}: given twice` };
    if (!HEADER_VALUE.test(value)) {
      return {
        error: `headers.${name}: the value holds a line break, a control or non-ASCII character, or is too long`,
      };
    }
    checked[lower] = value;
  }
  return { headers: checked };
}

function parseJsonSecret(value: string): WebhookTarget | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { error: 'starts like a JSON object but is not valid JSON' };
  }
  const result = secretSchema.safeParse(json);
  if (!result.success) return { error: describeIssue(result.error.issues[0]!) };
  const { url, format, template, headers } = result.data;
  if (!isHttpsUrl(url.trim())) return { error: 'url: is not an https URL' };
  if (template !== undefined && format === undefined) {
    return { error: `format: is required with a template (${webhookFormats.join(', ')})` };
  }
  const checked = checkHeaders(headers ?? {});
  if ('error' in checked) return checked;
  const target: WebhookTarget = {
    url: url.trim(),
    format: format ?? WebhookFormat.Slack,
    template: undefined,
    headers: checked.headers,
  };
  if (template === undefined) return target;
  const compiled = compileTemplate(template, templateSyntax(target.format));
  if ('error' in compiled) return { error: `template: ${compiled.error}` };
  return { ...target, template: compiled };
}

/**
 * Reads the secret's value: a bare https URL, or a JSON object with `url` and optionally `format`
 * (slack, teams, chime, json; slack when omitted), `template` and `headers`. Returns the target, or
 * why the value is refused: safe to log, it never quotes the URL or a header's value.
 */
export function parseWebhookSecret(value: string): WebhookTarget | { error: string } {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) return parseJsonSecret(trimmed);
  return isHttpsUrl(trimmed) ? urlTarget(trimmed) : { error: 'does not hold an https URL' };
}
