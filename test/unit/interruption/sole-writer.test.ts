/**
 * One door: across src/, only door.ts writes a node (and with it the record), only marks.ts builds
 * the patches it writes, and only record.ts knows how the record is serialised. Anything else that
 * wanted to change the record would have to go through applyInput, and so through the transition.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Files of src/ whose code (comments left out) matches `pattern`. */
function filesMatching(pattern: RegExp): string[] {
  return sources(join(root, 'src'))
    .filter((path) => pattern.test(readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
    .map((path) => relative(root, path))
    .sort();
}

describe('the record has one writer', () => {
  it.each<[string, RegExp, string[]]>([
    [
      'writes a node',
      /\.(patchNode|replaceNode|patchNodeStatus|replaceNodeStatus|createNode|deleteNode)\(/,
      ['src/interruption/door.ts'],
    ],
    [
      'builds a patch of the record',
      /\b(writePatch|releasePatch)\(/,
      ['src/interruption/door.ts', 'src/interruption/marks.ts'],
    ],
    [
      'serialises a record',
      /\bserialiseRecord\(|JSON\.stringify\(\s*record\b/,
      ['src/interruption/door.ts', 'src/interruption/marks.ts', 'src/interruption/record.ts'],
    ],
    [
      'names the annotation',
      /eks-spot-drainer\/drain\b|eks-spot-drainer~1drain|\brecordAnnotation\b/,
      ['src/interruption/door.ts', 'src/interruption/marks.ts', 'src/interruption/record.ts'],
    ],
    [
      'decides the next record',
      /\bnext\(\s*record|from '\.\/transition\.js'|from '\.\.\/interruption\/transition\.js'/,
      ['src/interruption/carry-out.ts', 'src/interruption/door.ts', 'src/interruption/transition.ts'],
    ],
  ])('only the door %s', (_, pattern, allowed) => {
    // Act
    const found = filesMatching(pattern);

    // Assess
    expect(found).toEqual(allowed);
  });
});
