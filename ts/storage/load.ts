// loadImagesFromStorage: images and their arrays back from any format, by range or by list, for a
// single output or a whole batch-mode set (given its first file or its stem).
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { invalidParameterError, OhlcError, throwIfAborted, ErrorCode } from '../errors.js';
import { exists } from '../util/files.js';
import { checkInteger, checkOptionalObject, checkSignal, checkString, isPlainObject } from '../validate.js';
import { batchOutputPath, formatFromExtension, parseBatchOutput, PICTURE_EXTENSION, singleOutputPath, stemOf, STORAGE_FORMATS, type StorageFormat } from './formats.js';
import { ROW_ARRAYS, type RowArray } from './arrays.js';
import { openDatasetFile, type OpenedFile } from './readers.js';

export interface LoadOptions {
  /** A range { start, end } (end exclusive; default: to the end), or a list of indices. Default: all. */
  indices?: { start?: number; end?: number } | ArrayLike<number>;
  signal?: AbortSignal;
  /** How the caller's users name the options, for messages (the CLI: { format: '--format' }). */
  terms?: { format?: string };
  /** false: every array but the images (which come back empty), far faster for labels and prices. */
  images?: boolean;
}

export interface LoadedDataset {
  images: Uint8Array | Float32Array;
  sequences: Float64Array;
  /** Open time (ms, UTC) of each window's last candle. */
  timestamps: Float64Array;
  labels?: Int8Array;
  returns?: Float64Array;
  /** Index into metadata.symbols of each image (datasets of several symbols). */
  symbolIndex?: Uint16Array;
  /** 0 train, 1 validation, 2 test (datasets with splits). */
  split?: Uint8Array;
  /** [N, L] volumes of each window (layouts that draw volume). */
  volumes?: Float64Array;
  /** [N, L] moving-average values each image's line was drawn from, NaN where none. */
  ma?: Float64Array;
  /** Metadata of the (first) file. */
  metadata: Record<string, unknown>;
  /** [images returned, height, width] */
  shape: [number, number, number];
  /** Images in the whole dataset. */
  total: number;
  format: StorageFormat;
  files: string[];
}


/** The format of an existing output: by its suffix, or by what a directory holds. */
async function detectFormat(path: string): Promise<StorageFormat | undefined> {
  const bySuffix = formatFromExtension(path);
  if (bySuffix) return bySuffix;
  const s = await stat(path).catch(() => null);
  if (s?.isDirectory()) {
    if ((await exists(join(path, 'zarr.json'))) || (await exists(join(path, '.zgroup')))) return 'zarr';
    const names = await readdir(path);
    if (names.includes('metadata.json')) return names.some((n) => n.endsWith(PICTURE_EXTENSION.jpeg)) ? 'jpeg' : 'png';
  }
  return undefined;
}

/** Every <stem>_NNNNN output of a batch set, from _00000 up to the first missing. */
async function batchSiblings(stem: string, format: StorageFormat): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; ; i++) {
    const p = batchOutputPath(stem, format, i);
    if (!(await exists(p))) break;
    files.push(p);
  }
  return files;
}

