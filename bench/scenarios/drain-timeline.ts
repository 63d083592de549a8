import { type AuditRecord, countByKind, selectRequests } from '../audit.js';
import { median } from '../stats.js';

/** Who drained: ours with a fresh connection pool, ours with a warm one (a warm Lambda container), kubectl. */
export type Tool = 'ours' | 'ours-warm' | 'kubectl';

/** One measured drain. Times are epoch ms; the audit analysis fills in the rest. */
export interface DrainSample {
  tool: Tool;
  rep: number;
  wallMs: number;
  startedAt: number;
  endedAt: number;
  nodeName: string;
  pods: string[];
  outcome: string;
  /** kubectl only: waits its client-side rate limiter announced. */
  throttledWaits?: number;
  /** CPU time (user + system) the drainer process spent: ours by process.cpuUsage(), kubectl by time(1). */
  cpuMs?: number;
}

/** Where one drain's time went, as offsets (ms) from its start, read from the API server's audit log. */
export interface DrainAnalysis {
  requests: number;
  byKind: [string, number][];
  tooManyRequests: number;
  firstRequest: number;
  cordoned: number;
  listed: number;
  /** How long the API server took to answer the pod list (it waits for its watch cache to be fresh). */
  listServerMs: number;
  firstEviction: number;
  lastEviction: number;
  lastPodGone: number;
  returned: number;
  /**
   * The drainer's own part of the overhead: until its last accepted eviction was sent, plus from the
   * last pod gone to its return. The rest is the API server and KWOK working through the evictions.
   */
  clientShare: number;
  /** Per pod: from its accepted eviction to KWOK deleting it (the 2 s "container shutdown" + KWOK's lag). */
  terminationMedian: number;
  terminationMax: number;
}

/** Reads one drain's requests (its user, its user agent, its time window) and its pods' ends. */
export function analyseDrain(
  sample: DrainSample,
  records: AuditRecord[],
  drainerUser: string,
): DrainAnalysis {
  const mine = selectRequests(records, {
    from: sample.startedAt - 1,
    to: sample.endedAt + 1,
    user: drainerUser,
    ...(sample.tool === 'kubectl' ? { userAgentPrefix: 'kubectl/' } : { notUserAgentPrefix: 'kubectl/' }),
  });
  const at = (t: number) => t - sample.startedAt;
  const first = (list: AuditRecord[], pick: (r: AuditRecord) => number) =>
    list.length > 0 ? Math.min(...list.map(pick)) : Number.NaN;
  const last = (list: AuditRecord[], pick: (r: AuditRecord) => number) =>
    list.length > 0 ? Math.max(...list.map(pick)) : Number.NaN;

  const cordons = mine.filter(
    (r) => r.verb === 'patch' && r.resource === 'nodes' && r.name === sample.nodeName,
  );
  const lists = mine.filter((r) => r.verb === 'list' && r.resource === 'pods');
  const evictions = mine.filter((r) => r.subresource === 'eviction');
  const accepted = evictions.filter((r) => r.code === 201);
  const pods = new Set(sample.pods);
  // KWOK sometimes deletes a pod twice (the second answer is 404): the first success is its end.
  const goneAt = new Map<string, number>();
  for (const r of records) {
    const key = `${r.namespace}/${r.name}`;
    if (r.verb !== 'delete' || r.resource !== 'pods' || !r.userAgent.startsWith('kwok')) continue;
    if (r.code >= 300 || r.received < sample.startedAt || !pods.has(key)) continue;
    goneAt.set(key, Math.min(goneAt.get(key) ?? Number.POSITIVE_INFINITY, r.completed));
  }
  const gone = [...goneAt.values()];
  const terminations = accepted
    .map((r) => (goneAt.get(`${r.namespace}/${r.name}`) ?? Number.NaN) - r.completed)
    .filter(Number.isFinite);
  const lastEviction = at(last(accepted, (r) => r.received));
  const lastPodGone = at(gone.length > 0 ? Math.max(...gone) : Number.NaN);
  return {
    requests: mine.length,
    byKind: countByKind(mine),
    tooManyRequests: mine.filter((r) => r.code === 429).length,
    firstRequest: at(first(mine, (r) => r.received)),
    cordoned: at(first(cordons, (r) => r.completed)),
    listed: at(first(lists, (r) => r.completed)),
    listServerMs: lists[0] ? lists[0].completed - lists[0].received : Number.NaN,
    firstEviction: at(first(evictions, (r) => r.received)),
    lastEviction,
    lastPodGone,
    returned: at(sample.endedAt),
    clientShare: lastEviction + (sample.endedAt - sample.startedAt - lastPodGone),
    terminationMedian: median(terminations),
    terminationMax: terminations.length > 0 ? Math.max(...terminations) : Number.NaN,
  };
}

/** The median of one field over several analyses. */
export function medianOf(analyses: DrainAnalysis[], field: keyof Omit<DrainAnalysis, 'byKind'>): number {
  return median(analyses.map((a) => a[field]));
}

/** Requests of each kind per run, averaged over runs, most frequent first. */
export function averageKinds(analyses: DrainAnalysis[]): string {
  const totals = new Map<string, number>();
  for (const a of analyses) for (const [kind, n] of a.byKind) totals.set(kind, (totals.get(kind) ?? 0) + n);
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${+(n / analyses.length).toFixed(1)}`)
    .join(', ');
}
