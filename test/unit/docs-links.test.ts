/**
 * The README and the pages under docs/ link to each other, to anchors in each other and to files of
 * the repository. A moved section or a renamed file breaks such a link silently on GitHub; these
 * tests find it. They also keep the README what a newcomer reads in five minutes: small, with
 * tables that fit a screen, and every docs page one link away from it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, githubSlug, linkTargets, prose } from '../support/markdown.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The README stays under this many bytes (it was 72 KB before its sections moved to docs/). */
const README_MAX_BYTES = 25_000;
/** No line of a README table is wider than this many characters. */
const README_TABLE_MAX_COLUMNS = 120;

const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Why a link from `file` to `target` does not resolve, or undefined when it does. */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:, ...
  const [path = '', anchor] = target.split('#', 2);
  const linked = path === '' ? join(root, file) : resolve(dirname(join(root, file)), decodeURI(path));
  const shown = relative(root, linked);
  if (!linked.startsWith(root)) return `${target}: outside the repository`;
  if (!existsSync(linked)) return `${target}: no file ${shown}`;
  if (anchor === undefined || !linked.endsWith('.md')) return undefined;
  const anchors = anchorsOf(readFileSync(linked, 'utf8'));
  return anchors.has(anchor) ? undefined : `${target}: no heading #${anchor} in ${shown}`;
}

describe('githubSlug', () => {
  it.each([
    ["A node's interruption, start to end", 'a-nodes-interruption-start-to-end'],
    ['Compared with NTH and Karpenter', 'compared-with-nth-and-karpenter'],
    [
      'Drain semantics: kubectl drain and Karpenter, and ours',
      'drain-semantics-kubectl-drain-and-karpenter-and-ours',
    ],
    ['The `eks-spot-drainer` CLI', 'the-eks-spot-drainer-cli'],
    ['snake_case and [a link](x.md)', 'snake_case-and-a-link'],
  ])('turns %j into %j', (heading, slug) => {
    expect(githubSlug(heading)).toBe(slug);
  });
});

describe('linkTargets', () => {
  it('finds inline links and images, not links inside code', () => {
    // Prepare
    const markdown = [
      'See [the docs](docs/a.md#x) and ![a picture](img.png "title").',
      'Not `[code](no.md)`, and not in a block:',
      '```md',
      '[block](no.md)',
      '```',
      '[outside](https://example.com)',
    ].join('\n');

    // Act
    const targets = linkTargets(markdown);

    // Assess
    expect(targets).toEqual(['docs/a.md#x', 'img.png', 'https://example.com']);
  });
});

describe('links in README.md and docs/', () => {
  it.each(pages)('every relative link of %s resolves, anchors included', (file) => {
    // Act
    const broken = linkTargets(read(file))
      .map((target) => brokenLink(file, target))
      .filter((why) => why !== undefined);

    // Assess
    expect(broken).toEqual([]);
  });

  it('links every page under docs/ from the README', () => {
    // Prepare
    const linked = new Set(
      linkTargets(read('README.md')).map((target) => target.split('#')[0]!.replace(/^\.\//, '')),
    );

    // Assess
    expect(pages.filter((page) => page.startsWith('docs/') && !linked.has(page))).toEqual([]);
  });
});

describe('the README stays short', () => {
  it(`is under ${README_MAX_BYTES} bytes`, () => {
    expect(Buffer.byteLength(read('README.md'))).toBeLessThan(README_MAX_BYTES);
  });

  it(`has no table line wider than ${README_TABLE_MAX_COLUMNS} columns`, () => {
    // Act
    const wide = prose(read('README.md'))
      .split('\n')
      .filter((line) => line.trimStart().startsWith('|') && [...line].length > README_TABLE_MAX_COLUMNS);

    // Assess
    expect(wide).toEqual([]);
  });
});
