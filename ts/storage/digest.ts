// A dataset's content digest recomputed from what it stores, the way the writer computes it while
// writing (native/storage/dataset_writer.hpp): per array, SHA-256 of the images' stored chunks in
// index order and of every other array's raw little-endian rows; per file, SHA-256 over the lines
// "<name> <hex>\n"; per batch set, over "<index> <file digest>\n" of its files. HDF5 and NPZ are
// read by the addon, Zarr stores and picture folders here.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { native } from '../native/load.js';
import { runNativeTask } from '../native/task.js';
import { ARRAY_NAMES, ROW_ARRAYS } from './arrays.js';
import { PICTURE_EXTENSION, type StorageFormat } from './formats.js';
import { openDatasetFile, type OpenedFile } from './readers.js';
import { setDigest, type FileDigest } from './writer.js';
import { storedChunksSha256 } from './zarr-shards.js';
import { exists } from '../util/files.js';

/** Rows read per slice when hashing an array here. */
const SLICE_ROWS = 4 << 10;

function combine(arrays: Record<string, string>): string {
  return createHash('sha256')
    .update(ARRAY_NAMES.filter((n) => arrays[n] !== undefined).map((n) => `${n} ${arrays[n]}\n`).join(''))
    .digest('hex');
}

/** The raw rows of every array but images, hashed slice by slice (timestamps as the int64 they are on disk). */
async function rowDigests(file: OpenedFile): Promise<Record<string, string>> {
  const hashes = new Map(ROW_ARRAYS.map((a) => [a.name, createHash('sha256')]));
  const seen = new Set<string>();
  for (let r = 0; r < file.rows || (r === 0 && file.rows === 0); r += SLICE_ROWS) {
    const rows = Float64Array.from({ length: Math.min(SLICE_ROWS, file.rows - r) }, (_, i) => r + i);
    const got = await file.read(rows, { images: false });
    for (const [name, data] of got.arrays) {
      seen.add(name);
      const bytes = name === 'timestamps' ? BigInt64Array.from(data as Float64Array, (v) => BigInt(v)) : data;
      hashes.get(name)?.update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    if (file.rows === 0) break;
  }
  return Object.fromEntries([...hashes].filter(([name]) => seen.has(name)).map(([name, h]) => [name, h.digest('hex')]));
}

async function filesDigest(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) h.update(await readFile(p));
  return h.digest('hex');
}

/** The images' stored chunks in order: Zarr 3 inner chunks from its shards, else a file per image. */
async function imagesDigest(path: string, format: 'zarr' | 'png' | 'jpeg', rows: number): Promise<string> {
  if (format === 'zarr' && (await exists(join(path, 'zarr.json')))) return storedChunksSha256(path, 'images');
  const chunks =
    format === 'zarr'
      ? Array.from({ length: rows }, (_, i) => join(path, 'images', `${i}.0.0`))
      : Array.from({ length: rows }, (_, i) => join(path, String(i).padStart(9, '0') + PICTURE_EXTENSION[format]));
  return filesDigest(chunks);
}

/** One file's digest. */
export async function digestFile(path: string, format: StorageFormat): Promise<FileDigest> {
  if (format === 'hdf5' || format === 'npz') return runNativeTask((done) => native().digestDataset(path, format, done));
  const file = await openDatasetFile(path, format);
  const arrays = { images: await imagesDigest(path, format, file.rows), ...(await rowDigests(file)) };
  return { contentSha256: combine(arrays), arrays };
}

/** The digest of a dataset's files, and of the dataset (a set's files in order). */
export async function digestFiles(files: string[], format: StorageFormat): Promise<{ digests: FileDigest[]; contentSha256: string }> {
  const digests: FileDigest[] = [];
  for (const f of files) digests.push(await digestFile(f, format));
  return { digests, contentSha256: setDigest(digests) };
}
