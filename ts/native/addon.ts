// The addon's whole surface as the TS layer calls it: plain typed arrays, numbers and strings,
// validated first. Every async method takes `done` (and, where work reports it, `progress`) last
// and returns the function that cancels it; ts/native/task.ts is the one place that calls them.
import type { KlineColumns } from '../data/columns.js';

export type NativeDone<T = void> = (err: Error | null, result?: T) => void;
export type NativeProgress = (done: number, total: number) => void;
export type NativeCancel = () => void;

export interface NativeCudaInfo {
  compiled: boolean;
  available: boolean;
  device: number;
  name: string;
  reason: string;
  memoryBytes: number;
  multiprocessors: number;
  computeCapability: string;
}

export interface NativeInfo {
  sourceHash: string;
  openmp: boolean;
  threads: number;
  cuda: NativeCudaInfo;
}

/** 0 cpu, 1 cuda */
export type NativeDevice = 0 | 1;
/** 0 uint8, 1 float32 */
export type NativeDtype = 0 | 1;

export interface NativeRasterCall {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  /** Explicit window starts (integers), or null for first + i * stride. */
  starts: Float64Array | null;
  first: number;
  stride: number;
  count: number;
  seqLen: number;
  height: number;
  dtype: NativeDtype;
  out: Uint8Array | Float32Array;
  /** 0 = all */
  threads: number;
  device: NativeDevice;
  /** Added to window numbers in error messages (for calls over a slice of the windows). */
  windowBase?: number;
  /** 0 ohlc-4px, 1 jkx (absent: 0). */
  layout?: 0 | 1;
  /** jkx: the volume strip, the moving-average length, the volume column, per-window history flags. */
  volumeStrip?: boolean;
  ma?: number;
  volume?: Float64Array;
  maOk?: Uint8Array;
  /** jkx: stored MA values to draw (count * seqLen), instead of averaging the history. */
  maValues?: Float64Array;
}

export interface NativeKlinesCall {
  /** The archive, for error messages. */
  name: string;
  skipMalformed: boolean;
}

/** How a ZIP member is read for parsing. */
export interface NativeMemberKlinesCall extends NativeKlinesCall {
  /** 0: inflated whole (libdeflate), then parsed; > 0: inflated in slices of this many bytes (zlib) into the incremental parser. */
  sliceBytes: number;
  /** Rows the columns are reserved for when slicing (0: none; they grow by an eighth as needed). */
  expectedRows: number;
}

export interface NativeKlinesProblem {
  /** 1-based line number in the CSV. */
  line: number;
  /** The Binance column name, or null when no single field is to blame. */
  field: string | null;
  message: string;
}

/** Parsed columns (openTime in ms since the epoch, UTC; microsecond rows normalised). */
export interface NativeKlines extends KlineColumns {
  rows: number;
  header: boolean;
  microsecondRows: number;
  skipped: number;
  firstSkipped: NativeKlinesProblem | null;
}

/**
 * A ZIP member as the archive's central directory declares it (read by yauzl in ts/data/zip.ts),
 * for the native inflater: it inflates into exactly `uncompressedSize` bytes and checks `crc32`.
 */
export interface NativeZipMember {
  /** The archive, for error messages. */
  archive: string;
  /** The member's file name, for error messages. */
  name: string;
  /** Where the member's compressed bytes start in the archive. */
  offset: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Unsigned. */
  crc32: number;
  /** 0 stored, 8 deflate. */
  method: number;
}

export interface NativeWriterOptions {
  /** 0 hdf5, 1 npz, 2 zarr, 3 png, 4 jpeg */
  format: number;
  path: string;
  tempPath: string;
  overwrite: boolean;
  seqLen: number;
  height: number;
  dtype: NativeDtype;
  horizons: number;
  /** -1 fast, 0 none, 1..12 deflate level */
  compression: number;
  jpegQuality: number;
  /** Zarr format version (2 or 3) and, for 3, images per shard file. */
  zarrFormat: 2 | 3;
  zarrShardImages: number;
  threads: number;
  /** The device of the writer's rasterizer (draws candle-window batches). */
  device: NativeDevice;
  /** Optional arrays the dataset stores (the layout adds volumes and ma: jkx). */
  symbolIndex: boolean;
  split: boolean;
  /** 0 ohlc-4px, 1 jkx. */
  layout: 0 | 1;
  volumeStrip: boolean;
  ma: number;
}

