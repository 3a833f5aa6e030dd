// rasterize / rasterizeAsync: candle windows -> OHLC bar images (docs/IMAGE.md), drawn by the
// addon's Rasterizer (C++/OpenMP or CUDA kernels). Both calls funnel through prepareRaster, which
// does every argument check; the native side only re-checks what it relies on.
import { constants as bufferConstants } from 'node:buffer';
import { checkCandleColumns, type CandleColumns } from '../data/columns.js';
import { abortError, invalidParameterError, throwIfAborted } from '../errors.js';
import { MAX_DIMENSION, MAX_THREADS, MIN_HEIGHT, MIN_SEQ_LEN } from '../limits.js';
import type { NativeRasterCall } from '../native/addon.js';
import { native } from '../native/load.js';
import { callNative, runNativeTask } from '../native/task.js';
import {
  checkFixedBuffer,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkObject,
  checkOneOf,
  checkOptionalInteger,
  checkSignal,
} from '../validate.js';
import { resolveDevice, type DeviceChoice, type ResolvedDevice } from './device.js';

export type PixelDtype = 'uint8' | 'float32';

export type IntegerTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface RasterizeOptions {
  /** Bars per image (L >= 1); the image is 4 * seqLen pixels wide. */
  seqLen: number;
  /** Image height in pixels (>= 2). */
  height: number;
  /** Distance between window starts (default 1); ignored when `starts` is given. */
  stride?: number;
  /** 'uint8' (0/1, default) or 'float32' (0.0/1.0). */
  dtype?: PixelDtype;
  /** Explicit window start indices. */
  starts?: IntegerTypedArray;
  /** Output to fill instead of allocating (at least count * height * width elements). */
  out?: Uint8Array | Float32Array;
  /** CPU threads, 0 or absent for all. */
  threads?: number;
  /** 'auto' (GPU when present, default), 'cpu' or 'cuda'. */
  device?: DeviceChoice;
}

export interface RasterizeAsyncOptions extends RasterizeOptions {
  signal?: AbortSignal;
  /** Called after each chunk of windows with the number done so far. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

export interface RasterResult<T extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  /** count * height * width pixels, row-major [image][row][column]. */
  images: T;
  count: number;
  height: number;
  width: number;
  device: ResolvedDevice;
}

const OPTION_KEYS = ['seqLen', 'height', 'stride', 'dtype', 'starts', 'out', 'threads', 'device', 'signal', 'onProgress'];

interface PreparedRaster {
  call: NativeRasterCall;
  result: RasterResult;
}

function isIntegerTypedArray(v: unknown): v is IntegerTypedArray {
  return (
    v instanceof Int8Array ||
    v instanceof Uint8Array ||
    v instanceof Int16Array ||
    v instanceof Uint16Array ||
    v instanceof Int32Array ||
    v instanceof Uint32Array ||
    v instanceof BigInt64Array ||
    v instanceof BigUint64Array
  );
}

function checkStarts(value: unknown, lastStart: number): Float64Array {
  if (!isIntegerTypedArray(value)) throw invalidParameterError('starts', 'an integer typed array (Int32Array, Uint32Array, BigInt64Array, ...)', value);
  checkFixedBuffer('starts', value);
  const out = new Float64Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const s = Number(value[i]);
    if (!(s >= 0 && s <= lastStart)) {
      const expected = lastStart < 0 ? 'no start at all (there are fewer candles than seqLen)' : `a start between 0 and ${lastStart} (candles - seqLen)`;
      throw invalidParameterError(`starts[${i}]`, expected, value[i], true);
    }
    out[i] = s;
  }
  return out;
}

