// One reader per format, behind one interface: open a file (its row count and metadata), then
// read sorted, unique rows. HDF5 and NPZ are read by the addon, Zarr by zarrita, picture folders
// here (PNG through pngjs, JPEG through the addon's libjpeg) with their arrays.npz sidecar. What a
// file declares is checked against the dataset contract (contract.ts) when it is opened.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PNG } from 'pngjs';
import type * as Zarrita from 'zarrita';
import { OhlcError, ErrorCode } from '../errors.js';
import { native } from '../native/load.js';
import type { NativeJpeg, NativeReadResult } from '../native/addon.js';
import { runNativeTask } from '../native/task.js';
import { checkDirectory, checkRegularFile, exists } from '../util/files.js';
import { checkDataset, metadataDims, type DeclaredArray } from './contract.js';
import { PICTURE_EXTENSION, type StorageFormat } from './formats.js';
import { ARRAY_NAMES, ROW_ARRAYS, type RowArray } from './arrays.js';
import { decodeAttributes } from './metadata.js';
import { CheckedZarrStore } from './zarr-store.js';
import { layoutOf, whiteValue } from '../images/layout.js';


export interface FileRows {
  images: Uint8Array | Float32Array;
  /** Every other array the file has, by its name in the file (ROW_ARRAYS), rows in order. */
  arrays: Map<string, RowArray>;
}

export interface OpenedFile {
  path: string;
  rows: number;
  metadata: Record<string, unknown>;
  /** Reads the given rows (sorted, unique); arrays are in that order. `images: false` leaves images empty. */
  read(rows: Float64Array, options?: { images?: boolean }): Promise<FileRows>;
}

function nativeRead(path: string, format: 'hdf5' | 'npz' | 'npz-arrays', rows: Float64Array, images = true): Promise<NativeReadResult> {
  return runNativeTask<NativeReadResult>((done) => native().readDataset(path, format, rows, { images }, done), {
    lend: [rows],
    mapError: (err) => (err instanceof OhlcError && err.code === ErrorCode.storage ? err : new OhlcError(ErrorCode.storage, err.message, { cause: err })),
  });
}

function typed(type: string, data: ArrayBuffer): Uint8Array | Int8Array | Uint16Array | Float32Array | Float64Array {
  switch (type) {
    case 'u8':
      return new Uint8Array(data);
    case 'i8':
      return new Int8Array(data);
    case 'u16':
      return new Uint16Array(data);
    case 'f32':
      return new Float32Array(data);
    case 'f64':
      return new Float64Array(data);
    case 'i64':
      return Float64Array.from(new BigInt64Array(data), (v) => Number(v));
    default:
      throw new OhlcError(ErrorCode.storage, `unexpected element type ${type}`);
  }
}

function nativeRows(result: NativeReadResult): FileRows {
  const byName = new Map(result.arrays.map((a) => [a.name, typed(a.type, a.data)]));
  const images = byName.get('images') as Uint8Array | Float32Array;
  byName.delete('images');
  return { images, arrays: byName as Map<string, RowArray> };
}

/**
 * Refuses what is not a regular file (or a directory) before anything opens it: a FIFO would
 * block the read forever. A missing one, or one stat cannot see, is a storage error too.
 */
async function checkOpenable(path: string, what: string, kind: 'file' | 'directory' = 'file'): Promise<void> {
  try {
    await (kind === 'file' ? checkRegularFile : checkDirectory)(path, what, ErrorCode.storage);
  } catch (err) {
    if (err instanceof OhlcError) throw err;
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new OhlcError(ErrorCode.storage, missing ? `${path} does not exist` : `${path} cannot be read (${(err as Error).message})`, { cause: err });
  }
}

/** numpy's names for the addon's element types, as the contract speaks of them. */
const NATIVE_TYPE_NAME = { u8: 'uint8', i8: 'int8', u16: 'uint16', i64: 'int64', f32: 'float32', f64: 'float64' } as const;

/**
 * Opens an HDF5 or NPZ file: shapes and metadata only, checked against the contract with
 * `contractMetadata` (default: the file's own).
 */
async function openNativeFile(path: string, format: 'hdf5' | 'npz' | 'npz-arrays', contractMetadata?: Record<string, unknown>): Promise<OpenedFile> {
  await checkOpenable(path, 'Dataset file');
  const head = await nativeRead(path, format, new Float64Array(0));
  const metadata = format === 'hdf5' ? decodeAttributes(head.attributes) : parseJson(head.metadataJson, path);
  const declared = head.arrays.map((a) => ({ name: a.name, type: NATIVE_TYPE_NAME[a.type], shape: a.shape }));
  checkDataset(path, declared, contractMetadata ?? metadata, format !== 'npz-arrays');
  return { path, rows: head.rows, metadata, read: async (rows, options) => nativeRows(await nativeRead(path, format, rows, options?.images !== false)) };
}

