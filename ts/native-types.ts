// The addon's surface as the TS layer calls it: plain typed arrays and numbers, validated first.
import type { NativeInflateCallback, NativeKlines, NativeKlinesCall, NativeKlinesCallback, NativeZipMember } from './data/native-klines.js';

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
  /** 0 uint8, 1 float32 */
  dtype: 0 | 1;
  out: Uint8Array | Float32Array;
  /** 0 = all */
  threads: number;
  /** 0 cpu, 1 cuda */
  device: 0 | 1;
  /** Added to window numbers in error messages (for calls over a slice of the windows). */
  windowBase?: number;
}

export type NativeCallback = (err: Error | null) => void;

export interface NativeWriterOptions {
  /** 0 hdf5, 1 npz, 2 zarr, 3 png, 4 jpeg */
  format: number;
  path: string;
  tempPath: string;
  overwrite: boolean;
  seqLen: number;
  height: number;
  dtype: 0 | 1;
  horizons: number;
  /** -1 fast, 0 none, 1..12 deflate level */
  compression: number;
  jpegQuality: number;
  threads: number;
}

export interface NativeWriterBatch {
  count: number;
  images?: Uint8Array | Float32Array;
  sequences?: Float64Array;
  open?: Float64Array;
  high?: Float64Array;
  low?: Float64Array;
  close?: Float64Array;
  starts?: Float64Array;
  timestamps: Float64Array;
  labels?: Int8Array;
  returns?: Float64Array;
  /** Added to window numbers in error messages (a part of the caller's batch). */
  windowBase?: number;
}

export interface NativeWriterMetadata {
  attributes: Array<{ name: string; kind: 'int' | 'float' | 'bool' | 'string' | 'int[]' | 'float[]'; value: number | boolean | string | number[] }>;
  json: string;
}

export interface NativeWriter {
  readonly rows: number;
  /** Returns a function that cancels the append (the writer must then be aborted). */
  append(batch: NativeWriterBatch, callback: NativeCallback): () => void;
  close(metadata: NativeWriterMetadata, callback: NativeCallback): void;
  abort(callback: NativeCallback): void;
}

export interface NativeReadResult {
  rows: number;
  arrays: Array<{ name: string; type: 'u8' | 'i8' | 'i64' | 'f32' | 'f64'; shape: number[]; data: ArrayBuffer }>;
  attributes: Record<string, number | boolean | string | number[]>;
  metadataJson: string;
}

export interface NativeAddon {
  info(): NativeInfo;
  rasterize(call: NativeRasterCall): void;
  /** Returns a function that cancels the work. */
  rasterizeAsync(call: NativeRasterCall, callback: NativeCallback): () => void;
  parseKlines(csv: Uint8Array, call: NativeKlinesCall): NativeKlines;
  parseKlinesAsync(csv: Uint8Array, call: NativeKlinesCall, callback: NativeKlinesCallback): () => void;
  /** The member's bytes, inflated on a worker thread and checked (size, CRC-32); `archive` is pinned meanwhile. */
  inflateMemberAsync(archive: Uint8Array, member: NativeZipMember, callback: NativeInflateCallback): void;
  /** Inflates and parses the member in one worker call; returns a function that cancels the work. */
  parseKlinesMemberAsync(archive: Uint8Array, member: NativeZipMember, call: NativeKlinesCall, callback: NativeKlinesCallback): () => void;
  readDataset(path: string, format: 'hdf5' | 'npz' | 'npz-arrays', rows: Float64Array, callback: (err: Error | null, result?: NativeReadResult) => void): void;
  decodeJpeg(bytes: Uint8Array, callback: (err: Error | null, result?: { height: number; width: number; pixels: ArrayBuffer }) => void): void;
  openWriter(options: NativeWriterOptions, callback: (err: Error | null, writer?: NativeWriter) => void): void;
}
