import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';

/** Where a profiled span's samples fell: self time by function, and by where the code comes from. */
export interface ProfileSummary {
  totalMs: number;
  byFunction: [string, number][];
  byOrigin: [string, number][];
}

/**
 * Runs `work` under V8's sampling profiler (what `node --cpu-prof` writes) and sums self time by
 * function and by origin: this project's src/, a package under node_modules, Node's internals, the
 * garbage collector, or idle (waiting on the network).
 */
export async function profiled<T>(work: () => Promise<T>): Promise<{ result: T; profile: ProfileSummary }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    return { result, profile: summarise(profile) };
  } finally {
    session.disconnect();
  }
}

function summarise(profile: Profiler.Profile): ProfileSummary {
  const selfMs = new Map<number, number>();
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of (profile.samples ?? []).entries())
    selfMs.set(id, (selfMs.get(id) ?? 0) + (deltas[i] ?? 0) / 1000);
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  for (const node of profile.nodes) {
    const ms = selfMs.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    // The profiler's own session (Profiler.stop serialising the profile) is not the work.
    if (url.startsWith('node:inspector')) continue;
    const origin = originOf(url, functionName);
    add(byOrigin, origin, ms);
    const where = url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : '';
    add(byFunction, `${functionName || '(anonymous)'} ${where}`.trim(), ms);
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    byFunction: top(byFunction, 12),
    byOrigin: top(byOrigin, 10),
  };
}

function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.includes('/src/')) return 'src/ (this project)';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/bench/') || url.includes('/test/')) return 'bench / test bed';
  return url.split('/').slice(-1)[0]!;
}
