// Public types of the data layer (downloadCryptoData, writeSampleArchives).
import type { Interval, Market } from './binance.js';
import type { KlineColumns } from './columns.js';

export type { Interval, Market } from './binance.js';
export type { CandleColumns, KlineColumns } from './columns.js';

export type DataSource = 'binance' | 'sample';
export type MalformedRowPolicy = 'error' | 'skip';

/** Structured log sink (pino-compatible argument order is not assumed: message first). */
export interface DataLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface DataProgress {
  /** 'download': archives obtained (cache or network); 'parse': archives parsed. */
  phase: 'download' | 'parse';
  done: number;
  /** Grows when a monthly archive falls back to its daily archives. */
  total: number;
  /** The archive just finished. */
  file: string;
}

export interface DownloadOptions {
  /** Binance symbol, e.g. 'BTCUSDT' (spot, um) or 'BTCUSD_PERP' (cm). */
  symbol: string;
  interval: Interval;
  /** 'YYYY-MM' (from the month's first day) or 'YYYY-MM-DD'; UTC, inclusive. */
  startDate: string;
  /** 'YYYY-MM' (to the month's last day) or 'YYYY-MM-DD'; UTC, inclusive. */
  endDate: string;
  /** Archive cache; its layout mirrors Binance's paths. Default 'data/raw'. */
  cacheDir?: string;
  /** 'spot' (default), 'um' (USD-M futures) or 'cm' (COIN-M futures). */
  market?: Market;
  /** Any mirror with Binance Vision's layout. Default 'https://data.binance.vision/'. */
  baseUrl?: string;
  /** 'binance' (default): real archives. 'sample': synthetic archives generated offline. */
  source?: DataSource;
  signal?: AbortSignal;
  onProgress?: (progress: DataProgress) => void;
  /** Check each archive against its .CHECKSUM (default true). false: mismatches are logged, and such archives are not cached. */
  verify?: boolean;
  /** Archives fetched at once (default 4, 1..32). */
  concurrency?: number;
  /** A request fails when nothing arrives for this long (ms, default 30000). */
  timeoutMs?: number;
  /**
   * The slowest transfer waited for (bytes per second, default 65536, i.e. 64 KiB/s): a request
   * must also finish within timeoutMs plus its size (Content-Length, else the most such a file can
   * hold) at this rate, or it fails like a timeout (and is retried). Lower it for a slow link.
   */
  minBytesPerSecond?: number;
  /** Retries after a connection error, timeout or 5xx (default 3). */
  retries?: number;
  /** First retry delay in ms, doubled each retry (default 500). */
  retryDelayMs?: number;
  /** 'error' (default): a malformed row fails the download. 'skip': skipped and counted. */
  onMalformedRow?: MalformedRowPolicy;
  logger?: DataLogger;
  /** The clock deciding which days exist yet (default: now). */
  now?: Date | number;
  /** How your users name these options, for error messages (e.g. { cacheDir: 'paths.raw_data' }). */
  terms?: OptionTerms;
}

/**
 * The names a caller's users know the download options by, for messages: the CLI passes config
 * keys (`cacheDir` → `paths.raw_data`), so every error speaks the vocabulary the user typed.
 */
export type OptionTerms = Partial<Record<'symbol' | 'interval' | 'startDate' | 'endDate' | 'cacheDir' | 'market' | 'baseUrl' | 'verify' | 'onMalformedRow', string>>;

/** A run of missing candles. */
export interface Gap {
  /** Open time of the last candle before the gap (ms). */
  from: number;
  /** Open time of the first candle after it (ms); for archives not published yet at the end of the range, where the next candle would open. */
  to: number;
  /** Candles absent in between. */
  missing: number;
}

export interface CandleSource {
  /** Archive file name, e.g. BTCUSDT-1m-2020-01.zip */
  name: string;
  /** Its path in Binance Vision's tree, and in the cache (data/spot/monthly/klines/...). */
  path: string;
  /** Where it came from: the mirror URL, or a file: URL for synthetic archives. */
  url: string;
  /** SHA-256 of the archive as read. */
  sha256: string;
  /** Rows parsed from it. */
  rows: number;
  synthetic: boolean;
  /** Read from the cache, no network. */
  cached: boolean;
  /** Matched its .CHECKSUM (false only with verify: false). */
  verified: boolean;
}

/** The merged series: openTime sorted and unique. */
export interface Candles extends KlineColumns {
  symbol: string;
  interval: Interval;
  market: Market;
  /** Candle length in ms; null for '1mo' (calendar months). */
  intervalMs: number | null;
  length: number;
  gaps: Gap[];
  sources: CandleSource[];
  /** Exact duplicate rows dropped. */
  duplicates: number;
  /** Rows dropped because an earlier row had the same open time but other values. */
  conflicts: number;
  /** Malformed rows skipped (onMalformedRow: 'skip'). */
  skippedRows: number;
  /** Rows whose open time lies outside their archive's own day or month (kept when in range). */
  outOfPeriod: number;
  /** Rows outside the requested dates, dropped. */
  outOfRange: number;
  /** Archives that were not published yet (recent days or months); their span is in gaps. */
  notPublished: string[];
}

/** The series part of DownloadOptions; archives go to <cacheDir>/synthetic/<Binance path>. */
export type SampleOptions = Pick<
  DownloadOptions,
  'symbol' | 'interval' | 'startDate' | 'endDate' | 'cacheDir' | 'market' | 'signal' | 'onProgress' | 'logger' | 'now'
>;

export interface SampleArchive {
  name: string;
  /** Absolute path of the archive. */
  path: string;
  sha256: string;
  rows: number;
  /** false when an identical archive was already there. */
  written: boolean;
}

export interface SampleResult {
  /** <cacheDir>/synthetic */
  root: string;
  archives: SampleArchive[];
}
