// loadImagesFromStorage: images and their arrays back from any format, by range or by list, for a
// single output or a whole batch-mode set (given its first file or its stem).
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { invalidParameterError, OhlcError, throwIfAborted, ErrorCode } from '../errors.js';
import { exists } from '../util/files.js';
import { checkInteger, checkOptionalObject, checkSignal, checkString, isPlainObject } from '../validate.js';
import { batchOutputPath, EXTENSION, formatFromExtension, PICTURE_EXTENSION, STORAGE_FORMATS, type StorageFormat } from './formats.js';
import { openDatasetFile, type OpenedFile } from './readers.js';

export interface LoadOptions {
  /** A range { start, end } (end exclusive; default: to the end), or a list of indices. Default: all. */
  indices?: { start?: number; end?: number } | ArrayLike<number>;
  signal?: AbortSignal;
}

export interface LoadedDataset {
  images: Uint8Array | Float32Array;
  sequences: Float64Array;
  /** Open time (ms, UTC) of each window's last candle. */
  timestamps: Float64Array;
  labels?: Int8Array;
  returns?: Float64Array;
  /** Metadata of the (first) file. */
  metadata: Record<string, unknown>;
  /** [images returned, height, width] */
  shape: [number, number, number];
  /** Images in the whole dataset. */
  total: number;
  format: StorageFormat;
  files: string[];
}


/** The format of an existing output: by extension, or by what a directory holds. */
async function detectFormat(path: string): Promise<StorageFormat | undefined> {
  const byExt = formatFromExtension(path);
  if (byExt) return byExt;
  const s = await stat(path).catch(() => null);
  if (s?.isDirectory()) {
    if (await exists(join(path, '.zgroup'))) return 'zarr';
    const names = await readdir(path);
    if (names.includes('metadata.json')) return names.some((n) => n.endsWith(PICTURE_EXTENSION.jpeg)) ? 'jpeg' : 'png';
  }
  return undefined;
}

/** The files of a dataset: one output, or every <stem>_NNNNN output of a batch set. */
async function resolveFiles(path: string, format: StorageFormat | undefined): Promise<{ format: StorageFormat; files: string[] }> {
  const full = resolve(path);
  const batch = /^(.*)_(\d{5})$/.exec(basename(full, extname(full)));
  if (batch && batch[2] === '00000' && (await exists(full))) {
    const fmt = format ?? (await detectFormat(full));
    if (!fmt) throw new OhlcError(ErrorCode.storage, `cannot tell the format of ${full}; pass it`);
    return { format: fmt, files: await batchSiblings(join(dirname(full), batch[1]), fmt) };
  }
  if (await exists(full)) {
    const fmt = format ?? (await detectFormat(full));
    if (!fmt) throw new OhlcError(ErrorCode.storage, `cannot tell the format of ${full} (expected .h5, .npz, .zarr or a picture folder); pass the format`);
    return { format: fmt, files: [full] };
  }
  // A stem: the single output with the format's extension, or a batch set.
  for (const fmt of format ? [format] : STORAGE_FORMATS) {
    if (await exists(full + EXTENSION[fmt]) && EXTENSION[fmt]) return { format: fmt, files: [full + EXTENSION[fmt]] };
    const first = `${full}_00000${EXTENSION[fmt]}`;
    if (await exists(first)) {
      const detected = EXTENSION[fmt] ? fmt : (await detectFormat(first)) ?? fmt;
      if (format && detected !== format) continue;
      return { format: detected, files: await batchSiblings(full, detected) };
    }
  }
  const stem = format ? full.slice(0, full.length - (extname(full) === EXTENSION[format] ? extname(full).length : 0)) : full.replace(/\.(h5|hdf5|npz|zarr)$/i, '');
  throw new OhlcError(ErrorCode.notFound, `${full} does not exist (nor does a batch set ${stem}_00000...)`);
}

async function batchSiblings(stem: string, format: StorageFormat): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; ; i++) {
    const p = batchOutputPath(stem, format, i);
    if (!(await exists(p))) break;
    files.push(p);
  }
  return files;
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

  const { format: fmt, files } = await resolveFiles(path, format);
  const opened: OpenedFile[] = [];
  for (const f of files) {
    throwIfAborted(signal);
    opened.push(await openDatasetFile(f, fmt));
  }
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
  const out: LoadedDataset = {
    images: float ? new Float32Array(n * pixels) : new Uint8Array(n * pixels),
    sequences: new Float64Array(n * seqLen * 4),
    timestamps: new Float64Array(n),
    labels: k > 0 ? new Int8Array(n * k) : undefined,
    returns: k > 0 ? new Float64Array(n * k) : undefined,
    metadata: meta,
    shape: [n, height, width],
    total,
    format: fmt,
    files,
  };

  // Per file: the sorted unique local rows, read once, then scattered to every position asking.
  for (let f = 0; f < opened.length; f++) {
    const positions: number[] = [];
    for (let i = 0; i < n; i++) if (wanted[i] >= offsets[f] && wanted[i] < offsets[f + 1]) positions.push(i);
    if (positions.length === 0) continue;
    throwIfAborted(signal);
    const local = Float64Array.from(new Set(positions.map((i) => wanted[i] - offsets[f]))).sort();
    const rows = await opened[f].read(local);
    if (rows.images.length !== local.length * pixels) {
      throw new OhlcError(ErrorCode.storage, `${opened[f].path}: images are not ${height}x${width} as its metadata says`);
    }
    const slot = new Map<number, number>();
    local.forEach((r, j) => slot.set(r, j));
    for (const i of positions) {
      const j = slot.get(wanted[i] - offsets[f])!;
      copyRow(out.images as Uint8Array, rows.images as Uint8Array, pixels, j, i);
      copyRow(out.sequences, rows.sequences, seqLen * 4, j, i);
      out.timestamps[i] = rows.timestamps[j];
      if (k > 0 && rows.labels && rows.returns) {
        copyRow(out.labels!, rows.labels, k, j, i);
        copyRow(out.returns!, rows.returns, k, j, i);
      }
    }
  }
  return out;
}
