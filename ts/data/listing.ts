// What the archive holds, from the bucket itself: Binance Vision is an S3 bucket with public
// listing (ListObjects version 1, at most 1,000 entries a page, `marker` paging). Two listings are
// needed: a market's symbol folders (`data/spot/monthly/klines/<SYMBOL>/`) and a symbol's monthly
// archives of one interval (which months exist). Each is fetched through the archive HTTP layer
// (timeouts, retries, size cap, abort) and cached as JSON under <cacheDir>/listings/ with its
// fetch time: a fresh one is used with no request at all, an old one refreshed, and an old one
// still used (with a warning) when the refresh fails.
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { abortError, ErrorCode, isAbortError, OhlcError } from '../errors.js';
import { DATE_PATTERN } from '../limits.js';
import { removeStaleTemporaries, writeFileAtomic } from '../util/files.js';
import { isMarketSymbol, monthlyKlinesPrefix, type Interval, type Market } from './binance.js';
import { fetchWithRetries, type HttpSettings } from './http.js';
import type { DataLogger } from './types.js';

export const DEFAULT_LISTING_URL = 'https://s3-ap-northeast-1.amazonaws.com/data.binance.vision';
export const DEFAULT_LISTING_MAX_AGE_MS = 24 * 3_600_000;
export const LISTINGS_DIR = 'listings';

/** A page of 1,000 entries is ~150 kB of XML; anything near this is not a listing page. */
const MAX_PAGE_BYTES = 16 << 20;
/** Pages of one listing: a million entries is far more than any folder of the bucket holds. */
const MAX_PAGES = 1000;
const CACHE_FORMAT = 'ohlc-native listing 1';

export interface ListingSettings {
  /** The bucket endpoint (checkListingUrl), e.g. DEFAULT_LISTING_URL. */
  listingUrl: string;
  /** Listings are cached under <cacheDir>/listings/. */
  cacheDir: string;
  /** A cached listing younger than this is used without a request (0: always refresh). */
  maxAgeMs: number;
  /** The caller's clock (ms). */
  now: number;
  http: HttpSettings;
  logger: DataLogger;
}

/** A listing and where it came from. */
export interface Listing {
  /** Sorted, unique: symbol names, or months 'YYYY-MM'. */
  entries: string[];
  /** The first page's URL. */
  url: string;
  /** When it was fetched from the bucket (ms since the epoch, by the caller's clock). */
  fetchedAt: number;
  fromCache: boolean;
  /** Older than its max age, used because the refresh failed. */
  stale: boolean;
}

/** One page of a ListBucketResult. */
export interface ListPage {
  /** CommonPrefixes/Prefix: the sub-folders, with their trailing '/'. */
  prefixes: string[];
  /** Contents/Key: the files. */
  keys: string[];
  truncated: boolean;
  nextMarker: string | null;
}

function listingError(url: string, detail: string): OhlcError {
  const err = new OhlcError(
    ErrorCode.listing,
    `${url} is not a usable bucket listing: ${detail}. Check listingUrl: it must answer S3 ListObjects (ListBucketResult XML) for Binance Vision's bucket, as ${DEFAULT_LISTING_URL} does.`,
  );
  return Object.assign(err, { url });
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML text: the five predefined entities and character references; anything else is refused. */
function xmlText(raw: string, url: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, name: string | undefined) => {
    if (name === undefined) throw listingError(url, 'a bare "&" in its text');
    if (name.startsWith('#')) {
      const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) throw listingError(url, `the character reference ${whole}`);
      return String.fromCodePoint(code);
    }
    const text = ENTITIES[name];
    if (text === undefined) throw listingError(url, `the unknown entity ${whole}`);
    return text;
  });
}

/**
 * Reads one page of S3's ListBucketResult. The format is fixed and flat (no attributes, CDATA or
 * nesting beyond CommonPrefixes/Prefix and Contents/Key), so a handful of patterns read it
 * exactly; anything else, an S3 <Error> document or an HTML page included, is an ERR_OHLC_LISTING
 * naming the URL.
 */
export function parseListBucketResult(xml: string, url: string): ListPage {
  const body = xml.replace(/^\uFEFF/, '').replace(/<\?xml[^>]*\?>/, '').trim();
  if (!/^<ListBucketResult[\s>]/.test(body) || !body.endsWith('</ListBucketResult>')) {
    const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
    const what = code ? `S3 answered ${code}${message ? ` (${message})` : ''}` : `it is not a ListBucketResult document (it starts ${JSON.stringify(body.slice(0, 60))})`;
    throw listingError(url, what);
  }
  const truncated = /<IsTruncated>\s*(true|false)\s*<\/IsTruncated>/.exec(body)?.[1];
  if (truncated === undefined) throw listingError(url, 'it has no IsTruncated element');
  const next = /<NextMarker>([^<]*)<\/NextMarker>/.exec(body)?.[1];
  const prefixes = [...body.matchAll(/<CommonPrefixes>\s*<Prefix>([^<]*)<\/Prefix>\s*<\/CommonPrefixes>/g)].map((m) => xmlText(m[1], url));
  const keys: string[] = [];
  for (const m of body.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = /<Key>([^<]*)<\/Key>/.exec(m[1])?.[1];
    if (key === undefined) throw listingError(url, 'a Contents element without a Key');
    keys.push(xmlText(key, url));
  }
  return { prefixes, keys, truncated: truncated === 'true', nextMarker: next ? xmlText(next, url) : null };
}

