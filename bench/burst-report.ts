import type { FlowControlDelta } from './lane.js';
import { formatMs, formatRatio, max, min, percentile, ratio } from './stats.js';
import { type ResultRow, row } from './types.js';

/** One node's drain as the burst saw it: done (or failed) this long after the burst began. */
export interface NodeDrain {
  node: string;
  finishedMs: number;
  ok: boolean;
  detail?: string;
  /** kubectl only: its "client-side throttling" waits (client-go's 5 QPS, burst 10). */
  throttledWaits?: number;
  /** kubectl only: the process's CPU time (user + system). */
  cpuMs?: number;
}

/** Who drains the burst (ideal: the floor, ideal-drain.ts), and whether deploy/flowcontrol.yaml is applied. */
export interface BurstRound {
  tool: 'ours' | 'kubectl' | 'ideal';
  lane: boolean;
}

/** What one round of the burst measured. */
export interface BurstRun {
  round: BurstRound;
  /** 1-minute load average when the burst began. */
  load: number;
  pods: number;
  drains: NodeDrain[];
  podsLeft: number;
  /** The tool's own requests in the audit log, and how many of them were answered 429. */
  requests: number;
  answered429: number;
  /** Every request the API server answered in the burst's window, all clients (controllers, KWOK, ...). */
  allRequests: number;
  /** The tool's requests by HTTP status (504: the client gave up and closed the request). */
  byStatus: Record<number, number>;
  /** CPU seconds each process used during the burst, largest first. */
  cpu: [string, number][];
  /** From the first request to the last drain's end. */
  wallMs: number;
  /** API Priority and Fairness counters over the burst, at the priority level of the tool's flow. */
  flow: FlowControlDelta;
}

const allDone = (run: BurstRun) => max(run.drains.map((d) => d.finishedMs));
const p = (run: BurstRun, q: number) =>
  percentile(
    run.drains.map((d) => d.finishedMs),
    q,
  );
const errors = (run: BurstRun) => run.drains.filter((d) => !d.ok);
const share429 = (run: BurstRun) => (run.requests > 0 ? run.answered429 / run.requests : Number.NaN);
const percent = (value: number) => `${(value * 100).toFixed(value < 0.01 ? 2 : 1)}%`;

function find(runs: readonly BurstRun[], tool: BurstRound['tool'], lane: boolean): BurstRun | undefined {
  return runs.find((r) => r.round.tool === tool && r.round.lane === lane);
}

