// The addon's surface as the TS layer calls it: plain typed arrays and numbers, validated first.

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

export interface NativeAddon {
  info(): NativeInfo;
  rasterize(call: NativeRasterCall): void;
  /** Returns a function that cancels the work. */
  rasterizeAsync(call: NativeRasterCall, callback: NativeCallback): () => void;
}
