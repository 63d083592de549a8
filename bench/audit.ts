import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One request as the API server's audit log (stage ResponseComplete) tells it; times in epoch ms. */
export interface AuditRecord {
  received: number;
  completed: number;
  user: string;
  userAgent: string;
  verb: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  code: number;
  uri: string;
}

/** Which requests count: a time window on requestReceivedTimestamp, a user, a user agent. */
export interface RequestFilter {
  from: number;
  to: number;
  user?: string;
  userAgentPrefix?: string;
  notUserAgentPrefix?: string;
}

interface RawEvent {
  stage?: string;
  requestURI?: string;
  verb?: string;
  user?: { username?: string };
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
}

/**
 * Reads the control plane's audit log (JSON lines) incrementally: each call returns the requests
 * logged since the previous one, so a scenario holds only its own and a long run stays small. The
 * API server rotates the log at 100 MB (renames it audit-<time>.log and starts a new one), which a
 * burst of thousands of pods reaches: the reader follows its file by inode across rotations.
 */
export class AuditLog {
  private offset = 0;
  private inode: number | undefined;
  private partial = '';

  constructor(private readonly path: string) {}

  /** Skips everything logged so far. */
  async skip(): Promise<void> {
    this.completeLines(await this.readAppended());
  }

  /** The requests completed since the last call. */
  async readNew(): Promise<AuditRecord[]> {
    const lines = this.completeLines(await this.readAppended());
    const records: AuditRecord[] = [];
    for (const line of lines) {
      if (!line) continue;
      const event = JSON.parse(line) as RawEvent;
      if (event.stage !== 'ResponseComplete') continue;
      records.push({
        received: parseTime(event.requestReceivedTimestamp),
        completed: parseTime(event.stageTimestamp),
        user: event.user?.username ?? '',
        userAgent: event.userAgent ?? '',
        verb: event.verb ?? '',
        resource: event.objectRef?.resource ?? '',
        subresource: event.objectRef?.subresource ?? '',
        namespace: event.objectRef?.namespace ?? '',
        name: event.objectRef?.name ?? '',
        code: event.responseStatus?.code ?? 0,
        uri: event.requestURI ?? '',
      });
    }
    return records;
  }

  /** The lines finished by `appended`; the API server may be writing the last one right now. */
  private completeLines(appended: Buffer): string[] {
    const lines = (this.partial + appended.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    return lines;
  }

  /** The bytes written since the last call, the rest of a rotated file first. */
  private async readAppended(): Promise<Buffer> {
    const current = await stat(this.path);
    const chunks: Buffer[] = [];
    if (this.inode !== undefined && current.ino !== this.inode) {
      const dir = dirname(this.path);
      const prefix = `${basename(this.path, '.log')}-`;
      const backups = (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.log')).sort();
      let ours = false;
      for (const name of backups) {
        const backup = join(dir, name);
        if ((await stat(backup)).ino === this.inode) {
          ours = true;
          chunks.push(await readFrom(backup, this.offset));
        } else if (ours) {
          chunks.push(await readFrom(backup, 0));
        }
      }
      this.offset = 0;
    }
    this.inode = current.ino;
    const fresh = await readFrom(this.path, this.offset);
    this.offset += fresh.length;
    chunks.push(fresh);
    return Buffer.concat(chunks);
  }
}

/** A file's bytes from `offset` to its end. */
async function readFrom(path: string, offset: number): Promise<Buffer> {
  const file = await open(path, 'r');
  const chunks: Buffer[] = [];
  try {
    const buffer = Buffer.alloc(4 * 1024 * 1024);
    for (let position = offset; ; ) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
  return Buffer.concat(chunks);
}

/** Audit timestamps carry microseconds; Date.parse would drop them. */
function parseTime(text: string | undefined): number {
  if (!text) return Number.NaN;
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text);
  if (!match) return Date.parse(text);
  const fraction = match[2] ? Number(`0.${match[2]}`) * 1000 : 0;
  return Date.parse(`${match[1]}Z`) + fraction;
}

export function selectRequests(records: readonly AuditRecord[], filter: RequestFilter): AuditRecord[] {
  return records.filter(
    (r) =>
      r.received >= filter.from &&
      r.received <= filter.to &&
      (filter.user === undefined || r.user === filter.user) &&
      (filter.userAgentPrefix === undefined || r.userAgent.startsWith(filter.userAgentPrefix)) &&
      (filter.notUserAgentPrefix === undefined || !r.userAgent.startsWith(filter.notUserAgentPrefix)),
  );
}

/** "create pods/eviction", "get pods", "watch pods", "get /apis" (discovery has no objectRef). */
export function requestKind(record: AuditRecord): string {
  if (!record.resource) return `${record.verb} ${record.uri.split('?')[0]}`;
  return `${record.verb} ${record.resource}${record.subresource ? `/${record.subresource}` : ''}`;
}

/** How many requests of each kind, most frequent first. */
export function countByKind(records: readonly AuditRecord[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(requestKind(r), (counts.get(requestKind(r)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** How many responses had each HTTP status. */
export function countByCode(records: readonly AuditRecord[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of records) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}