/** The files of a dataset: one output, or every <stem>_NNNNN output of a batch set. */
async function resolveFiles(path: string, format: StorageFormat | undefined, formatTerm = 'format'): Promise<{ format: StorageFormat; files: string[] }> {
  const full = resolve(path);
  if (await exists(full)) {
    const fmt = format ?? (await detectFormat(full));
    if (!fmt) throw new OhlcError(ErrorCode.storage, `cannot tell the format of ${full} (expected .h5, .npz, .zarr, a _png or _jpeg folder); pass ${formatTerm === 'format' ? 'the format' : formatTerm}`);
    const batch = parseBatchOutput(full, fmt);
    if (batch && batch.index === 0) return { format: fmt, files: await batchSiblings(batch.stem, fmt) };
    return { format: fmt, files: [full] };
  }
  // A stem: the single output with the format's suffix, or a batch set; both at once is ambiguous.
  const found: Array<{ format: StorageFormat; files: string[] }> = [];
  for (const fmt of format ? [format] : STORAGE_FORMATS) {
    const stem = stemOf(full, fmt);
    if (await exists(singleOutputPath(stem, fmt))) found.push({ format: fmt, files: [singleOutputPath(stem, fmt)] });
    const set = await batchSiblings(stem, fmt);
    if (set.length > 0) found.push({ format: fmt, files: set });
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    const names = found.map((f) => (f.files.length > 1 || parseBatchOutput(f.files[0], f.format) ? `the batch set ${f.files[0]}…` : f.files[0]));
    throw new OhlcError(ErrorCode.storage, `${full} names ${found.length} datasets: ${names.join(' and ')}; give the file (or a set's first file) instead`);
  }
  throw new OhlcError(ErrorCode.notFound, `${full} does not exist (nor does a batch set ${stemOf(full, format ?? formatFromExtension(full) ?? 'hdf5')}_00000...)`);
}

/** Metadata that must agree across the files of one batch set (a mixed set would load wrong labels). */
const SET_KEYS = ['set_id', 'config_sha256', 'seq_len', 'height', 'width', 'dtype', 'layout', 'horizons'] as const;

/** Refuses a batch set whose files were not written together, naming the first file that disagrees. */
function checkOneSet(opened: OpenedFile[]): void {
  const first = opened[0];
  for (const file of opened.slice(1)) {
    for (const key of SET_KEYS) {
      const a = JSON.stringify(first.metadata[key] ?? null);
      const b = JSON.stringify(file.metadata[key] ?? null);
      if (a !== b) {
        throw new OhlcError(
          ErrorCode.storage,
          `${file.path} does not belong to the batch set of ${first.path}: its ${key} is ${b}, the first file's ${a} (files of two builds are mixed; rebuild the set)`,
        );
      }
    }
  }
}

function requestedIndices(indices: LoadOptions['indices'], total: number): Float64Array {
  if (indices === undefined) return Float64Array.from({ length: total }, (_, i) => i);
  if (isPlainObject(indices) && !('length' in indices)) {
    const start = indices.start === undefined ? 0 : checkInteger('indices.start', indices.start, 0);
    const end = indices.end === undefined ? total : checkInteger('indices.end', indices.end, 0);
    if (end > total) throw invalidParameterError('indices.end', `an index of at most ${total} (the dataset holds ${total} images)`, end, true);
    if (start > end) throw invalidParameterError('indices.start', `a start of at most indices.end (${end})`, start, true);
    return Float64Array.from({ length: end - start }, (_, i) => start + i);
  }
  if (!Array.isArray(indices) && !(ArrayBuffer.isView(indices) && !(indices instanceof DataView))) {
    throw invalidParameterError('indices', 'a range { start, end } or a list of indices', indices);
  }
  const list = indices as ArrayLike<number | bigint>;
  const out = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const v = Number(list[i]);
    if (!Number.isInteger(v) || v < 0 || v >= total) {
      throw invalidParameterError(`indices[${i}]`, `an integer index below ${total} (the dataset holds ${total} images)`, list[i], true);
    }
    out[i] = v;
  }
  return out;
}

/** Copies row `from` of a per-file array to row `to` of the output. */
function copyRow<T extends { set(a: ArrayLike<number>, o: number): void; subarray(a: number, b: number): ArrayLike<number> }>(dst: T, src: T, per: number, from: number, to: number) {
  dst.set(src.subarray(from * per, (from + 1) * per), to * per);
}