function prepareRaster(candles: unknown, options: unknown): PreparedRaster {
  const c = checkCandleColumns(candles);
  const o = checkObject('options', options);
  checkKnownKeys('options', o, OPTION_KEYS);
  const seqLen = checkInteger('seqLen', o.seqLen, MIN_SEQ_LEN, MAX_DIMENSION);
  const height = checkInteger('height', o.height, MIN_HEIGHT, MAX_DIMENSION);
  const dtype = checkOneOf('dtype', o.dtype, ['uint8', 'float32'] as const, 'uint8');
  const threads = checkOptionalInteger('threads', o.threads, 0, 0, MAX_THREADS);
  const device = resolveDevice(o.device);
  const n = c.open.length;
  const lastStart = n - seqLen;

  let starts: Float64Array | null = null;
  let stride = 1;
  let count: number;
  if (o.starts !== undefined) {
    starts = checkStarts(o.starts, lastStart);
    count = starts.length;
  } else {
    stride = checkOptionalInteger('stride', o.stride, 1, 1);
    count = lastStart < 0 ? 0 : Math.floor(lastStart / stride) + 1;
  }

  const width = 4 * seqLen;
  const bytesPerPixel = dtype === 'uint8' ? 1 : 4;
  const elements = count * height * width;
  const maxBytes = bufferConstants.MAX_LENGTH;
  if (!Number.isSafeInteger(elements * bytesPerPixel) || elements * bytesPerPixel > maxBytes) {
    throw invalidParameterError(
      'seqLen/height/windows',
      `sizes whose images fit one typed array (at most ${maxBytes} bytes; ${count} images of ${height}x${width} ${dtype} need ${elements * bytesPerPixel}); rasterize fewer windows per call`,
      count,
      true,
    );
  }

  let out: Uint8Array | Float32Array;
  if (o.out !== undefined) {
    const Expected = dtype === 'uint8' ? Uint8Array : Float32Array;
    if (!(o.out instanceof Expected) || (dtype === 'uint8' && o.out instanceof Uint8ClampedArray)) {
      throw invalidParameterError('out', `a ${Expected.name} (dtype is ${dtype})`, o.out);
    }
    if (o.out.length < elements) {
      throw invalidParameterError('out', `a ${Expected.name} of at least ${elements} elements (${count} images of ${height}x${width})`, o.out, true);
    }
    out = checkFixedBuffer('out', o.out);
  } else {
    // Every pixel gets written, so skip the zero-fill of a fresh allocation.
    const bytes = Buffer.allocUnsafeSlow(elements * bytesPerPixel);
    out = dtype === 'uint8' ? new Uint8Array(bytes.buffer, bytes.byteOffset, elements) : new Float32Array(bytes.buffer, bytes.byteOffset, elements);
  }
  const images = out.length === elements ? out : out.subarray(0, elements);

  return {
    call: {
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
      starts,
      first: 0,
      stride,
      count,
      seqLen,
      height,
      dtype: dtype === 'uint8' ? 0 : 1,
      out,
      threads,
      device: device === 'cuda' ? 1 : 0,
    },
    result: { images, count, height, width, device },
  };
}

/** Draws every window synchronously (blocks the calling thread; see rasterizeAsync). */
export function rasterize(candles: CandleColumns, options: RasterizeOptions & { dtype: 'float32' }): RasterResult<Float32Array>;
export function rasterize(candles: CandleColumns, options: RasterizeOptions): RasterResult<Uint8Array>;
export function rasterize(candles: CandleColumns, options: RasterizeOptions): RasterResult {
  const { call, result } = prepareRaster(candles, options);
  if (call.count > 0) callNative(() => native().rasterize(call));
  return result;
}

/** Target bytes of output per native call, so progress and abort stay responsive. */
const CHUNK_BYTES = 64 << 20;

/**
 * Draws every window on a worker thread (OpenMP inside), keeping the event loop free. The input
 * span is copied before work starts; `out` must not be touched until the promise settles.
 */
export async function rasterizeAsync(candles: CandleColumns, options: RasterizeAsyncOptions & { dtype: 'float32' }): Promise<RasterResult<Float32Array>>;
export async function rasterizeAsync(candles: CandleColumns, options: RasterizeAsyncOptions): Promise<RasterResult<Uint8Array>>;
export async function rasterizeAsync(candles: CandleColumns, options: RasterizeAsyncOptions): Promise<RasterResult> {
  const { call, result } = prepareRaster(candles, options);
  const signal = checkSignal('signal', options.signal);
  const onProgress = checkFunction<(p: { done: number; total: number }) => void>('onProgress', options.onProgress);
  throwIfAborted(signal);

  const pixels = result.height * result.width;
  const imageBytes = pixels * (call.dtype === 0 ? 1 : 4);
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / imageBytes));
  for (let done = 0; done < call.count; ) {
    const n = Math.min(perChunk, call.count - done);
    const chunk: NativeRasterCall = {
      ...call,
      count: n,
      starts: call.starts ? call.starts.subarray(done, done + n) : null,
      first: call.starts ? 0 : done * call.stride,
      out: call.out.subarray(done * pixels, (done + n) * pixels),
      windowBase: done,
    };
    await runNativeTask((done) => native().rasterizeAsync(chunk, done), { signal, lend: [chunk.out] });
    if (signal?.aborted) throw abortError(signal);
    done += n;
    onProgress?.({ done, total: call.count });
  }
  return result;
}