/** The results-table rows: the targets compare ours and kubectl with the lane; then the lane's effect. */
export function burstRows(runs: readonly BurstRun[], nodes: number, podsPerNode: number): ResultRow[] {
  const ours = find(runs, 'ours', true);
  const kubectl = find(runs, 'kubectl', true);
  const oursBare = find(runs, 'ours', false);
  const kubectlBare = find(runs, 'kubectl', false);
  const rows: ResultRow[] = [];
  const opt = <T>(run: BurstRun | undefined, f: (r: BurstRun) => T) => (run ? f(run) : undefined);
  const summary = (run: BurstRun | undefined) =>
    run ? `${formatMs(allDone(run))}, ${errors(run).length} errors, ${run.podsLeft} left` : '—';
  if (ours) {
    const ratioAll = ratio(allDone(ours), opt(kubectl, allDone) ?? Number.NaN);
    const ratioP99 = ratio(p(ours, 99), opt(kubectl, (r) => p(r, 99)) ?? Number.NaN);
    rows.push(
      row(`6. Burst: ${nodes} nodes × ${podsPerNode} pods at once, all drained`, {
        ours: summary(ours),
        kubectl: summary(kubectl),
        ratio: formatRatio(ratioAll),
        target: '< 60 s, 0 errors, 0 left; ≤ 0.50×',
        met: allDone(ours) < 60_000 && errors(ours).length === 0 && ours.podsLeft === 0 && ratioAll <= 0.5,
      }),
      row('6b. Burst: per-node drain time p99 (p50)', {
        ours: `${formatMs(p(ours, 99))} (${formatMs(p(ours, 50))})`,
        kubectl: kubectl ? `${formatMs(p(kubectl, 99))} (${formatMs(p(kubectl, 50))})` : '—',
        ratio: formatRatio(ratioP99),
        target: 'p99 ≤ 0.50×',
        met: ratioP99 <= 0.5,
      }),
      row("6c. Burst: 429s on the drainer's flow / its requests", {
        ours: `${ours.answered429} / ${ours.requests} (${percent(share429(ours))})`,
        kubectl: kubectl
          ? `${kubectl.answered429} / ${kubectl.requests} (${percent(share429(kubectl))})`
          : '—',
        target: '≤ 1%',
        met: share429(ours) <= 0.01,
      }),
    );
  }
  rows.push(...floorRows(ours, kubectl, find(runs, 'ideal', true)));
  if (oursBare) {
    const bare = (run: BurstRun | undefined) =>
      run ? `${formatMs(allDone(run))}, ${run.answered429} × 429, ${errors(run).length} errors` : '—';
    rows.push(
      row('6d. Same burst without deploy/flowcontrol.yaml (global-default), all drained', {
        ours: bare(oursBare),
        kubectl: bare(kubectlBare),
        ratio: formatRatio(ratio(allDone(oursBare), opt(kubectlBare, allDone) ?? Number.NaN)),
      }),
    );
    if (ours) {
      rows.push(
        row('6e. Lane effect on ours, with ÷ without: all drained / p99 / requests', {
          ours: [
            ratio(allDone(ours), allDone(oursBare)),
            ratio(p(ours, 99), p(oursBare, 99)),
            ratio(ours.requests, oursBare.requests),
          ]
            .map(formatRatio)
            .join(' / '),
        }),
      );
    }
  }
  return rows;
}

/** CPU seconds the API server and etcd spent during a run (from /proc, cpu.ts). */
function serverCpu(run: BurstRun): { apiserver: number; etcd: number } {
  const of = (name: string) => run.cpu.find(([n]) => n === name)?.[1] ?? Number.NaN;
  return { apiserver: of('kube-apiserver'), etcd: of('etcd') };
}

/** Ours and kubectl as multiples of the floor, in time and in what the cluster spent serving them. */
function floorRows(
  ours: BurstRun | undefined,
  kubectl: BurstRun | undefined,
  ideal: BurstRun | undefined,
): ResultRow[] {
  if (!ideal) return [];
  const floorMs = allDone(ideal);
  const floorCpu = serverCpu(ideal);
  const cpu = (run: BurstRun | undefined) => {
    if (!run) return '—';
    const { apiserver, etcd } = serverCpu(run);
    return `${apiserver.toFixed(1)} + ${etcd.toFixed(1)} s (${formatRatio(ratio(apiserver + etcd, floorCpu.apiserver + floorCpu.etcd))})`;
  };
  const times = (run: BurstRun | undefined) =>
    run
      ? `${formatRatio(ratio(allDone(run), floorMs))} (p99 ${formatRatio(ratio(p(run, 99), p(ideal, 99)))})`
      : '—';
  return [
    row(
      `6f. Burst ÷ floor (ideal client, same run: ${formatMs(floorMs)}, ${errors(ideal).length} errors, ${ideal.podsLeft} left): all drained (p99)`,
      { ours: times(ours), kubectl: times(kubectl) },
    ),
    row(
      `6g. Burst: kube-apiserver + etcd CPU seconds (÷ floor's ${(floorCpu.apiserver + floorCpu.etcd).toFixed(1)} s)`,
      { ours: cpu(ours), kubectl: cpu(kubectl) },
    ),
  ];
}

