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
  /**
   * 'error' (default): an archive that does not exist (HTTP 404) fails the download. 'absent': it
   * is a stretch with no candles, as for a universe member that did not trade then.
   */
  missingArchives?: 'error' | 'absent';
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
  /** Archives not written because the synthetic symbol does not trade then (listed later, or delisted). */
  notTrading: string[];
}

/** How `resolveUniverse` picks each month's members from the candidates. */
export interface UniverseTop {
  /** Members per month (1..10,000): the candidates with the largest ranking value. */
  n: number;
  /** 'quote_volume' (default): quote asset volume (Binance's column 8) summed over the lookback. */
  rankBy?: 'quote_volume';
  /** Days before each month whose daily candles are summed (default 30, 1..366). */
  lookbackDays?: number;
  /** 'monthly' (default): members are chosen again at the start of every month. */
  rebalance?: 'monthly';
}

export interface UniverseOptions {
  /** 'spot' (default), 'um' (USD-M futures) or 'cm' (COIN-M futures). */
  market?: Market;
  /** The build's first month or day, 'YYYY-MM' or 'YYYY-MM-DD' (UTC, inclusive). */
  startDate: string;
  /** The build's last month or day, 'YYYY-MM' or 'YYYY-MM-DD' (UTC, inclusive). */
  endDate: string;
  /** Only symbols whose pair ends in this quote asset, e.g. 'USDT' (futures: the part before any '_'). */
  quote?: string;
  /** Symbols, or patterns with '*' (any characters) such as '*UP' or '*_*', left out. */
  exclude?: string[];
  /** Leave out stablecoin-to-stablecoin pairs and leveraged tokens (default true; see DEFAULT_EXCLUSIONS in the README). */
  defaultExclusions?: boolean;
  /** Keep symbols that no longer trade (default true: dropping them is survivorship bias). false: a symbol with no archive for the last finished month is left out. */
  includeDelisted?: boolean;
  /** Rank the candidates each month and keep the top n (default: every candidate is a member of every month). */
  top?: UniverseTop;
  /** Archive cache (ranking archives, and listings under <cacheDir>/listings/). Default 'data/raw'. */
  cacheDir?: string;
  /** Mirror of the archives (ranking downloads). Default 'https://data.binance.vision/'. */
  baseUrl?: string;
  /** The bucket listing endpoint (S3 ListObjects). Default 'https://s3-ap-northeast-1.amazonaws.com/data.binance.vision'. */
  listingUrl?: string;
  /** A cached listing younger than this is used without a request (ms, default 24 h; 0: always refresh). */
  listingMaxAgeMs?: number;
  /** 'binance' (default): the real bucket. 'sample': a synthetic market, offline. */
  source?: DataSource;
  /** Requests at once (default 4, 1..32). */
  concurrency?: number;
  /** A request fails when nothing arrives for this long (ms, default 30000). */
  timeoutMs?: number;
  /** Retries after a connection error, timeout or 5xx (default 3). */
  retries?: number;
  /** First retry delay in ms, doubled each retry (default 500). */
  retryDelayMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: UniverseProgress) => void;
  logger?: DataLogger;
  /** The clock deciding which months are finished and how old a cached listing is (default: now). */
  now?: Date | number;
  /** How your users name these options, for messages. */
  terms?: UniverseTerms;
}

export type UniverseTerms = Partial<Record<'market' | 'startDate' | 'endDate' | 'quote' | 'exclude' | 'defaultExclusions' | 'includeDelisted' | 'top' | 'cacheDir' | 'baseUrl' | 'listingUrl' | 'listingMaxAgeMs', string>>;

export interface UniverseProgress {
  /** 'listing': listings obtained (the market's, then each candidate's); 'download' / 'parse': ranking archives. */
  phase: 'listing' | 'download' | 'parse';
  done: number;
  total: number;
  /** The listing (a bucket prefix) or archive just finished. */
  file: string;
}

export interface UniverseMember {
  symbol: string;
  /** With `top`: the ranking value (quote volume over the lookback, summed in time order). */
  quoteVolume?: number;
}

export interface UniverseMonth {
  /** 'YYYY-MM' */
  month: string;
  /** With `top`: in rank order (ties by symbol name); without: every candidate, by name. */
  members: UniverseMember[];
}

/** Why a symbol of the listing (with the requested quote) is not a candidate. */
export interface UniverseExclusion {
  symbol: string;
  reason: 'stablecoin pair' | 'leveraged token' | 'excluded' | 'delisted';
  /** In words: the pattern that matched, the month with no archive, ... */
  detail: string;
}

export interface Universe {
  market: Market;
  /** Every symbol that is a member in some month, sorted. */
  symbols: string[];
  /** Each month of the range, in order. */
  months: UniverseMonth[];
  /** The symbols members are chosen from, sorted: the listing's symbols with the quote, less the exclusions. */
  candidates: string[];
  excluded: UniverseExclusion[];
  /** The market's symbol listing. */
  listing: { url: string; fetchedAt: number; fromCache: boolean; stale: boolean; synthetic: boolean };
}
