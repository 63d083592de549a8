/**
 * Deployment packages as osls writes them (no zip64, no encryption): read, and unpacked the way
 * Lambda unpacks one into its task root.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/** One file of a zip archive. */
export interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  data: () => Buffer;
}

/** Reads a zip's central directory (enough for the archives osls writes: no zip64, no encryption). */
export function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const data = () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(start, start + compressedSize);
      return method === 0 ? raw : inflateRawSync(raw);
    };
    entries.push({ name, size, compressedSize, data });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Unpacks a deployment package into `taskRoot`, as Lambda does into /var/task; returns the file names. */
export async function unpackZip(zip: Buffer, taskRoot: string): Promise<string[]> {
  const entries = readZip(zip).filter((entry) => !entry.name.endsWith('/'));
  for (const entry of entries) {
    if (entry.name.split('/').includes('..'))
      throw new Error(`zip entry escapes the task root: ${entry.name}`);
    const path = join(taskRoot, entry.name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, entry.data());
  }
  return entries.map((entry) => entry.name);
}
