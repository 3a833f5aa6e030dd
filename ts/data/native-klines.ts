// The kline parser's surface in the addon (native/binding/klines_binding.cpp, with
// native/kernels/zip_member for archive members); NativeAddon in ts/native-types.ts lists these
// methods.

import type { KlineColumns } from './types.js';

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

/** Parsed columns (openTime in ms since the epoch, UTC; microsecond rows normalised). */
export interface NativeKlines extends KlineColumns {
  rows: number;
  header: boolean;
  microsecondRows: number;
  skipped: number;
  firstSkipped: NativeKlinesProblem | null;
}

export type NativeKlinesCallback = (err: Error | null, result?: NativeKlines) => void;

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

export type NativeInflateCallback = (err: Error | null, data?: Buffer) => void;
