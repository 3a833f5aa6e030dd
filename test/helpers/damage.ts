// Damaging datasets on purpose, the way a bad disk, a hostile file or another tool would: an NPZ
// member rewritten (a .npy header claiming another shape), a ZIP size field patched, a Zarr
// .zarray edited; and reading one in a child process, to see how long it takes and how much
// memory it needs.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';
import { zipMembers } from './klines-fixtures.js';

export async function readZipMembers(bytes: Buffer): Promise<Array<{ name: string; data: Buffer }>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))));
  const out: Array<{ name: string; data: Buffer }> = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('error', reject);
        stream.once('end', () => {
          out.push({ name: entry.fileName, data: Buffer.concat(chunks) });
          zip.readEntry();
        });
      });
    });
    zip.once('end', resolve);
    zip.once('error', reject);
    zip.readEntry();
  });
  return out;
}

/** A .npy member whose header claims `shape` (the header keeps its length; the data is unchanged). */
export function withNpyShape(npy: Buffer, shape: number[]): Buffer {
  const length = npy[8] | (npy[9] << 8);
  const header = npy.subarray(10, 10 + length).toString('latin1');
  const dict = header.replace(/'shape': \([^)]*\)/, `'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''})`).trimEnd();
  if (dict.length + 1 > length) throw new Error('the new shape does not fit the header');
  return Buffer.concat([npy.subarray(0, 10), Buffer.from(dict.padEnd(length - 1, ' ') + '\n', 'latin1'), npy.subarray(10 + length)]);
}

/** Copies the NPZ at `src` to `dst` with member `name` edited. */
export async function rewriteNpzMember(src: string, dst: string, name: string, edit: (data: Buffer) => Buffer): Promise<void> {
  const members = await readZipMembers(readFileSync(src));
  if (!members.some((m) => m.name === name)) throw new Error(`${src} has no member ${name}`);
  writeFileSync(dst, await zipMembers(members.map((m) => (m.name === name ? { name, data: edit(m.data) } : m))));
}

/** Sets the uncompressed size the central directory records for member `name`. */
export function patchZipUncompressedSize(path: string, name: string, size: number): void {
  const bytes = readFileSync(path);
  for (let p = bytes.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1')); p >= 0; p = bytes.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'), p - 1)) {
    const nameLength = bytes.readUInt16LE(p + 28);
    if (bytes.subarray(p + 46, p + 46 + nameLength).toString() === name) {
      bytes.writeUInt32LE(size, p + 24);
      writeFileSync(path, bytes);
      return;
    }
  }
  throw new Error(`${path}: no central directory entry ${name}`);
}

/** Parses the JSON file at `path`, lets `edit` change it, writes it back. */
export function editJson(path: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}

const DIST_INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface ChildLoad {
  /** The error's code, or null when the load succeeded. */
  code: string | null;
  message: string;
  /** Peak resident memory of the child, in MiB. */
  peakMiB: number;
  ms: number;
}

/** Loads rows `indices` of the dataset at `path` in a fresh Node process (the built package). */
export function loadInChild(path: string, indices: number[]): ChildLoad {
  const script = `
    import { loadImagesFromStorage } from ${JSON.stringify(DIST_INDEX)};
    let result;
    try {
      await loadImagesFromStorage(process.argv[1], { indices: JSON.parse(process.argv[2]) });
      result = { code: null, message: '' };
    } catch (err) {
      result = { code: err.code ?? null, message: String(err.message) };
    }
    console.log(JSON.stringify({ ...result, peakMiB: process.resourceUsage().maxRSS / 1024 }));`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, path, JSON.stringify(indices)], { encoding: 'utf8', timeout: 60_000 });
  const ms = Date.now() - started;
  if (r.status !== 0) throw new Error(`the child failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as Omit<ChildLoad, 'ms'>), ms };
}