function parseJson(text: string, path: string): Record<string, unknown> {
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new OhlcError(ErrorCode.storage, `${path}: its metadata is not valid JSON`);
  }
}

/** Consecutive runs of sorted rows: [start, end) pairs. */
function runs(rows: Float64Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    while (j < rows.length && rows[j] === rows[j - 1] + 1) j++;
    out.push([rows[i], rows[j - 1] + 1]);
    i = j;
  }
  return out;
}

/** Runs grouped while they stay within one chunk of `perChunk` rows (a run across chunks is a group of its own). */
function chunkGroups(list: Array<[number, number]>, perChunk: number): Array<Array<[number, number]>> {
  const groups: Array<Array<[number, number]>> = [];
  const chunkOf = (row: number) => Math.floor(row / perChunk);
  for (const run of list) {
    const last = groups.at(-1);
    if (last && chunkOf(last[0][0]) === chunkOf(run[1] - 1) && chunkOf(last[0][0]) === chunkOf(last.at(-1)![1] - 1)) last.push(run);
    else groups.push([run]);
  }
  return groups;
}

/** A zarrita failure as the package's error, naming the store and the array. */
function zarrError(path: string, name: string, err: unknown, rows?: [number, number]): OhlcError {
  if (err instanceof OhlcError) return err;
  // The rows say which chunk (and shard) is damaged: zarrita's own message names only the codec.
  const where = rows ? `, rows ${rows[0]}..${rows[1] - 1}` : '';
  return new OhlcError(ErrorCode.storage, `${path}: array '${name}'${where}: ${(err as Error).message}${rows ? ' (the store is damaged there)' : ''}`, { cause: err });
}


async function openZarr(path: string): Promise<OpenedFile> {
  // Loaded on first use: most runs never read Zarr, and the CLI starts faster without it.
  await checkOpenable(path, 'Zarr store', 'directory');
  const zarr: typeof Zarrita = await import('zarrita');
  const { default: FileSystemStore } = await import('@zarrita/storage/fs');
  const root = zarr.root(new CheckedZarrStore(new FileSystemStore(path), path));
  // Format 3 has a zarr.json at the root, format 2 a .zgroup; one reader for both.
  const version = (await exists(join(path, 'zarr.json'))) ? 3 : 2;
  const openNode = version === 3 ? zarr.open.v3 : zarr.open.v2;
  let group;
  try {
    group = await openNode(root, { kind: 'group' });
  } catch (err) {
    if (err instanceof OhlcError) throw err;
    throw new OhlcError(ErrorCode.storage, `${path} is not a Zarr v${version} group (${(err as Error).message})`, { cause: err });
  }
  const arrays = new Map<string, Zarrita.Array<Zarrita.DataType, CheckedZarrStore>>();
  for (const name of ARRAY_NAMES) {
    try {
      arrays.set(name, await openNode(root.resolve(name), { kind: 'array' }));
    } catch (err) {
      // A missing array is the contract's to judge (the optional ones may be absent).
      if (!zarr.isZarritaError(err, 'NotFoundError')) throw zarrError(path, name, err);
    }
  }
  const metadata = (group.attrs ?? {}) as Record<string, unknown>;
  const declared: DeclaredArray[] = [...arrays].map(([name, a]) => ({ name, type: a.dtype, shape: a.shape }));
  const dims = checkDataset(path, declared, metadata);
  const readArray = async (name: string, arr: Zarrita.Array<Zarrita.DataType, CheckedZarrStore>, rows: Float64Array) => {
    const rowElems = arr.shape.slice(1).reduce((a, b) => a * b, 1);
    let target: (Uint8Array | Int8Array | Uint16Array | Float32Array | Float64Array | BigInt64Array) | undefined;
    let filled = 0;
    // zarrita decodes every chunk a get touches: runs within one chunk (a row array holds
    // thousands of rows a chunk) are read by one get over their span, not one get each.
    const perChunk = arr.chunks[0];
    for (const group of chunkGroups(runs(rows), perChunk)) {
      const [from, to] = [group[0][0], group[group.length - 1][1]];
      const sel = [zarr.slice(from, to), ...arr.shape.slice(1).map(() => null)];
      let chunk: { data: Uint8Array | Int8Array | Uint16Array | Float32Array | Float64Array | BigInt64Array };
      try {
        chunk = (await zarr.get(arr, sel)) as typeof chunk;
      } catch (err) {
        throw zarrError(path, name, err, [from, to]);
      }
      if (!target) target = new (chunk.data.constructor as new (n: number) => typeof chunk.data)(rows.length * rowElems);
      for (const [a, b] of group) {
        (target as Uint8Array).set((chunk.data as Uint8Array).subarray((a - from) * rowElems, (b - from) * rowElems), filled);
        filled += (b - a) * rowElems;
      }
    }
    return target instanceof BigInt64Array ? Float64Array.from(target, (v) => Number(v)) : target;
  };
  const read = async (rows: Float64Array, options?: { images?: boolean }): Promise<FileRows> => {
    const found = new Map<string, RowArray>();
    let images: Uint8Array | Float32Array = dims.dtype === 'float32' ? new Float32Array(0) : new Uint8Array(0);
    for (const [name, arr] of arrays) {
      if (name === 'images') {
        if (options?.images !== false && rows.length > 0) images = (await readArray(name, arr, rows)) as Uint8Array | Float32Array;
        continue;
      }
      const spec = ROW_ARRAYS.find((a) => a.name === name)!;
      found.set(name, ((rows.length > 0 ? await readArray(name, arr, rows) : undefined) as RowArray | undefined) ?? new spec.type(0));
    }
    return { images, arrays: found };
  };
  return { path, rows: arrays.get('images')!.shape[0], metadata, read };
}