function pageUrl(listingUrl: string, prefix: string, marker: string | null): string {
  const url = new URL(listingUrl);
  url.searchParams.set('delimiter', '/');
  url.searchParams.set('prefix', prefix);
  if (marker !== null) url.searchParams.set('marker', marker);
  return url.href;
}

/** Every sub-folder and file directly under `prefix`, all pages followed. */
export async function listPrefix(prefix: string, s: Pick<ListingSettings, 'listingUrl' | 'http'>): Promise<{ prefixes: string[]; keys: string[]; url: string }> {
  const first = pageUrl(s.listingUrl, prefix, null);
  const prefixes: string[] = [];
  const keys: string[] = [];
  let marker: string | null = null;
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw listingError(first, `more than ${MAX_PAGES} pages`);
    const url = pageUrl(s.listingUrl, prefix, marker);
    const got = await fetchWithRetries(url, MAX_PAGE_BYTES, s.http);
    if (got.status === 'not-found') {
      const err = new OhlcError(ErrorCode.notFound, `${url} does not exist (HTTP 404): listingUrl must name Binance Vision's bucket, e.g. ${DEFAULT_LISTING_URL}`);
      throw Object.assign(err, { url });
    }
    const p = parseListBucketResult(got.body.toString('utf8'), url);
    prefixes.push(...p.prefixes);
    keys.push(...p.keys);
    if (!p.truncated) return { prefixes, keys, url: first };
    // Without NextMarker (a listing without a delimiter), the last key or prefix of the page.
    const last = [...p.prefixes, ...p.keys].sort().pop();
    const next = p.nextMarker ?? last ?? null;
    if (next === null || (marker !== null && next <= marker)) throw listingError(url, 'it says it is truncated but gives no marker past this page');
    marker = next;
  }
}

interface CachedListing {
  format: string;
  url: string;
  fetchedAt: string;
  entries: string[];
  /** Entries the mirror answered 404 for since (markMissing): left out until the listing is fetched again. */
  missing?: string[];
}

function readCached(text: string): CachedListing | null {
  try {
    const c = JSON.parse(text) as Partial<CachedListing>;
    if (c.format !== CACHE_FORMAT || typeof c.url !== 'string' || typeof c.fetchedAt !== 'string' || !Number.isFinite(Date.parse(c.fetchedAt))) return null;
    if (!Array.isArray(c.entries) || !c.entries.every((e) => typeof e === 'string')) return null;
    if (c.missing !== undefined && (!Array.isArray(c.missing) || !c.missing.every((e) => typeof e === 'string'))) return null;
    return c as CachedListing;
  } catch {
    return null;
  }
}

/** Failures a cached listing can stand in for: the network, the server, or what it answered. */
function isRefreshFailure(err: unknown): boolean {
  if (isAbortError(err) || !(err instanceof OhlcError)) return false;
  return ([ErrorCode.network, ErrorCode.http, ErrorCode.listing, ErrorCode.tooLarge, ErrorCode.notFound] as string[]).includes(err.code);
}

/**
 * A listing from its cache file when fresh; else fetched (and cached); else, when fetching fails,
 * the cached one however old, with a warning.
 */
function cachePath(s: Pick<ListingSettings, 'cacheDir'>, file: string): string {
  const root = resolve(s.cacheDir, LISTINGS_DIR);
  const path = resolve(root, file);
  if (!path.startsWith(root + sep)) throw new OhlcError(ErrorCode.internal, `listing path escapes the cache: ${file}`);
  return path;
}

async function readCacheFile(path: string, logger: DataLogger): Promise<CachedListing | null> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const cached = text === null ? null : readCached(text);
  if (text !== null && cached === null) logger.warn('cached listing is unreadable; fetching it again', { path });
  return cached;
}

async function writeCacheFile(path: string, record: CachedListing): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await removeStaleTemporaries(dirname(path), basename(path));
  await writeFileAtomic(path, Buffer.from(`${JSON.stringify(record, null, 1)}\n`));
}

function entriesOf(c: CachedListing): string[] {
  if (!c.missing || c.missing.length === 0) return c.entries;
  const missing = new Set(c.missing);
  return c.entries.filter((e) => !missing.has(e));
}