/** One append: candle windows to draw, or finished images with their sequences. */
export type NativeWriterBatch = {
  count: number;
  timestamps: Float64Array;
  labels?: Int8Array;
  returns?: Float64Array;
  symbolIndex?: Uint16Array;
  split?: Uint8Array;
} & (
  | { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array; volume?: Float64Array; starts: Float64Array; maOk?: Uint8Array; windowBase?: number }
  | { images: Uint8Array | Float32Array; sequences: Float64Array; volumes?: Float64Array; ma?: Float64Array }
);

export interface NativeWriterMetadata {
  attributes: Array<{ name: string; kind: 'int' | 'float' | 'bool' | 'string' | 'int[]' | 'float[]' | 'string[]'; value: number | boolean | string | number[] | string[] }>;
  json: string;
}

export interface NativeWriter {
  readonly rows: number;
  /** Cancelling leaves the writer failed: it must then be aborted. */
  append(batch: NativeWriterBatch, done: NativeDone): NativeCancel;
  /** Writes the last chunks; done(null, digests). Then only close or abort. */
  seal(done: NativeDone<{ contentSha256: string; arrays: Record<string, string> }>): NativeCancel;
  close(metadata: NativeWriterMetadata, done: NativeDone): NativeCancel;
  abort(done: NativeDone): NativeCancel;
}

export interface NativeReadResult {
  rows: number;
  arrays: Array<{ name: string; type: 'u8' | 'i8' | 'u16' | 'i64' | 'f32' | 'f64'; shape: number[]; data: ArrayBuffer }>;
  attributes: Record<string, number | boolean | string | number[] | string[]>;
  metadataJson: string;
}

export interface NativeJpeg {
  height: number;
  width: number;
  pixels: ArrayBuffer;
}

export interface NativeAddon {
  info(): NativeInfo;
  rasterize(call: NativeRasterCall): void;
  rasterizeAsync(call: NativeRasterCall, done: NativeDone, progress?: NativeProgress): NativeCancel;
  /** Per window its WindowStatus (0 drawable), and with withMa its MA values (jkx). */
  classifyWindows(call: Omit<NativeRasterCall, 'out' | 'device'> & { withMa: boolean }, done: NativeDone<{ status: Uint8Array; ma: Float64Array }>): NativeCancel;
  parseKlines(csv: Uint8Array, call: NativeKlinesCall): NativeKlines;
  parseKlinesAsync(csv: Uint8Array, call: NativeKlinesCall, done: NativeDone<NativeKlines>): NativeCancel;
  /** The member's bytes, inflated off the JS thread and checked (size, CRC-32). */
  inflateMemberAsync(archive: Uint8Array, member: NativeZipMember, done: NativeDone<Buffer>): NativeCancel;
  /** Inflates and parses the member in one task. */
  /** archive: the archive in memory, or its file's path (then sliceBytes > 0: read a block at a time). */
  parseKlinesMemberAsync(archive: Uint8Array | string, member: NativeZipMember, call: NativeMemberKlinesCall, done: NativeDone<NativeKlines>): NativeCancel;
  /** Inflates the member slice by slice and checks its size and CRC-32, keeping nothing. */
  verifyMemberAsync(archive: Uint8Array, member: NativeZipMember, sliceBytes: number, done: NativeDone): NativeCancel;
  /** Detaches the arrays' buffers (their memory is freed now); returns the bytes released. */
  releaseColumns(columns: Float64Array[]): number;
  /** `images: false` reads every array but the images (their shape still comes back). */
  readDataset(path: string, format: 'hdf5' | 'npz' | 'npz-arrays', rows: Float64Array, options: { images: boolean }, done: NativeDone<NativeReadResult>): NativeCancel;
  decodeJpeg(bytes: Uint8Array, done: NativeDone<NativeJpeg>): NativeCancel;
  /** The content digest of an HDF5 or NPZ dataset file, recomputed from what it stores. */
  digestDataset(path: string, format: 'hdf5' | 'npz', done: NativeDone<{ contentSha256: string; arrays: Record<string, string> }>): NativeCancel;
  openWriter(options: NativeWriterOptions, done: NativeDone<NativeWriter>): NativeCancel;
  /** A new HDF5 file at tempPath whose datasets are virtual datasets laying the sources' rows end to end. */
  writeVirtualHdf5(tempPath: string, sources: Array<{ openPath: string; storedPath: string }>, metadata: NativeWriterMetadata, done: NativeDone<NativeVirtualResult>): NativeCancel;
}

export interface NativeVirtualResult {
  rows: number;
  rowsPerSource: number[];
  datasets: string[];
}
