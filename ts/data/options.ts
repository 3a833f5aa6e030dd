// Every argument check of the data layer, done before any file or network access.
import { resolve } from 'node:path';
import { invalidParameterError } from '../errors.js';
import { EXCLUDE_PATTERN, MAX_CONCURRENCY, MAX_LOOKBACK_DAYS, MAX_UNIVERSE_TOP, MIN_DOWNLOAD_BYTES_PER_SECOND, QUOTE_ASSET_PATTERN } from '../limits.js';
import { checkBoolean, checkFunction, checkInteger, checkKnownKeys, checkObject, checkOneOf, checkOptionalInteger, checkOptionalObject, checkSignal, checkString } from '../validate.js';
import { checkBaseUrl, checkInterval, checkListingUrl, checkSymbol, MARKETS, type Interval, type Market } from './binance.js';
import { formatDay, nextMonthStart, parseDateArg, startOfMonth, type DateRange } from './dates.js';
import { DEFAULT_LISTING_MAX_AGE_MS, DEFAULT_LISTING_URL } from './listing.js';
import type { DataLogger, DataProgress, DataSource, MalformedRowPolicy, OptionTerms, UniverseProgress, UniverseTerms } from './types.js';

export const DEFAULT_BASE_URL = 'https://data.binance.vision/';
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
  missingArchives: 'error' | 'absent';
  /** The name of an option in messages. */
  term(option: keyof OptionTerms): string;
}

const SERIES_KEYS = ['symbol', 'interval', 'startDate', 'endDate', 'cacheDir', 'market', 'signal', 'onProgress', 'logger', 'now'];
const DOWNLOAD_KEYS = [...SERIES_KEYS, 'baseUrl', 'source', 'verify', 'concurrency', 'timeoutMs', 'minBytesPerSecond', 'retries', 'retryDelayMs', 'onMalformedRow', 'missingArchives', 'terms'];

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

function checkRange(o: Record<string, unknown>): DateRange {
  const start = parseDateArg('startDate', o.startDate);
  const end = parseDateArg('endDate', o.endDate);
  if (end.end <= start.start) {
    throw invalidParameterError('endDate', `a date on or after startDate (${String(o.startDate)})`, o.endDate, true);
  }
  return { start: start.start, end: end.end };
}

function checkCacheDir(value: unknown): string {
  const cacheDir = resolve(value === undefined ? DEFAULT_CACHE_DIR : checkString('cacheDir', value, 'a non-empty directory path'));
  if (cacheDir.includes('\0')) throw invalidParameterError('cacheDir', 'a directory path', value, true);
  return cacheDir;
}

function resolveSeries(o: Record<string, unknown>): ResolvedSeries {
  const market = checkOneOf('market', o.market, MARKETS, 'spot');
  const symbol = checkSymbol(o.symbol, market);
  const interval = checkInterval(o.interval);
  return {
    symbol,
    interval,
    market,
    range: checkRange(o),
    cacheDir: checkCacheDir(o.cacheDir),
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
    concurrency: checkOptionalInteger('concurrency', o.concurrency, 4, 1, MAX_CONCURRENCY),
    timeoutMs: checkOptionalInteger('timeoutMs', o.timeoutMs, 30_000, 1, 3_600_000),
    minBytesPerSecond: checkOptionalInteger('minBytesPerSecond', o.minBytesPerSecond, MIN_DOWNLOAD_BYTES_PER_SECOND, 1),
    retries: checkOptionalInteger('retries', o.retries, 3, 0, 10),
    retryDelayMs: checkOptionalInteger('retryDelayMs', o.retryDelayMs, 500, 0, 60_000),
    onMalformedRow: checkOneOf('onMalformedRow', o.onMalformedRow, ['error', 'skip'] as const, 'error'),
    missingArchives: checkOneOf('missingArchives', o.missingArchives, ['error', 'absent'] as const, 'error'),
    term: checkTerms<keyof OptionTerms>(o.terms),
  };
}

function checkTerms<K extends string>(value: unknown): (option: K) => string {
  const terms = checkOptionalObject('terms', value);
  for (const [k, v] of Object.entries(terms)) if (typeof v !== 'string') throw invalidParameterError(`terms.${k}`, 'a string', v);
  return (option) => (terms[option] as string | undefined) ?? option;
}

export function resolveSampleOptions(options: unknown): ResolvedSeries {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, SERIES_KEYS);
  return resolveSeries(o);
}

export interface ResolvedTop {
  n: number;
  rankBy: 'quote_volume';
  lookbackDays: number;
  rebalance: 'monthly';
}

