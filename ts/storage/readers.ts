// One reader per format, behind one interface: open a file (its row count and metadata), then
// read sorted, unique rows. HDF5 and NPZ are read by the addon, Zarr by zarrita, picture folders
// here (PNG through pngjs, JPEG through the addon's libjpeg) with their arrays.npz sidecar.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PNG } from 'pngjs';
import type * as Zarrita from 'zarrita';
import type FileSystemStore from '@zarrita/storage/fs';
import { OhlcError, ErrorCode } from '../errors.js';
import { native } from '../native/load.js';
import type { NativeJpeg, NativeReadResult } from '../native/addon.js';
import { runNativeTask } from '../native/task.js';
import { PICTURE_EXTENSION, type StorageFormat } from './formats.js';
import { ARRAY_NAMES, ROW_ARRAYS, type RowArray } from './arrays.js';
import { decodeAttributes } from './metadata.js';

const REQUIRED = new Set(['images', ...ROW_ARRAYS.filter((a) => a.required).map((a) => a.name)]);

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

async function openNativeFile(path: string, format: 'hdf5' | 'npz' | 'npz-arrays'): Promise<OpenedFile> {
  const head = await nativeRead(path, format, new Float64Array(0));
  const metadata = format === 'hdf5' ? decodeAttributes(head.attributes) : parseJson(head.metadataJson, path);
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

async function openZarr(path: string): Promise<OpenedFile> {
  // Loaded on first use: most runs never read Zarr, and the CLI starts faster without it.
  const zarr: typeof Zarrita = await import('zarrita');
  const { default: Store } = await import('@zarrita/storage/fs');
  const root = zarr.root(new Store(path));
  let group;
  try {
    group = await zarr.open.v2(root, { kind: 'group' });
  } catch (err) {
    throw new OhlcError(ErrorCode.storage, `${path} is not a Zarr v2 group (${(err as Error).message})`, { cause: err });
  }
  const arrays = new Map<string, Zarrita.Array<Zarrita.DataType, FileSystemStore>>();
  for (const name of ARRAY_NAMES) {
    try {
      arrays.set(name, await zarr.open.v2(root.resolve(name), { kind: 'array' }));
    } catch (err) {
      if (!REQUIRED.has(name)) continue;
      throw new OhlcError(ErrorCode.storage, `${path} has no '${name}' array: not an ohlc-native dataset`, { cause: err });
    }
  }
  const images = arrays.get('images')!;
  const read = async (rows: Float64Array, options?: { images?: boolean }): Promise<FileRows> => {
    const out: Record<string, ArrayBufferView> = {};
    for (const [name, arr] of arrays) {
      if (name === 'images' && options?.images === false) continue;
      const rowElems = arr.shape.slice(1).reduce((a, b) => a * b, 1);
      let target: (Uint8Array | Int8Array | Float32Array | Float64Array | BigInt64Array) | undefined;
      let filled = 0;
      for (const [a, b] of runs(rows)) {
        const sel = [zarr.slice(a, b), ...arr.shape.slice(1).map(() => null)];
        const chunk = (await zarr.get(arr, sel)) as { data: Uint8Array | Int8Array | Float32Array | Float64Array | BigInt64Array };
        if (!target) target = new (chunk.data.constructor as new (n: number) => typeof chunk.data)(rows.length * rowElems);
        (target as Uint8Array).set(chunk.data as Uint8Array, filled);
        filled += chunk.data.length;
      }
      if (!target) target = new Float64Array(0);
      out[name] = target instanceof BigInt64Array ? Float64Array.from(target, (v) => Number(v)) : target;
    }
    if (rows.length === 0 || options?.images === false) out.images = images.dtype === 'float32' ? new Float32Array(0) : new Uint8Array(0);
    const { images: pixels, ...rest } = out;
    return { images: pixels as Uint8Array | Float32Array, arrays: new Map(Object.entries(rest) as Array<[string, RowArray]>) };
  };
  return { path, rows: images.shape[0], metadata: (group.attrs ?? {}) as Record<string, unknown>, read };
}

async function openPictures(path: string, format: 'png' | 'jpeg'): Promise<OpenedFile> {
  let metadata: Record<string, unknown>;
  try {
    metadata = parseJson(await readFile(join(path, 'metadata.json'), 'utf8'), path);
  } catch (err) {
    if (err instanceof OhlcError) throw err;
    throw new OhlcError(ErrorCode.storage, `${path} is not a picture dataset folder (no readable metadata.json)`, { cause: err });
  }
  const arrays = await openNativeFile(join(path, 'arrays.npz'), 'npz-arrays');
  const height = Number(metadata.height);
  const width = Number(metadata.width);
  const float = metadata.dtype === 'float32';
  const ext = PICTURE_EXTENSION[format];
  const decode = async (file: string): Promise<Uint8Array> => {
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
      // 8-bit pictures back to the stored 0/1 (JPEG is lossy: threshold at mid-gray).
      for (let p = 0; p < pixels; p++) images[i * pixels + p] = gray[p] >= 128 ? 1 : 0;
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
