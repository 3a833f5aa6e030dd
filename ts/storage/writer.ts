// createDatasetWriter: streams images and their arrays into HDF5, NPZ, Zarr or picture folders.
// The writer is opened with a rasterizer (CPU or CUDA) that draws the candle windows it is given;
// the addon draws and encodes on all cores and writes off the JS thread. This layer validates,
// splits appends across batch-mode files, serialises operations and turns errors into clear
// messages. Every output is written under a temporary name and renamed when complete.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { checkCandleColumns, type CandleColumns } from '../data/columns.js';
import { abortError, ErrorCode, invalidParameterError, OhlcError, throwIfAborted } from '../errors.js';
import { resolveDevice, type DeviceChoice } from '../images/device.js';
import { checkLayout, imageWidth, layoutMetadata, nativeLayout, type ImageLayout, type LayoutName } from '../images/layout.js';
import type { IntegerTypedArray, PixelDtype } from '../images/rasterize.js';
import { DEFAULT_ZARR_SHARD_IMAGES, MAX_DEFLATE_LEVEL, MAX_ZARR_SHARD_IMAGES, MAX_DIMENSION, MAX_HORIZON, MAX_QUALITY, MAX_THREADS, MIN_DEFLATE_LEVEL, MIN_HEIGHT, MIN_QUALITY, MIN_SEQ_LEN } from '../limits.js';
import type { NativeWriter, NativeWriterBatch } from '../native/addon.js';
import { native } from '../native/load.js';
import { lendToNative, runNativeTask } from '../native/task.js';
import { removeQuietly, temporaryPath } from '../util/files.js';
import { sha256Hex } from '../util/hash.js';
import {
  checkBoolean,
  checkFixedBuffer,
  checkInteger,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalInteger,
  checkSignal,
  checkString,
  isPlainObject,
} from '../validate.js';
import {
  batchOutputPath,
  checkImageSize,
  EXTENSION,
  FORMAT_CODE,
  formatFromExtension,
  singleOutputPath,
  STORAGE_FORMATS,
  type StorageFormat,
  type StorageMode,
} from './formats.js';
import { datasetMetadata, nativeMetadata, type CoreMetadata } from './metadata.js';
import { existingOutputs, moveIntoPlace, sweepDeadTemporaries } from './outputs.js';

export type Compression = 'fast' | 'none' | number;

export interface DatasetWriterOptions {
  /** Default: from the path's extension (.h5 .npz .zarr), else 'hdf5'. */
  format?: StorageFormat;
  /** 'single' (default): one output; 'batch': <stem>_00000.<ext>, ... of at most imagesPerFile images. */
  mode?: StorageMode;
  imagesPerFile?: number;
  seqLen: number;
  height: number;
  dtype?: PixelDtype;
  /** Label horizons in bars; labels and returns arrays have one column per horizon. */
  horizons?: number[];
  /** Extra metadata stored with every output (symbol, interval, stride, config, sources, skipped, ...). */
  metadata?: Record<string, unknown>;
  /** 'fast' (default: the row-delta deflate encoder), 'none', or a deflate level 1..12 (smaller, slower). */
  compression?: Compression;
  /** JPEG quality 1..100 (default 95). */
  quality?: number;
  /** Zarr: format version 3 (default: chunks gathered into shard files) or 2 (a file per chunk, for zarr-python 2). */
  zarrFormat?: 2 | 3;
  /** Zarr format 3: images per shard file, 1..2^20 (default 1,024). */
  zarrShardImages?: number;
  /**
   * Replace an existing dataset at the path (default false: it is an error). Only a dataset this
   * package wrote is ever replaced: a folder of other files, or a file of another kind, never is.
   */
  overwrite?: boolean;
  /** Drawing and compression threads; 0 or absent for all cores. */
  threads?: number;
  /** Where candle windows are drawn: 'auto' (the GPU when usable, default), 'cpu' or 'cuda'. */
  device?: DeviceChoice;
  /** Optional per-image arrays the dataset stores; each append must then give them. */
  arrays?: { symbolIndex?: boolean; split?: boolean };
  /** 'ohlc-4px' (default) or 'jkx' (docs/IMAGE-JKX.md): its datasets also store volumes and, with a line, ma. */
  layout?: LayoutName;
  /** jkx: the volume strip (default true). */
  volume?: boolean;
  /** jkx: moving-average length (default seqLen; 0 for none). */
  ma?: number;
}