export interface ResolvedUniverse {
  market: Market;
  range: DateRange;
  /** 00:00 UTC of the first day of each month of the range, in order. */
  months: number[];
  quote: string | null;
  exclude: string[];
  defaultExclusions: boolean;
  includeDelisted: boolean;
  top: ResolvedTop | null;
  /** Absolute. */
  cacheDir: string;
  baseUrl: string;
  listingUrl: string;
  listingMaxAgeMs: number;
  source: DataSource;
  concurrency: number;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: UniverseProgress) => void;
  logger: DataLogger;
  now: number;
  term(option: keyof UniverseTerms): string;
}

const UNIVERSE_KEYS = [
  'market', 'startDate', 'endDate', 'quote', 'exclude', 'defaultExclusions', 'includeDelisted', 'top', 'cacheDir', 'baseUrl', 'listingUrl',
  'listingMaxAgeMs', 'source', 'concurrency', 'timeoutMs', 'retries', 'retryDelayMs', 'signal', 'onProgress', 'logger', 'now', 'terms',
];
const TOP_KEYS = ['n', 'rankBy', 'lookbackDays', 'rebalance'];

function checkQuote(value: unknown): string | null {
  if (value === undefined) return null;
  const expected = "a quote asset in capitals, such as 'USDT' (2 to 16 letters or digits)";
  if (typeof value !== 'string') throw invalidParameterError('quote', expected, value);
  if (!QUOTE_ASSET_PATTERN.test(value)) throw invalidParameterError('quote', expected, value, true);
  return value;
}

function checkExclude(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidParameterError('exclude', "an array of symbols or '*' patterns, such as ['*UP', 'LUNAUSDT']", value);
  return value.map((v: unknown, i) => {
    const expected = "a symbol or a pattern with '*', in capitals (letters, digits, '_', '*'), such as '*UP'";
    if (typeof v !== 'string') throw invalidParameterError(`exclude[${i}]`, expected, v);
    if (!EXCLUDE_PATTERN.test(v)) throw invalidParameterError(`exclude[${i}]`, expected, v, true);
    return v;
  });
}

function checkTop(value: unknown): ResolvedTop | null {
  if (value === undefined) return null;
  const t = checkObject('top', value);
  checkKnownKeys('top', t, TOP_KEYS);
  return {
    n: checkInteger('top.n', t.n, 1, MAX_UNIVERSE_TOP),
    rankBy: checkOneOf('top.rankBy', t.rankBy, ['quote_volume'] as const, 'quote_volume'),
    lookbackDays: checkOptionalInteger('top.lookbackDays', t.lookbackDays, 30, 1, MAX_LOOKBACK_DAYS),
    rebalance: checkOneOf('top.rebalance', t.rebalance, ['monthly'] as const, 'monthly'),
  };
}

export function resolveUniverseOptions(options: unknown): ResolvedUniverse {
  const o = checkObject('options', options);
  checkKnownKeys('options', o, UNIVERSE_KEYS);
  const market = checkOneOf('market', o.market, MARKETS, 'spot');
  const range = checkRange(o);
  const top = checkTop(o.top);
  const now = checkNow(o.now);
  const months: number[] = [];
  for (let m = startOfMonth(range.start); m < range.end; m = nextMonthStart(m)) months.push(m);
  if (top && months[months.length - 1] > now) {
    throw invalidParameterError(
      'endDate',
      `a month that has begun by now (${formatDay(now)}): top ranks each month on the days before it, and months to come have none yet`,
      o.endDate,
      true,
    );
  }
  return {
    market,
    range,
    months,
    quote: checkQuote(o.quote),
    exclude: checkExclude(o.exclude),
    defaultExclusions: checkBoolean('defaultExclusions', o.defaultExclusions, true),
    includeDelisted: checkBoolean('includeDelisted', o.includeDelisted, true),
    top,
    cacheDir: checkCacheDir(o.cacheDir),
    baseUrl: o.baseUrl === undefined ? DEFAULT_BASE_URL : checkBaseUrl(o.baseUrl),
    listingUrl: o.listingUrl === undefined ? DEFAULT_LISTING_URL : checkListingUrl(o.listingUrl),
    listingMaxAgeMs: checkOptionalInteger('listingMaxAgeMs', o.listingMaxAgeMs, DEFAULT_LISTING_MAX_AGE_MS, 0),
    source: checkOneOf('source', o.source, ['binance', 'sample'] as const, 'binance'),
    concurrency: checkOptionalInteger('concurrency', o.concurrency, 4, 1, MAX_CONCURRENCY),
    timeoutMs: checkOptionalInteger('timeoutMs', o.timeoutMs, 30_000, 1, 3_600_000),
    retries: checkOptionalInteger('retries', o.retries, 3, 0, 10),
    retryDelayMs: checkOptionalInteger('retryDelayMs', o.retryDelayMs, 500, 0, 60_000),
    signal: checkSignal('signal', o.signal),
    onProgress: checkFunction<(p: UniverseProgress) => void>('onProgress', o.onProgress),
    logger: checkLogger(o.logger),
    now,
    term: checkTerms<keyof UniverseTerms>(o.terms),
  };
}
