import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface Pin {
  name: string;
  version: string;
  hashes: string[];
}

/** A package name as pip compares it (PEP 503). */
const normalise = (name: string) => name.toLowerCase().replace(/[._-]+/g, '-');

/**
 * The requirements of a pip requirements file, continuation lines joined and comments dropped; a
 * line that is not `name==version` followed by sha256 hashes only is a problem (pip --require-hashes
 * refuses the whole file for it, or, for an option such as an index URL, fetches from elsewhere).
 */
function readRequirements(text: string): { pins: Pin[]; problems: string[] } {
  const pins: Pin[] = [];
  const problems: string[] = [];
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '');
  for (const line of lines) {
    const [requirement = '', ...options] = line.split(/\s+/);
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([0-9][0-9A-Za-z.+!-]*)$/.exec(requirement);
    const hashes = options.map((option) => /^--hash=sha256:([0-9a-f]{64})$/.exec(option)?.[1]);
    if (!match) {
      problems.push(`${line}: not pinned with ==`);
    } else if (hashes.length === 0 || hashes.some((hash) => hash === undefined)) {
      problems.push(`${requirement}: not every option is a sha256 hash, or there is none`);
    } else {
      pins.push({ name: normalise(match[1]!), version: match[3]!, hashes: hashes as string[] });
    }
  }
  return { pins, problems };
}

describe('requirements-dev.txt', () => {
  it('pins every requirement to one version with its sha256 hashes', () => {
    // Act
    const { pins, problems } = readRequirements(read('requirements-dev.txt'));

    // Assess
    expect(problems).toEqual([]);
    expect(new Set(pins.map((pin) => pin.name)).size).toBe(pins.length);
  });

  it('is compiled from requirements-dev.in: every package there, at its version', () => {
    // Prepare
    const compiled = readRequirements(read('requirements-dev.txt')).pins;
    const wanted = read('requirements-dev.in')
      .split('\n')
      .filter((line) => /^[A-Za-z]/.test(line))
      .map((line) => line.replace(/\[[^\]]*\]/, '').split('=='))
      .map(([name = '', version]) => [normalise(name), version]);

    // Act
    const found = wanted.map(([name]) => compiled.find((pin) => pin.name === name));

    // Assess
    expect(wanted.length).toBeGreaterThan(0);
    expect(found.map((pin) => pin && [pin.name, pin.version])).toEqual(wanted);
  });

  it('pins setuptools, which moto[server] requires, rather than trusting the venv', () => {
    const { pins } = readRequirements(read('requirements-dev.txt'));
    expect(pins.map((pin) => pin.name)).toContain('setuptools');
  });
});

describe('readRequirements', () => {
  const hash = `--hash=sha256:${'a'.repeat(64)}`;

  it('reads a pin with its hashes over continuation lines', () => {
    // Act
    const result = readRequirements(
      `# compiled\nPyYAML==6.0.4 \\\n    ${hash} \\\n    ${hash}\n    # via moto\n`,
    );

    // Assess
    expect(result).toEqual({
      pins: [{ name: 'pyyaml', version: '6.0.4', hashes: ['a'.repeat(64), 'a'.repeat(64)] }],
      problems: [],
    });
  });

  it.each([
    [
      'a pin without hashes (as the file was)',
      'moto[server]==5.2.1',
      /moto\[server\]==5.2.1: not every option/,
    ],
    ['a range', `six>=1.16 ${hash}`, /not pinned with ==/],
    ['a URL', `https://example.com/six.whl ${hash}`, /not pinned with ==/],
    ['an index option', '--index-url https://example.com/simple', /not pinned with ==/],
    ['an md5 hash', 'six==1.17.0 --hash=md5:0123456789abcdef0123456789abcdef', /not every option/],
    ['an option besides the hashes', `six==1.17.0 ${hash} --no-binary=:all:`, /not every option/],
  ])('reports %s', (_, text, expected) => {
    expect(readRequirements(text).problems).toContainEqual(expect.stringMatching(expected));
  });
});