/**
 * One append, in one of two shapes: candle windows (`candles` + `starts`), drawn by the writer's
 * rasterizer, their sequences taken from the candles; or finished `images` with their `sequences`.
 */
export interface DatasetBatch {
  images?: Uint8Array | Float32Array;
  sequences?: Float64Array;
  candles?: CandleColumns;
  starts?: IntegerTypedArray | Float64Array;
  /** Open time (ms, UTC) of each window's last candle. */
  timestamps: Float64Array | BigInt64Array;
  labels?: Int8Array;
  returns?: Float64Array;
  /** Index into the dataset's `symbols` of each image (with arrays.symbolIndex). */
  symbolIndex?: Uint16Array;
  /** 0 train, 1 validation, 2 test of each image (with arrays.split). */
  split?: Uint8Array;
  /** jkx candle windows: per window, 0 where its moving-average history crosses a gap (default: usable when it starts ma - 1 candles in). */
  maOk?: Uint8Array;
  /** jkx finished images: their volumes (count * seqLen) and, with a line, the MA values drawn (count * seqLen, NaN without). */
  volumes?: Float64Array;
  ma?: Float64Array;
}

/** The digests of one finished file (native/storage/dataset_writer.hpp says what they cover). */
export interface FileDigest {
  contentSha256: string;
  /** SHA-256 of each array, by its name in the file. */
  arrays: Record<string, string>;
}

export interface DatasetWriteResult {
  /** Absolute paths of the outputs, in order. */
  files: string[];
  count: number;
  /** Outputs of the dataset this one replaced that it did not overwrite: removed. */
  removed: string[];
  /** The digest of each file, in order. */
  digests: FileDigest[];
  /** One file's content digest; for a batch set, SHA-256 over "<index> <digest>\n" of its files. */
  contentSha256: string;
}

/** Extra metadata for the last file, given now or made from its digests (a manifest, say). */
export type CloseMetadata = Record<string, unknown> | ((last: FileDigest, earlier: FileDigest[]) => Record<string, unknown>);

export interface DatasetWriter {
  readonly format: StorageFormat;
  /** Images appended so far. */
  readonly count: number;
  append(batch: DatasetBatch, options?: { signal?: AbortSignal }): Promise<void>;
  /** Completes the outputs (metadata may add or replace keys, e.g. final skip counts). */
  close(metadata?: CloseMetadata): Promise<DatasetWriteResult>;
  /** Removes the output in progress; outputs already completed in batch mode stay. */
  abort(): Promise<void>;
}

const OPTION_KEYS = ['format', 'mode', 'imagesPerFile', 'seqLen', 'height', 'dtype', 'horizons', 'metadata', 'compression', 'quality', 'zarrFormat', 'zarrShardImages', 'overwrite', 'threads', 'device', 'arrays', 'layout', 'volume', 'ma'];
const BATCH_KEYS = ['images', 'sequences', 'candles', 'starts', 'timestamps', 'labels', 'returns', 'symbolIndex', 'split', 'maOk', 'volumes', 'ma'];

interface Resolved {
  path: string;
  format: StorageFormat;
  mode: StorageMode;
  imagesPerFile: number;
  seqLen: number;
  height: number;
  dtype: PixelDtype;
  horizons: number[];
  metadata: Record<string, unknown>;
  compression: number;
  quality: number;
  zarrFormat: 2 | 3;
  zarrShardImages: number;
  overwrite: boolean;
  threads: number;
  device: 'cpu' | 'cuda';
  arrays: { symbolIndex: boolean; split: boolean };
  layout: ImageLayout;
  width: number;
}

