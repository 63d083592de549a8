/**
 * User templates: text with named placeholders (`{{node}}`, `{{ outcome }}`) filled in from a
 * notification's facts (facts.ts). Pure; compiled once, when the secret is read, so that a bad
 * template is refused there, naming what is wrong, and rendering cannot fail.
 *
 * - A `json` template is the whole request body. A placeholder inside a JSON string is filled in
 *   JSON-escaped; one that stands as a value becomes a JSON value (`4`, `"drained"`, `true`, `null`).
 * - A `text` template is a chat message's text; its format puts it in a JSON envelope.
 */
import {
  type FactValue,
  isPlaceholder,
  type NotificationFacts,
  type Placeholder,
  placeholderNames,
} from './facts.js';

/** How a template's text is read. */
export const TemplateSyntax = { Json: 'json', Text: 'text' } as const;
export type TemplateSyntax = (typeof TemplateSyntax)[keyof typeof TemplateSyntax];

/** Where a placeholder stands; `inString` only in a json template. */
interface Slot {
  placeholder: Placeholder;
  inString: boolean;
}

/** A checked template: literal text and slots, in order. */
export interface CompiledTemplate {
  readonly syntax: TemplateSyntax;
  readonly parts: readonly (string | Slot)[];
}

/** Longer than any chat message needs; SSM SecureStrings hold 4 KB (8 KB in the advanced tier). */
export const MAX_TEMPLATE_LENGTH = 16_384;

// Names NTH's Go templates and other tools use, pointed at the placeholder that says the same.
const aliases: Record<string, Placeholder> = {
  nodename: 'node',
  clustername: 'cluster',
  instance: 'instanceId',
  description: 'text',
  message: 'text',
  eventkind: 'kind',
  drainoutcome: 'outcome',
};

const normalize = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** A template's text quoted back in an error: short and printable. */
function quote(value: string): string {
  const head = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return head.replace(/[^\x20-\x7e]/g, '?');
}

function unknownPlaceholder(inner: string): string {
  const key = normalize(inner);
  const guess = aliases[key] ?? placeholderNames.find((name) => normalize(name) === key);
  const hint = guess === undefined ? '' : ` (did you mean {{${guess}}}?)`;
  return `{{${quote(inner)}}} is not a placeholder${hint}; the placeholders are ${placeholderNames.join(', ')}`;
}

interface Scanned {
  parts: (string | Slot)[];
  /** Where each slot stands in the source, for the checks of json templates. */
  spans: { slot: Slot; start: number; end: number }[];
}

/** Splits the source into literal text and slots, tracking JSON strings for a json template. */
function scan(source: string, syntax: TemplateSyntax): Scanned | { error: string } {
  const parts: (string | Slot)[] = [];
  const spans: Scanned['spans'] = [];
  let literal = '';
  let inString = false;
  let escaped = false;
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('{{', i)) {
      const end = source.indexOf('}}', i + 2);
      if (end < 0) return { error: `the {{ at character ${i + 1} has no closing }}` };
      const inner = source.slice(i + 2, end).trim();
      if (!isPlaceholder(inner)) return { error: unknownPlaceholder(inner) };
      const slot: Slot = { placeholder: inner, inString };
      parts.push(literal, slot);
      spans.push({ slot, start: i, end: end + 2 });
      literal = '';
      i = end + 2;
      continue;
    }
    const c = source[i]!;
    if (syntax === TemplateSyntax.Json) {
      if (escaped) escaped = false;
      else if (inString && c === '\\') escaped = true;
      else if (c === '"') inString = !inString;
    }
    literal += c;
    i += 1;
  }
  parts.push(literal);
  return { parts: parts.filter((part) => part !== ''), spans };
}

/**
 * A placeholder outside a JSON string becomes a whole JSON value, so it must stand where a value
 * may: after `:`, `[` or `,` (or at the start), before `,`, `]` or `}` (or at the end).
 */
function misplacedValue(source: string, spans: Scanned['spans']): string | undefined {
  for (const { slot, start, end } of spans) {
    if (slot.inString) continue;
    const before = source.slice(0, start).trimEnd().slice(-1);
    const after = source.slice(end).trimStart().charAt(0);
    if (!['', ':', '[', ','].includes(before) || !['', ',', ']', '}'].includes(after)) {
      return (
        `{{${slot.placeholder}}} at character ${start + 1} is outside a JSON string but not a whole value: ` +
        `put it inside the quotes of a string ("... {{${slot.placeholder}}} ...") or make it a value of its own`
      );
    }
  }
  return undefined;
}

/** A value JSON must escape, to check that a json template stays valid whatever is filled in. */
const AWKWARD_VALUE = '"\\\n\u2028}';

/**
 * Checks a template and prepares it for rendering. Returns why it is refused instead, naming the
 * placeholder at fault; the reason quotes at most 40 characters of the template, never a value.
 *
 * @example
 * const template = compileTemplate('{{cluster}}/{{node}}: {{outcome}}', TemplateSyntax.Text);
 */
export function compileTemplate(
  source: string,
  syntax: TemplateSyntax,
): CompiledTemplate | { error: string } {
  if (source.trim() === '') return { error: 'is empty' };
  if (source.length > MAX_TEMPLATE_LENGTH)
    return { error: `is longer than ${MAX_TEMPLATE_LENGTH} characters` };
  const scanned = scan(source, syntax);
  if ('error' in scanned) return scanned;
  const template: CompiledTemplate = { syntax, parts: scanned.parts };
  if (syntax === TemplateSyntax.Json) {
    const misplaced = misplacedValue(source, scanned.spans);
    if (misplaced !== undefined) return { error: misplaced };
    try {
      JSON.parse(fillAll(template, () => AWKWARD_VALUE));
    } catch {
      return {
        error: 'is not valid JSON once its placeholders are filled in (look for a quote, comma or brace)',
      };
    }
  }
  return template;
}

function fill(
  slot: Slot,
  value: FactValue,
  syntax: TemplateSyntax,
  escapeText: (value: string) => string,
): string {
  const asText = value === null ? '' : String(value);
  if (syntax === TemplateSyntax.Text) return escapeText(asText);
  return slot.inString ? JSON.stringify(asText).slice(1, -1) : JSON.stringify(value);
}

function fillAll(
  template: CompiledTemplate,
  lookUp: (placeholder: Placeholder) => FactValue,
  escapeText: (value: string) => string = (value) => value,
): string {
  return template.parts
    .map((part) =>
      typeof part === 'string' ? part : fill(part, lookUp(part.placeholder), template.syntax, escapeText),
    )
    .join('');
}

/**
 * The template with its placeholders filled in from `facts`. In a text template, `escapeText` is
 * applied to each value (Slack's markup escape for Slack); a missing fact (null) is left empty, or
 * `null` where a json template has it stand as a value.
 */
export function renderTemplate(
  template: CompiledTemplate,
  facts: NotificationFacts,
  escapeText?: (value: string) => string,
): string {
  return fillAll(template, (placeholder) => facts[placeholder], escapeText);
}
