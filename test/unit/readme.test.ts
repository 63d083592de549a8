import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { outcomeDetailTypes } from '../../src/app/outcome-events.js';
import { configVariables } from '../../src/config.js';
import { interruptionEdges } from '../../src/interruption/edges.js';
import {
  OutcomeDetailType,
  outcomeDetailFields,
  outcomeEventSource,
} from '../../src/notify/outcome-events.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

const serverlessYml = readFileSync(join(root, 'serverless.yml'), 'utf8');

/** The `serverless.yml` param the README says sets a variable: its name in camelCase, but one. */
function paramOf(variable: string): string {
  if (variable === 'MANAGED_CLUSTERS') return 'clusters';
  return variable.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The rows of the README's configuration table: variable name -> default column. */
function configurationTable(): Map<string, string> {
  const rows = new Map<string, string>();
  // Biome pads the cells of Markdown tables; only the content counts.
  for (const match of readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|\s*([^|]+?)\s*\|/gm)) {
    rows.set(match[1]!, match[2]!.trim());
  }
  return rows;
}

describe('README', () => {
  it('starts with the demo and the test commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

    expect(firstBlock).toMatch(/^npm ci && npm run demo\b/m);
    expect(firstBlock).toMatch(/^npm test\b/m);
  });

  it.each(configVariables.map((v) => [v.name, v] as const))(
    'documents %s with its default',
    (name, variable) => {
      const table = configurationTable();

      const expected = variable.required
        ? '(required)'
        : variable.default === undefined
          ? '(unset)'
          : `\`${variable.default}\``;
      expect(table.get(name)).toBe(expected);
    },
  );

  it.each(configVariables.map((v) => [v.name] as const))(
    'sets %s from the param the README names',
    (name) => {
      // Prepare
      const param = paramOf(name);
      const source = new RegExp(`^ {8}${name}: (.+)$`, 'm').exec(serverlessYml)?.[1] ?? '';
      const resolver = /^\$\{file\(\.\/(deploy\/serverless\/[\w-]+\.cjs)\)/.exec(source)?.[1];

      // Assess: declared with a default, and read by the variable's environment entry
      expect(serverlessYml).toMatch(new RegExp(`^ {4}${param}: `, 'm'));
      if (resolver) expect(readFileSync(join(root, resolver), 'utf8')).toContain(`param "${param}"`);
      else expect(source).toBe(`\${param:${param}}`);
    },
  );

  it('documents no variable the function does not read', () => {
    const known = new Set(configVariables.map((v) => v.name));

    expect([...configurationTable().keys()].filter((name) => !known.has(name))).toEqual([]);
  });
});

describe("docs/lifecycle.md: a node's interruption", () => {
  const section = readFileSync(join(root, 'docs/lifecycle.md'), 'utf8');
  const name = (id: string) => (id === '[*]' ? id : id.replaceAll('_', '-'));

  it('draws exactly the changes of state the transition can make', () => {
    // Prepare
    const diagram = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

    // Act
    const drawn = [...diagram.matchAll(/^\s*(\S+) --> (\S+)\s*$/gm)].map(
      (m) => `${name(m[1]!)} -> ${name(m[2]!)}`,
    );

    // Assess
    const listed = interruptionEdges.flatMap((e) => e.from.map((from) => `${from} -> ${e.to}`));
    expect(drawn.sort()).toEqual(listed.sort());
  });

  it('tables the same changes, with what makes each and who carries it', () => {
    // Act
    const rows = [
      ...section.matchAll(/^\|\s*(`[^|]+)\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|$/gm),
    ].map((m) => ({
      from: [...m[1]!.matchAll(/`([^`]+)`/g)].map((f) => f[1]!),
      to: m[2]!,
      when: m[3]!,
      by: m[4]!,
    }));

    // Assess
    expect(rows).toEqual(
      interruptionEdges.map((e) => ({ from: [...e.from], to: e.to, when: e.when, by: e.by })),
    );
  });
});

describe('docs/outcome-events.md', () => {
  const section = readFileSync(join(root, 'docs/outcome-events.md'), 'utf8');
  /** The backquoted words of a table cell or a sentence. */
  const quoted = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

  it('tables each detail-type with exactly the outcomes the function puts as it', () => {
    // Prepare: what the code maps, and a rejected notice
    const mapped = new Map<string, string[]>([[OutcomeDetailType.Rejected, ['rejected']]]);
    for (const [outcome, detailType] of Object.entries(outcomeDetailTypes)) {
      if (detailType) mapped.set(detailType, [...(mapped.get(detailType) ?? []), outcome]);
    }

    // Act
    const rows = [...section.matchAll(/^\|\s*`([A-Z][^`]+)`\s*\|([^|]+)\|/gm)].map(
      (m) => [m[1]!, quoted(m[2]!).sort()] as const,
    );

    // Assess
    expect(new Map(rows)).toEqual(new Map([...mapped].map(([type, outcomes]) => [type, outcomes.sort()])));
    expect(rows.map(([type]) => type).sort()).toEqual(Object.values(OutcomeDetailType).sort());
  });

  it('names every outcome that puts no event', () => {
    // Prepare
    const none = Object.entries(outcomeDetailTypes)
      .filter(([, detailType]) => detailType === undefined)
      .map(([outcome]) => outcome);

    // Act
    const sentence = /put none: ([^(]+)\(/.exec(section.replaceAll('\n', ' '))?.[1] ?? '';

    // Assess
    expect(quoted(sentence).sort()).toEqual(none.sort());
  });

  it('tables the fields of the detail, in order', () => {
    // Act
    const fields = [...section.matchAll(/^\|\s*`([a-z][A-Za-z]+)`\s*\|/gm)].map((m) => m[1]);

    // Assess
    expect(fields).toEqual(outcomeDetailFields);
  });

  it('shows rule patterns that name our source, our detail-types and fields of the detail', () => {
    // Act
    const patterns = (/```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, Record<string, unknown> | string[]>);

    // Assess
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) {
      expect(pattern.source).toEqual([outcomeEventSource]);
      for (const type of pattern['detail-type'] as string[]) {
        expect(Object.values(OutcomeDetailType)).toContain(type);
      }
      for (const field of Object.keys(pattern.detail ?? {})) expect(outcomeDetailFields).toContain(field);
    }
  });
});