function resolveOptions(path: unknown, options: unknown): Resolved {
  const p = resolve(checkString('path', path));
  const o = checkObject('options', options);
  checkKnownKeys('options', o, OPTION_KEYS);
  const named = formatFromExtension(p);
  const format = checkOneOf('format', o.format, STORAGE_FORMATS, named ?? 'hdf5');
  if (named && named !== format) {
    throw invalidParameterError('path', `a path for a ${format} output (ending in ${EXTENSION[format]} or with no suffix), not one naming a ${named} output`, path, true);
  }
  const mode = checkOneOf('mode', o.mode, ['single', 'batch'] as const, 'single');
  const horizons = o.horizons ?? [];
  if (!Array.isArray(horizons)) throw invalidParameterError('horizons', 'an array of positive integers', horizons);
  horizons.forEach((h, i) => checkInteger(`horizons[${i}]`, h, 1, MAX_HORIZON));
  if (o.metadata !== undefined && !isPlainObject(o.metadata)) throw invalidParameterError('metadata', 'an object', o.metadata);
  let compression: number;
  if (o.compression === undefined || o.compression === 'fast') compression = -1;
  else if (o.compression === 'none') compression = 0;
  else compression = checkInteger('compression', o.compression, MIN_DEFLATE_LEVEL, MAX_DEFLATE_LEVEL);
  const seqLen = checkInteger('seqLen', o.seqLen, MIN_SEQ_LEN, MAX_DIMENSION);
  const height = checkInteger('height', o.height, MIN_HEIGHT, MAX_DIMENSION);
  const layout = checkLayout(o, seqLen, height);
  const resolved: Resolved = {
    path: p,
    format,
    mode,
    imagesPerFile: checkOptionalInteger('imagesPerFile', o.imagesPerFile, 50_000, 1),
    seqLen,
    height,
    dtype: checkOneOf('dtype', o.dtype, ['uint8', 'float32'] as const, 'uint8'),
    horizons: horizons as number[],
    metadata: (o.metadata as Record<string, unknown>) ?? {},
    compression,
    quality: checkOptionalInteger('quality', o.quality, 95, MIN_QUALITY, MAX_QUALITY),
    zarrFormat: checkZarrFormat(o.zarrFormat),
    zarrShardImages: checkOptionalInteger('zarrShardImages', o.zarrShardImages, DEFAULT_ZARR_SHARD_IMAGES, 1, MAX_ZARR_SHARD_IMAGES),
    overwrite: checkBoolean('overwrite', o.overwrite, false),
    threads: checkOptionalInteger('threads', o.threads, 0, 0, MAX_THREADS),
    device: resolveDevice(o.device),
    arrays: checkOptionalArrays(o.arrays),
    layout,
    width: imageWidth(layout.layout, seqLen),
  };
  checkImageSize(resolved.format, resolved.seqLen, resolved.height, resolved.dtype, layout.layout);
  return resolved;
}

function checkZarrFormat(value: unknown): 2 | 3 {
  if (value === undefined) return 3;
  if (value !== 2 && value !== 3) throw invalidParameterError('zarrFormat', '2 or 3 (the Zarr format version)', value, typeof value === 'number');
  return value;
}

function checkOptionalArrays(value: unknown): Resolved['arrays'] {
  const o = value === undefined ? {} : checkObject('arrays', value);
  checkKnownKeys('arrays', o, ['symbolIndex', 'split']);
  return { symbolIndex: checkBoolean('arrays.symbolIndex', o.symbolIndex, false), split: checkBoolean('arrays.split', o.split, false) };
}

/** A per-image array of the batch: `count` elements of `Type`, present exactly when the dataset stores it. */
function checkPerImage<T extends Uint8Array | Uint16Array>(name: string, value: unknown, Type: { new (n: number): T; readonly name: string }, count: number, stored: boolean, option: string): T | undefined {
  if (!stored) {
    if (value !== undefined) throw invalidParameterError(`batch.${name}`, `absent (the writer was created without ${option})`, value);
    return undefined;
  }
  if (!(value instanceof Type) || value.length !== count) throw invalidParameterError(`batch.${name}`, `a ${Type.name} of ${count} elements (one per timestamp)`, value);
  return checkFixedBuffer(`batch.${name}`, value);
}