/** The RESULTS.md section: every round side by side. */
export function burstDetails(runs: readonly BurstRun[], nodes: number, podsPerNode: number): string[] {
  const label = (run: BurstRun) => `${run.round.tool}, ${run.round.lane ? 'lane' : 'no lane'}`;
  const line = (measure: string, value: (run: BurstRun) => string) =>
    `| ${measure} | ${runs.map(value).join(' | ')} |`;
  const failures = runs.flatMap((run) =>
    errors(run).map((e) => `- ${label(run)}: ${e.node}: ${e.detail ?? 'failed'}`),
  );
  return [
    '## Burst (scenario 6)',
    '',
    `${nodes} KWOK nodes, each with ${podsPerNode} pods (one Deployment per node, pinned by a label the`,
    'spare nodes all carry, so replacements are scheduled and go Ready during the burst), all interrupted',
    'at once. **ours**: one handle() per node, all at once in one Node process, each on its own',
    'createLambdaApp() (its own caches, EKS token and connection pool, as separate containers), resolving',
    'through moto and authenticating with EKS tokens through the webhook. **kubectl**: one',
    '`kubectl drain --ignore-daemonsets --delete-emptydir-data --force <node>` process per node, all at',
    'once, as the drainer identity (what a per-node handler runs). Both belong to the group',
    '`eks-spot-drainer`. **lane**: deploy/flowcontrol.yaml applied (the drainer in its own priority',
    'level); **no lane**: its objects deleted (the drainer in `global-default`). Rounds run in the order',
    'of the columns, each on a fresh world, after 5 s of settling. Per-node times count from the start',
    "of the burst to that node's drain ending (the invocation returning, the kubectl process exiting).",
    'One process on the same 2 cores as the control plane is harsher than Lambda, where each container',
    'has its own CPU; 100 kubectl processes pay their start-up on the same 2 cores too. **ideal**: the',
    'floor, not a product (bench/ideal-drain.ts): as the drainer, every node cordoned and every pod',
    'evicted at once, no pacing, no wait (a 429 or 5xx asked again at once), its pods known before the',
    'clock starts; a node is drained when a watch sees its last pod deleted.',
    '',
    `| measure | ${runs.map(label).join(' | ')} |`,
    `|---|${runs.map(() => '---').join('|')}|`,
    line('per-node drain time p50 / p99', (r) => `${formatMs(p(r, 50))} / ${formatMs(p(r, 99))}`),
    line(
      'first / last node drained',
      (r) => `${formatMs(min(r.drains.map((d) => d.finishedMs)))} / ${formatMs(allDone(r))}`,
    ),
    line('nodes not drained (errors)', (r) => String(errors(r).length)),
    line('pods left on the nodes afterwards', (r) => String(r.podsLeft)),
    line(
      "the tool's requests (audit) / per pod",
      (r) => `${r.requests} / ${(r.requests / r.pods).toFixed(2)}`,
    ),
    line('all requests answered in the window, every client (audit)', (r) => String(r.allRequests)),
    line("answered 429 (audit, the tool's requests)", (r) => `${r.answered429} (${percent(share429(r))})`),
    line("the tool's requests by status (504: it gave up waiting)", (r) => JSON.stringify(r.byStatus)),
    line(
      'rejected by priority and fairness (metrics; flow schema / level (reason))',
      (r) =>
        Object.entries(r.flow.rejected)
          .map(([k, v]) => `${v} ${k}`)
          .join('; ') || '0',
    ),
    line("dispatched at the tool's priority level (metrics)", (r) => String(r.flow.dispatched)),
    line('mean queue wait there', (r) => formatMs(r.flow.meanWaitMs)),
    line('kubectl client-side throttle waits (5 QPS, burst 10)', (r) =>
      r.round.tool === 'kubectl'
        ? String(r.drains.reduce((sum, d) => sum + (d.throttledWaits ?? 0), 0))
        : '—',
    ),
    line('CPU seconds used during the burst (of 2 cores × wall time)', (r) => {
      const total = r.cpu.reduce((sum, [, seconds]) => sum + seconds, 0);
      return `${total.toFixed(0)} of ${((2 * r.wallMs) / 1000).toFixed(0)}: ${r.cpu
        .filter(([, seconds]) => seconds >= 0.5)
        .map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`)
        .join(', ')}`;
    }),
    line('load average (1 min) at the start', (r) => r.load.toFixed(2)),
    '',
    ...(failures.length > 0 ? ['Nodes not drained:', '', ...failures, ''] : []),
  ];
}