async function cachedListing(file: string, s: ListingSettings, what: Record<string, unknown>, fetch: () => Promise<{ entries: string[]; url: string }>): Promise<Listing> {
  const path = cachePath(s, file);
  const cached = await readCacheFile(path, s.logger);
  if (cached) {
    const fetchedAt = Date.parse(cached.fetchedAt);
    const age = s.now - fetchedAt;
    if (s.maxAgeMs > 0 && age < s.maxAgeMs) {
      s.logger.debug('listing from the cache', { ...what, path, ageMs: age });
      return { entries: entriesOf(cached), url: cached.url, fetchedAt, fromCache: true, stale: false };
    }
  }
  let fetched: { entries: string[]; url: string };
  try {
    fetched = await fetch();
  } catch (err) {
    if (s.http.signal.aborted) throw abortError(s.http.signal);
    if (!cached || !isRefreshFailure(err)) throw err;
    const fetchedAt = Date.parse(cached.fetchedAt);
    s.logger.warn('could not refresh the listing; using the cached one, which is older than listingMaxAgeMs', {
      ...what,
      path,
      fetchedAt: cached.fetchedAt,
      ageMs: s.now - fetchedAt,
      reason: (err as Error).message,
    });
    return { entries: entriesOf(cached), url: cached.url, fetchedAt, fromCache: true, stale: true };
  }
  const entries = [...new Set(fetched.entries)].sort();
  await writeCacheFile(path, { format: CACHE_FORMAT, url: fetched.url, fetchedAt: new Date(s.now).toISOString(), entries });
  s.logger.info('listed', { ...what, entries: entries.length, url: fetched.url });
  return { entries, url: fetched.url, fetchedAt: s.now, fromCache: false, stale: false };
}

/**
 * The symbol folders of a market's monthly klines (delisted symbols included: their folders stay).
 * Folder names that are not symbols of that market (SYMBOL_PATTERN, the spot/futures suffix rule)
 * are left out, so nothing from the listing can steer a path or a URL.
 */
export async function listSymbols(market: Market, s: ListingSettings): Promise<Listing> {
  const prefix = monthlyKlinesPrefix(market);
  return cachedListing(`${market}/symbols.json`, s, { market }, async () => {
    const { prefixes, url } = await listPrefix(prefix, s);
    const names = prefixes.filter((p) => p.startsWith(prefix) && p.endsWith('/')).map((p) => p.slice(prefix.length, -1));
    const symbols = names.filter((n) => isMarketSymbol(n, market));
    if (symbols.length < names.length) s.logger.debug('listing folders that are not symbols, left out', { market, folders: names.filter((n) => !isMarketSymbol(n, market)).slice(0, 20) });
    return { entries: symbols, url };
  });
}

/**
 * The months ('YYYY-MM') for which a symbol has a monthly archive of `interval`, from its
 * folder's listing (the .zip files; their .CHECKSUM companions are not needed here). Only call
 * with a symbol and interval that passed checkSymbol / checkInterval.
 */
export async function listArchiveMonths(market: Market, symbol: string, interval: Interval, s: ListingSettings): Promise<Listing> {
  const prefix = `${monthlyKlinesPrefix(market)}${symbol}/${interval}/`;
  const name = `${symbol}-${interval}-`;
  // '<SYMBOL>-<interval>-YYYY-MM.zip': a month, not a day (DATE_PATTERN without its day).
  const monthOf = (file: string): string[] => {
    if (!file.startsWith(name) || !file.endsWith('.zip')) return [];
    const period = file.slice(name.length, -'.zip'.length);
    const m = DATE_PATTERN.exec(period);
    return m && m[3] === undefined ? [period] : [];
  };
  return cachedListing(`${market}/${symbol}/${interval}.json`, s, { market, symbol, interval }, async () => {
    const { keys, url } = await listPrefix(prefix, s);
    const months = keys.flatMap((k) => (k.startsWith(prefix) ? monthOf(k.slice(prefix.length)) : []));
    return { entries: months, url };
  });
}

/**
 * Notes months of a symbol's cached archive listing whose archives the mirror answered 404 for
 * (a listing ahead of its mirror, an archive withdrawn): they are left out of that listing until
 * it is fetched again, so a re-run does not ask for them again.
 */
export async function markMonthsMissing(market: Market, symbol: string, interval: Interval, months: string[], s: Pick<ListingSettings, 'cacheDir' | 'logger'>): Promise<void> {
  if (months.length === 0) return;
  const path = cachePath(s, `${market}/${symbol}/${interval}.json`);
  const cached = await readCacheFile(path, s.logger);
  if (!cached) return;
  const missing = [...new Set([...(cached.missing ?? []), ...months])].sort();
  await writeCacheFile(path, { ...cached, missing });
  s.logger.info('listed archives the mirror does not have; left out of the cached listing until it is refreshed', { market, symbol, interval, months });
}

/** Where the listings of a cache live (for messages and tests). */
export function listingsDir(cacheDir: string): string {
  return join(resolve(cacheDir), LISTINGS_DIR);
}