/** A single file's content digest, or for a set the digest over its files' digests in order. */
export function setDigest(digests: readonly FileDigest[]): string {
  if (digests.length === 1) return digests[0].contentSha256;
  return sha256Hex(digests.map((d, i) => `${i} ${d.contentSha256}\n`).join(''));
}

/** A native storage failure as an error naming the file it is about. */
function storageError(path: string): (err: Error) => Error {
  return (err) => ((err as { code?: string }).code === ErrorCode.storage ? new OhlcError(ErrorCode.storage, `${path}: ${err.message}`, { cause: err }) : err);
}

function openNative(opts: Resolved, path: string, tempPath: string): Promise<NativeWriter> {
  const options = {
    format: FORMAT_CODE[opts.format],
    path,
    tempPath,
    overwrite: opts.overwrite,
    seqLen: opts.seqLen,
    height: opts.height,
    dtype: opts.dtype === 'uint8' ? 0 : 1,
    horizons: opts.horizons.length,
    compression: opts.compression,
    jpegQuality: opts.quality,
    zarrFormat: opts.zarrFormat,
    zarrShardImages: opts.zarrShardImages,
    threads: opts.threads,
    device: opts.device === 'cuda' ? 1 : 0,
    symbolIndex: opts.arrays.symbolIndex,
    split: opts.arrays.split,
    ...nativeLayout(opts.layout),
  } as const;
  return runNativeTask<NativeWriter>((done) => native().openWriter(options, done), { mapError: storageError(path) });
}

/** A validated batch, as the addon takes it, and its parts (a batch-mode file may take a part). */
interface CheckedBatch {
  count: number;
  slice(from: number, to: number): NativeWriterBatch;
  /** The arrays native work reads. */
  lent: ArrayBufferView[];
}

