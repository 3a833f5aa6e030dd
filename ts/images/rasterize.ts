// rasterize / rasterizeAsync: candle windows -> chart images (docs/IMAGE.md, or the jkx layout of
// docs/IMAGE-JKX.md), drawn by the addon's Rasterizer (C++/OpenMP or CUDA kernels); and
// classifyWindows: what would become of each window, without drawing. Every call funnels through
// prepareWindows, which does every argument check; the native side only re-checks what it relies on.
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
import { checkLayout, imageWidth, nativeLayout, WINDOW_STATUS, type ImageLayout, type LayoutName, type WindowStatusName } from './layout.js';

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
  /** Bars per image (L >= 1; >= 2 for jkx); the image is 4 * seqLen pixels wide (3 * seqLen for jkx). */
  seqLen: number;
  /** Image height in pixels (>= 2; >= 5 for jkx with the volume strip). */
  height: number;
  /** 'ohlc-4px' (default, docs/IMAGE.md) or 'jkx' (Jiang, Kelly & Xiu's layout, docs/IMAGE-JKX.md). */
  layout?: LayoutName;
  /** jkx: draw the volume strip (default true; needs candles.volume). */
  volume?: boolean;
  /** jkx: moving-average length (default seqLen; 0 draws no line). Its history is the ma - 1 candles before each window. */
  ma?: number;
  /** jkx: per window, 0 where its moving-average history is not usable (crosses a gap, say); default: usable whenever the window starts at least ma - 1 candles in. */
  maOk?: Uint8Array;
  /**
   * jkx: redraw stored images from their MA values (a dataset's `ma` rows, count * seqLen, NaN
   * rows without a line) instead of averaging the history; drawn on the CPU.
   */
  maValues?: Float64Array;
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

const WINDOW_KEYS = ['seqLen', 'height', 'stride', 'starts', 'threads', 'layout', 'volume', 'ma', 'maOk', 'maValues'];
const OPTION_KEYS = [...WINDOW_KEYS, 'dtype', 'out', 'device', 'signal', 'onProgress'];

interface PreparedRaster {
  call: NativeRasterCall;
  result: RasterResult;
}

/** The candles, windows and layout of a call, checked. */
interface PreparedWindows {
  call: Omit<NativeRasterCall, 'out' | 'dtype' | 'device'>;
  layout: ImageLayout;
  width: number;
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

function prepareWindows(candles: unknown, o: Record<string, unknown>): PreparedWindows {
  const seqLen = checkInteger('seqLen', o.seqLen, MIN_SEQ_LEN, MAX_DIMENSION);
  const height = checkInteger('height', o.height, MIN_HEIGHT, MAX_DIMENSION);
  const layout = checkLayout(o, seqLen, height);
  const c = checkCandleColumns(candles, 'candles', layout.volume ? ['volume'] : []);
  const threads = checkOptionalInteger('threads', o.threads, 0, 0, MAX_THREADS);
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
  let maOk: Uint8Array | undefined;
  if (o.maOk !== undefined) {
    if (layout.layout !== 'jkx') throw invalidParameterError('maOk', "absent with layout 'ohlc-4px' (it applies to the jkx layout's moving average)", o.maOk);
    if (!(o.maOk instanceof Uint8Array) || o.maOk.length !== count) throw invalidParameterError('maOk', `a Uint8Array of ${count} elements (one per window)`, o.maOk);
    maOk = checkFixedBuffer('maOk', o.maOk);
  }
  let maValues: Float64Array | undefined;
  if (o.maValues !== undefined) {
    if (layout.layout !== 'jkx') throw invalidParameterError('maValues', "absent with layout 'ohlc-4px' (it applies to the jkx layout's moving average)", o.maValues);
    if (!(o.maValues instanceof Float64Array) || o.maValues.length !== count * seqLen) throw invalidParameterError('maValues', `a Float64Array of ${count * seqLen} elements (count x seqLen)`, o.maValues);
    maValues = checkFixedBuffer('maValues', o.maValues);
  }
  return {
    call: {
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
      ...(layout.layout === 'jkx' && c.volume ? { volume: c.volume } : {}),
      ...(maOk ? { maOk } : {}),
      ...(maValues ? { maValues } : {}),
      starts,
      first: 0,
      stride,
      count,
      seqLen,
      height,
      threads,
      ...nativeLayout(layout),
    },
    layout,
    width: imageWidth(layout.layout, seqLen),
  };
}

function cudaRefused(): never {
  throw invalidParameterError('device', "'cpu' or 'auto' with maValues (stored moving-average values are redrawn on the CPU)", 'cuda');
}

function prepareRaster(candles: unknown, options: unknown): PreparedRaster {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, OPTION_KEYS);
  const { call: windows, width } = prepareWindows(candles, o);
  const { count, height } = windows;
  const dtype = checkOneOf('dtype', o.dtype, ['uint8', 'float32'] as const, 'uint8');
  // Stored MA values are redrawn on the CPU (the GPU kernels average the history).
  const device = windows.maValues ? (o.device === 'cuda' ? cudaRefused() : 'cpu') : resolveDevice(o.device);

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
    call: { ...windows, dtype: dtype === 'uint8' ? 0 : 1, out, device: device === 'cuda' ? 1 : 0 },
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
      ...(call.maOk ? { maOk: call.maOk.subarray(done, done + n) } : {}),
      ...(call.maValues ? { maValues: call.maValues.subarray(done * call.seqLen, (done + n) * call.seqLen) } : {}),
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

export interface ClassifyOptions {
  seqLen: number;
  height: number;
  stride?: number;
  starts?: IntegerTypedArray;
  layout?: LayoutName;
  volume?: boolean;
  ma?: number;
  maOk?: Uint8Array;
  threads?: number;
  /** Also return the moving-average values each window would be drawn with (jkx with a line). */
  withMa?: boolean;
  signal?: AbortSignal;
}

export interface WindowClassification {
  /** Per window, an index into `reasons`: 0 drawable, else why it cannot be drawn. */
  status: Uint8Array;
  /** 'ok', 'invalid_price', 'invalid_volume', 'flat', 'overflow'. */
  reasons: readonly WindowStatusName[];
  /** With withMa: count * seqLen values, NaN where no line is drawn; else empty. */
  ma: Float64Array;
}

/**
 * What would become of each window (the same rule as drawing, computed on the CPU whatever the
 * device), so a caller can leave out windows that cannot be drawn before it draws or writes.
 */
export async function classifyWindows(candles: CandleColumns, options: ClassifyOptions): Promise<WindowClassification> {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, [...WINDOW_KEYS, 'withMa', 'signal']);
  const { call } = prepareWindows(candles, o);
  const withMa = o.withMa === true;
  const signal = checkSignal('signal', o.signal);
  if (call.count === 0) return { status: new Uint8Array(0), reasons: WINDOW_STATUS, ma: new Float64Array(0) };
  const lent = [call.open, call.high, call.low, call.close, call.volume, call.maOk, call.starts].filter((a): a is NonNullable<typeof a> => a != null);
  const r = await runNativeTask<{ status: Uint8Array; ma: Float64Array }>((done) => native().classifyWindows({ ...call, dtype: 0, withMa }, done), { signal, lend: lent });
  return { status: r.status, reasons: WINDOW_STATUS, ma: r.ma };
}