export async function loadImagesFromStorage(path: string, formatOrOptions?: StorageFormat | LoadOptions, maybeOptions?: LoadOptions): Promise<LoadedDataset> {
  checkString('path', path);
  let format: StorageFormat | undefined;
  let options: LoadOptions;
  if (typeof formatOrOptions === 'string' || formatOrOptions === undefined || formatOrOptions === null) {
    if (formatOrOptions != null && !(STORAGE_FORMATS as readonly string[]).includes(formatOrOptions)) {
      throw invalidParameterError('format', `one of ${STORAGE_FORMATS.map((f) => `"${f}"`).join(', ')}`, formatOrOptions, true);
    }
    format = (formatOrOptions ?? undefined) as StorageFormat | undefined;
    options = checkOptionalObject('options', maybeOptions) as LoadOptions;
  } else {
    options = checkOptionalObject('options', formatOrOptions) as LoadOptions;
  }
  const signal = checkSignal('signal', options.signal);

  const { format: fmt, files } = await resolveFiles(path, format, options.terms?.format);
  const opened: OpenedFile[] = [];
  for (const f of files) {
    throwIfAborted(signal);
    opened.push(await openDatasetFile(f, fmt));
  }
  checkOneSet(opened);
  const offsets = [0];
  for (const f of opened) offsets.push(offsets.at(-1)! + f.rows);
  const total = offsets.at(-1)!;
  const wanted = requestedIndices(options.indices, total);

  const meta = opened[0].metadata;
  const height = Number(meta.height);
  const width = Number(meta.width);
  const seqLen = Number(meta.seq_len);
  const k = Array.isArray(meta.horizons) ? meta.horizons.length : 0;
  const pixels = height * width;
  const n = wanted.length;
  const float = meta.dtype === 'float32';
  const withImages = options.images !== false;
  const out: LoadedDataset = {
    images: float ? new Float32Array(withImages ? n * pixels : 0) : new Uint8Array(withImages ? n * pixels : 0),
    sequences: new Float64Array(n * seqLen * 4),
    timestamps: new Float64Array(n),
    metadata: meta,
    shape: [n, height, width],
    total,
    format: fmt,
    files,
  };
  const columns = new Map<string, number>(); // elements per row of each array the dataset has

  // Per file: the sorted unique local rows, read once, then scattered to every position asking.
  for (let f = 0; f < opened.length; f++) {
    const positions: number[] = [];
    for (let i = 0; i < n; i++) if (wanted[i] >= offsets[f] && wanted[i] < offsets[f + 1]) positions.push(i);
    if (positions.length === 0) continue;
    throwIfAborted(signal);
    const local = Float64Array.from(new Set(positions.map((i) => wanted[i] - offsets[f]))).sort();
    const rows = await opened[f].read(local, { images: withImages });
    if (withImages && rows.images.length !== local.length * pixels) {
      throw new OhlcError(ErrorCode.storage, `${opened[f].path}: images are not ${height}x${width} as its metadata says`);
    }
    const slot = new Map<number, number>();
    local.forEach((r, j) => slot.set(r, j));
    for (const spec of ROW_ARRAYS) {
      const src = rows.arrays.get(spec.name);
      if (!src) continue;
      const per = local.length > 0 ? src.length / local.length : 0;
      if (!columns.has(spec.name)) {
        columns.set(spec.name, per);
        (out as unknown as Record<string, RowArray>)[spec.key] = new spec.type(n * per);
      }
    }
    for (const i of positions) {
      const j = slot.get(wanted[i] - offsets[f])!;
      if (withImages) copyRow(out.images as Uint8Array, rows.images as Uint8Array, pixels, j, i);
      for (const spec of ROW_ARRAYS) {
        const src = rows.arrays.get(spec.name);
        if (src) copyRow((out as unknown as Record<string, RowArray>)[spec.key] as Float64Array, src as Float64Array, columns.get(spec.name)!, j, i);
      }
    }
  }
  // Arrays the metadata promises exist even when no row was asked for.
  if (k > 0 && !out.labels) Object.assign(out, { labels: new Int8Array(0), returns: new Float64Array(0) });
  void seqLen;
  return out;
}