function checkBatch(batch: unknown, opts: Resolved): CheckedBatch {
  const b = checkObject('batch', batch);
  checkKnownKeys('batch', b, BATCH_KEYS);
  const pixels = opts.height * opts.width;
  const k = opts.horizons.length;
  const jkx = opts.layout.layout === 'jkx';
  const L = opts.seqLen;

  const ts = b.timestamps;
  if (!(ts instanceof Float64Array) && !(ts instanceof BigInt64Array)) throw invalidParameterError('batch.timestamps', 'a Float64Array or BigInt64Array of ms since the epoch', ts);
  const count = ts.length;
  const timestamps = ts instanceof Float64Array ? checkFixedBuffer('batch.timestamps', ts) : Float64Array.from(ts, (v) => Number(v));
  for (let i = 0; i < count; i++) {
    if (!Number.isSafeInteger(timestamps[i])) throw invalidParameterError(`batch.timestamps[${i}]`, 'an integer number of ms', timestamps[i], true);
  }

  let images: Uint8Array | Float32Array | undefined;
  if (b.images !== undefined) {
    const Expected = opts.dtype === 'uint8' ? Uint8Array : Float32Array;
    if (!(b.images instanceof Expected)) throw invalidParameterError('batch.images', `a ${Expected.name} (dtype ${opts.dtype})`, b.images);
    if (b.images.length !== count * pixels) {
      throw invalidParameterError('batch.images', `${count} images of ${opts.height}x${opts.width} (${count * pixels} elements, one per timestamp)`, b.images, true);
    }
    images = checkFixedBuffer('batch.images', b.images);
    if (b.candles !== undefined) throw invalidParameterError('batch.candles', 'absent when images are given (a batch is images with their sequences, or candle windows to draw)', b.candles);
  }

  let candles: CandleColumns | undefined;
  let starts: Float64Array | undefined;
  let sequences: Float64Array | undefined;
  if (b.candles !== undefined) {
    // The jkx layout stores every window's volumes: the column is needed even without the strip.
    candles = checkCandleColumns(b.candles, 'batch.candles', jkx ? ['volume'] : []);
    const n = candles.open.length;
    const s = b.starts;
    if (!ArrayBuffer.isView(s) || s instanceof DataView || s instanceof Float32Array) {
      throw invalidParameterError('batch.starts', 'an integer typed array of window starts', s);
    }
    if ((s as unknown as ArrayLike<unknown>).length !== count) throw invalidParameterError('batch.starts', `${count} starts (one per timestamp)`, s, true);
    starts = new Float64Array(count);
    const src = s as unknown as ArrayLike<number | bigint>;
    for (let i = 0; i < count; i++) {
      const v = Number(src[i]);
      if (!Number.isInteger(v) || v < 0 || v + opts.seqLen > n) {
        throw invalidParameterError(`batch.starts[${i}]`, `a start between 0 and ${n - opts.seqLen}`, src[i], true);
      }
      starts[i] = v;
    }
    if (b.sequences !== undefined) throw invalidParameterError('batch.sequences', 'absent with candle windows (their sequences come from the candles)', b.sequences);
  } else if (b.starts !== undefined && !images) {
    throw invalidParameterError('batch.candles', 'the candles the starts refer to', b.candles);
  } else if (!images) {
    throw invalidParameterError('batch.images', 'images (with sequences) or candles (with starts)', undefined);
  } else {
    if (!(b.sequences instanceof Float64Array)) throw invalidParameterError('batch.sequences', 'a Float64Array of count * seqLen * 4 prices (or candles with starts to take them from)', b.sequences);
    if (b.sequences.length !== count * opts.seqLen * 4) throw invalidParameterError('batch.sequences', `a Float64Array of ${count * opts.seqLen * 4} elements`, b.sequences, true);
    sequences = checkFixedBuffer('batch.sequences', b.sequences);
    if (b.starts !== undefined) throw invalidParameterError('batch.candles', 'the candles the starts refer to', b.candles);
  }

  let labels: Int8Array | undefined;
  let returns: Float64Array | undefined;
  if (k > 0) {
    if (!(b.labels instanceof Int8Array) || b.labels.length !== count * k) throw invalidParameterError('batch.labels', `an Int8Array of ${count * k} elements (count x ${k} horizons)`, b.labels);
    if (!(b.returns instanceof Float64Array) || b.returns.length !== count * k) throw invalidParameterError('batch.returns', `a Float64Array of ${count * k} elements (count x ${k} horizons)`, b.returns);
    labels = checkFixedBuffer('batch.labels', b.labels);
    returns = checkFixedBuffer('batch.returns', b.returns);
  } else if (b.labels !== undefined || b.returns !== undefined) {
    throw invalidParameterError('batch.labels', 'absent (the writer was created without horizons)', b.labels ?? b.returns);
  }

  let maOk: Uint8Array | undefined;
  if (b.maOk !== undefined) {
    if (!jkx || !candles) throw invalidParameterError('batch.maOk', "absent (it goes with candle windows of the jkx layout)", b.maOk);
    if (!(b.maOk instanceof Uint8Array) || b.maOk.length !== count) throw invalidParameterError('batch.maOk', `a Uint8Array of ${count} elements (one per window)`, b.maOk);
    maOk = checkFixedBuffer('batch.maOk', b.maOk);
  }
  // Finished jkx images bring the rows that redraw them.
  const rowsOf = (name: 'volumes' | 'ma', stored: boolean): Float64Array | undefined => {
    const v = b[name];
    if (!images || !stored) {
      if (v !== undefined) throw invalidParameterError(`batch.${name}`, images ? `absent (this dataset stores no ${name})` : 'absent with candle windows (they come from the candles)', v);
      return undefined;
    }
    if (!(v instanceof Float64Array) || v.length !== count * L) throw invalidParameterError(`batch.${name}`, `a Float64Array of ${count * L} elements (count x seqLen)`, v);
    return checkFixedBuffer(`batch.${name}`, v);
  };
  const volumes = rowsOf('volumes', jkx);
  const ma = rowsOf('ma', jkx && opts.layout.ma > 0);

  const symbolIndex = checkPerImage('symbolIndex', b.symbolIndex, Uint16Array, count, opts.arrays.symbolIndex, 'arrays.symbolIndex');
  const split = checkPerImage('split', b.split, Uint8Array, count, opts.arrays.split, 'arrays.split');
  const rows = (from: number, to: number) => ({
    count: to - from,
    timestamps: timestamps.subarray(from, to),
    labels: labels?.subarray(from * k, to * k),
    returns: returns?.subarray(from * k, to * k),
    symbolIndex: symbolIndex?.subarray(from, to),
    split: split?.subarray(from, to),
  });
  const lent = [timestamps, labels, returns, images, sequences, symbolIndex, split, maOk, volumes, ma, candles?.open, candles?.high, candles?.low, candles?.close, jkx ? candles?.volume : undefined].filter(
    (a): a is NonNullable<typeof a> => a !== undefined,
  );
  return {
    count,
    lent,
    slice(from, to) {
      if (images) {
        return {
          ...rows(from, to),
          images: images.subarray(from * pixels, to * pixels),
          sequences: sequences!.subarray(from * L * 4, to * L * 4),
          ...(volumes ? { volumes: volumes.subarray(from * L, to * L) } : {}),
          ...(ma ? { ma: ma.subarray(from * L, to * L) } : {}),
        };
      }
      const c = candles!;
      return {
        ...rows(from, to),
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        ...(jkx ? { volume: c.volume } : {}),
        starts: starts!.subarray(from, to),
        ...(maOk ? { maOk: maOk.subarray(from, to) } : {}),
        windowBase: from,
      };
    },
  };
}