async function openPictures(path: string, format: 'png' | 'jpeg'): Promise<OpenedFile> {
  await checkOpenable(path, 'Picture folder', 'directory');
  let metadata: Record<string, unknown>;
  try {
    await checkRegularFile(join(path, 'metadata.json'), 'Picture folder metadata', ErrorCode.storage);
    metadata = parseJson(await readFile(join(path, 'metadata.json'), 'utf8'), path);
  } catch (err) {
    if (err instanceof OhlcError) throw err;
    throw new OhlcError(ErrorCode.storage, `${path} is not a picture dataset folder (no readable metadata.json)`, { cause: err });
  }
  // The folder's metadata.json is what the pictures are checked against, so the arrays are too.
  const arrays = await openNativeFile(join(path, 'arrays.npz'), 'npz-arrays', metadata);
  const { height, width } = metadataDims(path, metadata);
  const float = metadata.dtype === 'float32';
  const white = whiteValue(layoutOf(metadata).layout, float ? 'float32' : 'uint8');
  const ext = PICTURE_EXTENSION[format];
  const decode = async (file: string): Promise<Uint8Array> => {
    await checkOpenable(file, 'Picture');
    const bytes = await readFile(file).catch((err) => {
      throw new OhlcError(ErrorCode.storage, `${file} cannot be read (${(err as Error).message})`, { cause: err });
    });
    let gray: Uint8Array;
    let h: number;
    let w: number;
    if (format === 'png') {
      const { PNG: Png } = await import('pngjs');
      let png: PNG;
      try {
        png = Png.sync.read(bytes);
      } catch (err) {
        throw new OhlcError(ErrorCode.storage, `${file} is not a valid PNG (${(err as Error).message})`, { cause: err });
      }
      h = png.height;
      w = png.width;
      gray = new Uint8Array(h * w);
      for (let i = 0; i < gray.length; i++) gray[i] = png.data[4 * i];
    } else {
      const r = await runNativeTask<NativeJpeg>((done) => native().decodeJpeg(bytes, done), {
        lend: [bytes],
        mapError: (err) => new OhlcError(ErrorCode.storage, `${file}: ${err.message}`, { cause: err }),
      });
      h = r.height;
      w = r.width;
      gray = new Uint8Array(r.pixels);
    }
    if (h !== height || w !== width) throw new OhlcError(ErrorCode.storage, `${file} is ${w}x${h}, the dataset says ${width}x${height}`);
    return gray;
  };
  const read = async (rows: Float64Array, options?: { images?: boolean }): Promise<FileRows> => {
    const rest = await arrays.read(rows);
    if (options?.images === false) return { ...rest, images: float ? new Float32Array(0) : new Uint8Array(0) };
    const pixels = height * width;
    const images = float ? new Float32Array(rows.length * pixels) : new Uint8Array(rows.length * pixels);
    for (let i = 0; i < rows.length; i++) {
      const gray = await decode(join(path, String(rows[i]).padStart(9, '0') + ext));
      // 8-bit pictures back to the stored values (JPEG is lossy: threshold at mid-gray).
      for (let p = 0; p < pixels; p++) images[i * pixels + p] = gray[p] >= 128 ? white : 0;
    }
    return { ...rest, images };
  };
  return { path, rows: arrays.rows, metadata, read };
}

export function openDatasetFile(path: string, format: StorageFormat): Promise<OpenedFile> {
  switch (format) {
    case 'hdf5':
    case 'npz':
      return openNativeFile(path, format);
    case 'zarr':
      return openZarr(path);
    case 'png':
    case 'jpeg':
      return openPictures(path, format);
  }
}
