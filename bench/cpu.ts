import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** CPU seconds (user + system) each control-plane process and this process have used so far. */
export type CpuTimes = Record<string, number>;

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ). */
const ticksPerSecond = 100;

/**
 * The CPU time of the bed's processes (found by their data directory on the command line: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok) and of this Node process, from
 * /proc. On a 2-core bed this says where a burst's time goes. Empty where /proc is missing.
 */
export async function cpuTimes(dataDir: string): Promise<CpuTimes> {
  const times: CpuTimes = {};
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of entries.filter((e) => /^\d+$/.test(e))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    const isBench = Number(pid) === process.pid;
    if (!isBench && !args.some((a) => a.includes(dataDir))) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces) start at ") "; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    const name = isBench ? 'bench process (ours)' : basename(args[0] ?? pid);
    if (Number.isFinite(seconds)) times[name] = (times[name] ?? 0) + seconds;
  }
  return times;
}

/** CPU seconds used between two readings, by process, largest first. */
export function cpuUsed(before: CpuTimes, after: CpuTimes): [string, number][] {
  return Object.entries(after)
    .map(([name, seconds]): [string, number] => [name, seconds - (before[name] ?? 0)])
    .sort((a, b) => b[1] - a[1]);
}