export async function createDatasetWriter(path: string, options: DatasetWriterOptions): Promise<DatasetWriter> {
  const opts = resolveOptions(path, options);
  const createdAt = new Date();
  const outputPath = (i: number) => (opts.mode === 'batch' ? batchOutputPath(opts.path, opts.format, i) : singleOutputPath(opts.path, opts.format));

  await mkdir(dirname(outputPath(0)), { recursive: true });
  // What this dataset replaces: checked now, so nothing is written when it may not be replaced.
  const before = await existingOutputs(opts.path, opts.format);
  for (const found of [before.single, ...before.batch]) {
    if (found.kind === 'other') {
      throw new OhlcError(ErrorCode.exists, `${found.path} exists and is ${found.what}; it is never replaced (choose another output path)`);
    }
    if (found.kind === 'dataset' && !opts.overwrite) {
      throw new OhlcError(ErrorCode.exists, `${found.path} already exists (pass overwrite: true to replace it)`);
    }
  }
  const setId = randomUUID();
  // A batch set is moved into place as a whole at close(): until then its files wait under
  // temporary names, so an interrupted rebuild leaves the old set as it was.
  const staged: Array<{ staged: string; final: string }> = [];

  const files: string[] = [];
  let current: NativeWriter | undefined;
  let currentPath = '';
  let currentCount = 0;
  let fileIndex = 0;
  let total = 0;
  let state: 'open' | 'closed' | 'failed' = 'open';
  let queue: Promise<unknown> = Promise.resolve();

  const coreMeta = { seq_len: opts.seqLen, height: opts.height, width: opts.width, dtype: opts.dtype, horizons: opts.horizons, ...layoutMetadata(opts.layout) } as CoreMetadata;
  const fileMetadata = (extra: Record<string, unknown>) => {
    const meta = datasetMetadata(coreMeta, { ...opts.metadata, ...extra }, createdAt);
    if (opts.mode === 'batch') Object.assign(meta, { batch_index: fileIndex, first_index: total - currentCount, images_per_file: opts.imagesPerFile, set_id: setId });
    return nativeMetadata(meta);
  };

  let currentTarget = '';
  const openNext = async () => {
    currentPath = outputPath(fileIndex);
    // A batch file completes under a staged name; close() swaps the whole set in.
    currentTarget = opts.mode === 'batch' ? temporaryPath(currentPath) : currentPath;
    current = await openNative(opts, currentTarget, temporaryPath(currentPath));
    currentCount = 0;
  };
  const digests: FileDigest[] = [];
  const closeCurrent = async (extra: CloseMetadata) => {
    const w = current!;
    current = undefined;
    const digest = await runNativeTask<FileDigest>((done) => w.seal(done), { mapError: storageError(currentPath) });
    const more = typeof extra === 'function' ? extra(digest, [...digests]) : extra;
    await runNativeTask((done) => w.close(fileMetadata(more), done), { mapError: storageError(currentPath) });
    digests.push(digest);
    if (opts.mode === 'batch') staged.push({ staged: currentTarget, final: currentPath });
    files.push(currentPath);
    fileIndex++;
  };
  const dropStaged = () => Promise.all(staged.splice(0).map((s) => removeQuietly(s.staged)));
  const abortNative = (w: NativeWriter) => runNativeTask((done) => w.abort(done), { mapError: storageError(currentPath) });
  const failWith = async (err: unknown): Promise<never> => {
    state = 'failed';
    const w = current;
    current = undefined;
    if (w) await abortNative(w).catch(() => undefined);
    await dropStaged();
    throw err;
  };

  // Operations run one after another, in call order.
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = queue.then(op, op);
    queue = run.catch(() => undefined);
    return run;
  };
  const checkUsable = () => {
    if (state === 'closed') throw new OhlcError(ErrorCode.storage, 'the dataset writer is closed');
    if (state === 'failed') throw new OhlcError(ErrorCode.storage, 'the dataset writer failed earlier and was aborted');
  };

  await openNext();

  const writer: DatasetWriter = {
    format: opts.format,
    get count() {
      return total;
    },
    async append(batch, appendOptions = {}) {
      checkUsable();
      const prepared = checkBatch(batch, opts);
      // Lent now, while the append may still wait behind another: a transfer in between copies.
      lendToNative(prepared.lent);
      const signal = checkSignal('signal', appendOptions.signal);
      return serial(async () => {
        checkUsable();
        throwIfAborted(signal);
        let from = 0;
        while (from < prepared.count) {
          if (!current) await openNext().catch(failWith);
          const room = opts.mode === 'batch' ? opts.imagesPerFile - currentCount : Infinity;
          const to = Math.min(prepared.count, from + room);
          // An abort between the parts of a split batch stops before the next part starts.
          if (signal?.aborted) await failWith(abortError(signal));
          const part = prepared.slice(from, to);
          const w = current!;
          try {
            await runNativeTask((done) => w.append(part, done), { signal, lend: prepared.lent, mapError: storageError(currentPath) });
          } catch (err) {
            // A native failure leaves the file inconsistent: drop it, and say so.
            await failWith(err);
          }
          currentCount += to - from;
          total += to - from;
          from = to;
          if (opts.mode === 'batch' && currentCount >= opts.imagesPerFile) await closeCurrent({}).catch(failWith);
        }
      });
    },
    async close(metadata = {}) {
      if (!isPlainObject(metadata) && typeof metadata !== 'function') throw invalidParameterError('metadata', 'an object, or a function of the digests returning one', metadata);
      return serial(async () => {
        checkUsable();
        if (current && (currentCount > 0 || files.length === 0)) await closeCurrent(metadata).catch(failWith);
        else if (current) {
          const w = current;
          current = undefined;
          await abortNative(w);
        }
        state = 'closed';
        for (const s of staged.splice(0)) await moveIntoPlace(s.staged, s.final);
        // What this dataset replaces but did not overwrite: an old set's files past the new last
        // one (they would load as part of this set), and the other mode's output of the same name.
        const removed =
          opts.mode === 'batch'
            ? [...before.batch.slice(files.length), ...(before.single.kind === 'dataset' ? [before.single] : [])].map((o) => o.path)
            : before.batch.map((o) => o.path);
        for (const path of removed) await removeQuietly(path);
        for (const f of files) await sweepDeadTemporaries(f);
        return { files: [...files], count: total, removed, digests: [...digests], contentSha256: setDigest(digests) };
      });
    },
    abort() {
      return serial(async () => {
        if (state === 'closed') return;
        state = 'closed';
        const w = current;
        current = undefined;
        if (w) await abortNative(w);
        await dropStaged();
      });
    },
  };
  return writer;
}
