// The kline parser's surface in the addon (native/binding/klines_binding.cpp); NativeAddon in
// ts/native-types.ts lists these methods.

export interface NativeKlinesCall {
  /** The archive, for error messages. */
  name: string;
  skipMalformed: boolean;
}

export interface NativeKlinesProblem {
  /** 1-based line number in the CSV. */
  line: number;
  /** The Binance column name, or null when no single field is to blame. */
  field: string | null;
  message: string;
}

export interface NativeKlines {
  /** ms since the epoch, UTC (microsecond rows normalised). */
  openTime: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  rows: number;
  header: boolean;
  microsecondRows: number;
  skipped: number;
  firstSkipped: NativeKlinesProblem | null;
}

export type NativeKlinesCallback = (err: Error | null, result?: NativeKlines) => void;
