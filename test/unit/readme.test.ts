import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configVariables } from '../../src/config.js';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8');

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

  it('documents no variable the function does not read', () => {
    const known = new Set(configVariables.map((v) => v.name));

    expect([...configurationTable().keys()].filter((name) => !known.has(name))).toEqual([]);
  });
});
