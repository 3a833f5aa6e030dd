// Binance Vision's vocabulary: markets, intervals, symbols and where each archive lives.
// Symbols and intervals are checked against Binance's own forms before they reach a URL or a
// path, so no user string can walk out of the cache directory or off the mirror.
import { invalidParameterError } from '../errors.js';
import { SYMBOL_PATTERN } from '../limits.js';
import { redactUrl } from '../util/url.js';

export const MARKETS = ['spot', 'um', 'cm'] as const;
export type Market = (typeof MARKETS)[number];

export const INTERVALS = ['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1mo'] as const;
export type Interval = (typeof INTERVALS)[number];

export type Granularity = 'monthly' | 'daily';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const FIXED_INTERVAL_MS: Record<Exclude<Interval, '1mo'>, number> = {
  '1s': 1000,
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '4h': 4 * HOUR,
  '6h': 6 * HOUR,
  '8h': 8 * HOUR,
  '12h': 12 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
  '1w': 7 * DAY,
};

/** The fixed length of a candle in ms, or null for '1mo' (calendar months). */
export function intervalMs(interval: Interval): number | null {
  return interval === '1mo' ? null : FIXED_INTERVAL_MS[interval];
}

/** Daily archives exist only for intervals up to 1d; 3d, 1w and 1mo come monthly only. */
export function hasDailyArchives(interval: Interval): boolean {
  return interval !== '3d' && interval !== '1w' && interval !== '1mo';
}


export function checkSymbol(value: unknown, market: Market): string {
  const expected = 'a Binance symbol: uppercase letters and digits such as "BTCUSDT", or with a futures suffix such as "BTCUSD_PERP"';
  if (typeof value !== 'string') throw invalidParameterError('symbol', expected, value);
  if (!SYMBOL_PATTERN.test(value)) throw invalidParameterError('symbol', expected, value, true);
  if (market === 'spot' && value.includes('_')) {
    throw invalidParameterError('symbol', 'a spot symbol without "_" (suffixes such as "_PERP" are futures: market "um" or "cm")', value, true);
  }
  if (market === 'cm' && !value.includes('_')) {
    throw invalidParameterError('symbol', 'a COIN-M symbol with its contract suffix, such as "BTCUSD_PERP"', value, true);
  }
  return value;
}

export function checkInterval(value: unknown): Interval {
  const expected = `one of ${INTERVALS.join(', ')}`;
  if (typeof value !== 'string') throw invalidParameterError('interval', expected, value);
  if (!(INTERVALS as readonly string[]).includes(value)) throw invalidParameterError('interval', expected, value, true);
  return value as Interval;
}

/**
 * An http(s) URL with no credentials, query or fragment, as a URL; errors name `name`. A refused
 * value is echoed with its userinfo redacted: the error reaches logs and the console.
 */
function checkHttpUrl(name: string, value: unknown, example: string): URL {
  const expected = `an http(s) URL such as "${example}"`;
  if (typeof value !== 'string') throw invalidParameterError(name, expected, value);
  const shown = redactUrl(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidParameterError(name, expected, shown, true);
  }
  if (url.username !== '' || url.password !== '') {
    // fetch refuses such a URL anyway; every log line and message naming it would carry the password.
    const why = 'credentials in a URL end up in logs and error messages; use a mirror that needs none';
    throw invalidParameterError(name, `${expected} without a user name or password (${why})`, shown, true);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw invalidParameterError(name, `${expected}, without query or fragment`, shown, true);
  }
  return url;
}

/** An http(s) URL with no query or fragment, returned with a trailing '/'. */
export function checkBaseUrl(value: unknown): string {
  const url = checkHttpUrl('baseUrl', value, 'https://data.binance.vision/');
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** The bucket listing endpoint: an http(s) URL with no query or fragment, kept as given (a path-style S3 bucket URL). */
export function checkListingUrl(value: unknown): string {
  return checkHttpUrl('listingUrl', value, 'https://s3-ap-northeast-1.amazonaws.com/data.binance.vision').href;
}

/** The folder of a market's monthly klines, e.g. data/spot/monthly/klines/ (a bucket prefix). */
export function monthlyKlinesPrefix(market: Market): string {
  return `${MARKET_ROOT[market]}/monthly/klines/`;
}

/** Whether a folder name of the listing is a symbol of that market (the checks of checkSymbol, without throwing). */
export function isMarketSymbol(name: string, market: Market): boolean {
  if (!SYMBOL_PATTERN.test(name)) return false;
  if (market === 'spot') return !name.includes('_');
  if (market === 'cm') return name.includes('_');
  return true;
}

/** One archive: its file name and its path under the mirror root (and under the cache). */
export interface ArchiveRef {
  granularity: Granularity;
  /** 'YYYY-MM' (monthly) or 'YYYY-MM-DD' (daily). */
  period: string;
  /** e.g. BTCUSDT-1m-2020-01.zip */
  name: string;
  /** e.g. data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2020-01.zip */
  path: string;
}

const MARKET_ROOT: Record<Market, string> = {
  spot: 'data/spot',
  um: 'data/futures/um',
  cm: 'data/futures/cm',
};

/** Only call with a symbol and interval that passed checkSymbol / checkInterval. */
export function archiveRef(market: Market, symbol: string, interval: Interval, granularity: Granularity, period: string): ArchiveRef {
  const name = `${symbol}-${interval}-${period}.zip`;
  return { granularity, period, name, path: `${MARKET_ROOT[market]}/${granularity}/klines/${symbol}/${interval}/${name}` };
}

/** The companion checksum file of an archive path or name. */
export function checksumName(archive: string): string {
  return `${archive}.CHECKSUM`;
}
