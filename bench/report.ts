import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ResultRow } from './types.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The machine, the versions and the source state a result depends on, as "name: value" pairs. */
export async function describeMachine(binDir: string): Promise<[string, string][]> {
  const firstLine = async (file: string, args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(file, args, { cwd: projectRoot });
      return (stdout || stderr).trim().split('\n')[0] ?? '?';
    } catch {
      return '?';
    }
  };
  const changed = await firstLine('bash', ['-c', 'git status --porcelain -- src handlers | wc -l']);
  return [
    ['date', new Date().toISOString()],
    ['cpus (nproc)', `${cpus().length} × ${cpus()[0]?.model ?? '?'}`],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    [
      'load average at start (1, 5, 15 min)',
      loadavg()
        .map((l) => l.toFixed(2))
        .join(', '),
    ],
    ['node', process.version],
    ['kube-apiserver', await firstLine(join(binDir, 'kube-apiserver'), ['--version'])],
    ['kubectl', await firstLine(join(binDir, 'kubectl'), ['version', '--client'])],
    ['etcd', await firstLine(join(binDir, 'etcd'), ['--version'])],
    ['kwok', await firstLine(join(binDir, 'kwok'), ['--version'])],
    ['@kubernetes/client-node', await packageVersion('@kubernetes/client-node')],
    ['esbuild', await packageVersion('esbuild')],
    [
      'source',
      `git ${await firstLine('git', ['rev-parse', '--short', 'HEAD'])}, ${changed} uncommitted files in src/ and handlers/`,
    ],
  ];
}

async function packageVersion(name: string): Promise<string> {
  const path = join(projectRoot, 'node_modules', name, 'package.json');
  return ((JSON.parse(await readFile(path, 'utf8')) as { version?: string }).version ?? '?').trim();
}

const headers = ['scenario', 'ours (median)', 'kubectl (median)', 'ratio ours/kubectl', 'target', 'met?'];

function cells(r: ResultRow): string[] {
  return [r.scenario, r.ours, r.kubectl, r.ratio, r.target, r.met || '—'];
}

/** The results table in Markdown. */
export function markdownTable(rows: ResultRow[]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
  ].join('\n');
}

/** The results table for a terminal: columns padded to their widest cell. */
export function textTable(rows: ResultRow[]): string {
  const all = [headers, ...rows.map(cells)];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => [...r[i]!].length)));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ');
  return [
    line(headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map((r) => line(cells(r))),
  ].join('\n');
}

/** RESULTS.md: machine, table, then each scenario's explanation and the findings. */
export function resultsMarkdown(input: {
  machine: [string, string][];
  command: string;
  totalMs: number;
  rows: ResultRow[];
  details: string[];
  findings: string;
}): string {
  return [
    '# Benchmark results',
    '',
    `Produced by \`${input.command}\` in ${(input.totalMs / 60_000).toFixed(1)} min. Ratios are ours / kubectl on the`,
    'same control plane in the same run; absolute times depend on this machine and are only context.',
    '',
    ...input.machine.map(([name, value]) => `- ${name}: ${value}`),
    '',
    markdownTable(input.rows),
    '',
    input.findings.trim(),
    '',
    ...input.details,
  ].join('\n');
}
