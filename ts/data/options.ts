// Every argument check of the data layer, done before any file or network access.
import { resolve } from 'node:path';
import { invalidParameterError } from '../errors.js';
import { checkBoolean, checkFunction, checkKnownKeys, checkObject, checkOneOf, checkOptionalInteger, checkOptionalObject, checkSignal, checkString } from '../validate.js';
import { checkBaseUrl, checkInterval, checkSymbol, MARKETS, type Interval, type Market } from './binance.js';
import { parseDateArg, type DateRange } from './dates.js';
import { MIN_DOWNLOAD_BYTES_PER_SECOND } from '../limits.js';
import type { DataLogger, DataProgress, DataSource, MalformedRowPolicy, OptionTerms } from './types.js';

export const DEFAULT_BASE_URL = 'https://data.binance.vision/';
/** Binance Vision's bucket, listed through S3's public ListObjects (docs/BINANCE.md). */
export const DEFAULT_LISTING_URL = 'https://s3-ap-northeast-1.amazonaws.com/data.binance.vision';
export const DEFAULT_CACHE_DIR = 'data/raw';

const SILENT: DataLogger = { info() {}, warn() {}, debug() {} };

/** What both downloadCryptoData and writeSampleArchives need. */
export interface ResolvedSeries {
  symbol: string;
  interval: Interval;
  market: Market;
  range: DateRange;
  /** Absolute. */
  cacheDir: string;
  now: number;
  signal?: AbortSignal;
  onProgress?: (progress: DataProgress) => void;
  logger: DataLogger;
}

export interface ResolvedDownload extends ResolvedSeries {
  baseUrl: string;
  source: DataSource;
  verify: boolean;
  concurrency: number;
  timeoutMs: number;
  minBytesPerSecond: number;
  retries: number;
  retryDelayMs: number;
  onMalformedRow: MalformedRowPolicy;
  /** The name of an option in messages. */
  term(option: keyof OptionTerms): string;
}

const SERIES_KEYS = ['symbol', 'interval', 'startDate', 'endDate', 'cacheDir', 'market', 'signal', 'onProgress', 'logger', 'now'];
const DOWNLOAD_KEYS = [...SERIES_KEYS, 'baseUrl', 'source', 'verify', 'concurrency', 'timeoutMs', 'minBytesPerSecond', 'retries', 'retryDelayMs', 'onMalformedRow', 'terms'];

function checkLogger(value: unknown): DataLogger {
  if (value === undefined) return SILENT;
  const expected = 'an object with info, warn and debug methods';
  if (typeof value !== 'object' || value === null) throw invalidParameterError('logger', expected, value);
  const l = value as Record<string, unknown>;
  for (const m of ['info', 'warn', 'debug']) {
    if (typeof l[m] !== 'function') throw invalidParameterError(`logger.${m}`, 'a function', l[m]);
  }
  // Bound, so a class-based logger keeps its `this`.
  const logger = value as DataLogger;
  return { info: logger.info.bind(logger), warn: logger.warn.bind(logger), debug: logger.debug.bind(logger) };
}

function checkNow(value: unknown): number {
  if (value === undefined) return Date.now();
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number') throw invalidParameterError('now', 'a Date or a number of ms since the epoch', value);
  if (!Number.isFinite(ms)) throw invalidParameterError('now', 'a valid Date or a finite number of ms since the epoch', value, true);
  return ms;
}

function resolveSeries(o: Record<string, unknown>): ResolvedSeries {
  const market = checkOneOf('market', o.market, MARKETS, 'spot');
  const symbol = checkSymbol(o.symbol, market);
  const interval = checkInterval(o.interval);
  const start = parseDateArg('startDate', o.startDate);
  const end = parseDateArg('endDate', o.endDate);
  if (end.end <= start.start) {
    throw invalidParameterError('endDate', `a date on or after startDate (${String(o.startDate)})`, o.endDate, true);
  }
  const cacheDir = resolve(o.cacheDir === undefined ? DEFAULT_CACHE_DIR : checkString('cacheDir', o.cacheDir, 'a non-empty directory path'));
  if (cacheDir.includes('\0')) throw invalidParameterError('cacheDir', 'a directory path', o.cacheDir, true);
  return {
    symbol,
    interval,
    market,
    range: { start: start.start, end: end.end },
    cacheDir,
    now: checkNow(o.now),
    signal: checkSignal('signal', o.signal),
    onProgress: checkFunction<(p: DataProgress) => void>('onProgress', o.onProgress),
    logger: checkLogger(o.logger),
  };
}

export function resolveDownloadOptions(options: unknown): ResolvedDownload {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, DOWNLOAD_KEYS);
  const series = resolveSeries(o);
  return {
    ...series,
    baseUrl: o.baseUrl === undefined ? DEFAULT_BASE_URL : checkBaseUrl(o.baseUrl),
    source: checkOneOf('source', o.source, ['binance', 'sample'] as const, 'binance'),
    verify: checkBoolean('verify', o.verify, true),
    concurrency: checkOptionalInteger('concurrency', o.concurrency, 4, 1, 32),
    timeoutMs: checkOptionalInteger('timeoutMs', o.timeoutMs, 30_000, 1, 3_600_000),
    minBytesPerSecond: checkOptionalInteger('minBytesPerSecond', o.minBytesPerSecond, MIN_DOWNLOAD_BYTES_PER_SECOND, 1),
    retries: checkOptionalInteger('retries', o.retries, 3, 0, 10),
    retryDelayMs: checkOptionalInteger('retryDelayMs', o.retryDelayMs, 500, 0, 60_000),
    onMalformedRow: checkOneOf('onMalformedRow', o.onMalformedRow, ['error', 'skip'] as const, 'error'),
    term: checkTerms(o.terms),
  };
}

function checkTerms(value: unknown): ResolvedDownload['term'] {
  const terms = checkOptionalObject('terms', value);
  for (const [k, v] of Object.entries(terms)) if (typeof v !== 'string') throw invalidParameterError(`terms.${k}`, 'a string', v);
  return (option) => (terms[option] as string | undefined) ?? option;
}

export function resolveSampleOptions(options: unknown): ResolvedSeries {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, SERIES_KEYS);
  return resolveSeries(o);
}
