// resolveUniverse against a local stand-in for Binance Vision's bucket: the listing (1,200+ symbol
// folders over two pages, delisted symbols, symbols listed mid-range), each candidate's archive
// listing and its 1d archives. Month-by-month `top` membership is checked against a ranking
// computed here from the served rows themselves (column 8 summed by this file); then exclusions,
// includeDelisted, the listing cache (0 requests warm, refreshed past its max age, a stale one
// used when the network is down), bad arguments, and the synthetic market offline.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { leveragedToken, stablecoinPair } from '../ts/data/exclusions.js';
import { Limiter } from '../ts/data/limit.js';
import { listArchiveMonths, listSymbols, parseListBucketResult } from '../ts/data/listing.js';
import { SAMPLE_SYMBOLS, sampleTradingSpan } from '../ts/data/sample.js';
import { downloadCryptoData, resolveUniverse, writeSampleArchives, type Universe, type UniverseOptions, type UniverseProgress } from '../ts/index.js';
import { BinanceServer } from './helpers/binance-server.js';
import { assertCacheClean, cacheListing } from './helpers/cache-check.js';
import { RecordingLogger, tempDir } from './helpers/data-env.js';
import { DAY, archivePath, daysInMonth, isoMonth, type FixtureRow } from './helpers/klines-fixtures.js';

const NOW = Date.UTC(2024, 3, 20, 12); // 2024-04-20: 2024-03 is the last finished month
const HOUR_MS = 3_600_000;
const UNREACHABLE = 'http://127.0.0.1:9/';

/** The served market: trading spans [from, to) as month indices (0 = 2023-01) and days. */
interface Served {
  symbol: string;
  /** First trading day. */
  from: number;
  /** First day no longer trading (exclusive). */
  to: number;
}

const M = (i: number) => Date.UTC(2023, i, 1);
const SERVED: Served[] = [
  { symbol: 'AAAUSDT', from: M(0), to: M(15) },
  { symbol: 'BBBUSDT', from: M(0), to: M(15) },
  { symbol: 'CCCUSDT', from: M(0), to: M(15) },
  { symbol: 'DDDUSDT', from: M(0), to: M(15) },
  { symbol: 'JUPUSDT', from: M(2), to: M(15) }, // a coin whose name ends in UP
  { symbol: 'NEWUSDT', from: Date.UTC(2023, 8, 15), to: M(15) }, // listed mid-range
  { symbol: 'OLDUSDT', from: M(0), to: Date.UTC(2023, 6, 10) }, // delisted mid-range
  { symbol: 'USDCUSDT', from: M(0), to: M(15) }, // a stablecoin pair
  { symbol: 'BTCUPUSDT', from: M(0), to: M(15) }, // a leveraged token
  { symbol: 'ETHBTC', from: M(0), to: M(15) }, // another quote
];
/** Listed folders with no archives served: the listing's bulk (another quote, so never candidates). */
const FILLER = Array.from({ length: 1200 }, (_, i) => `F${String(i).padStart(4, '0')}BTC`);

let server: BinanceServer;
let cache: { dir: string; remove: () => void };
let logger: RecordingLogger;
/** The 1d rows served, per symbol, in time order. */
const rowsBySymbol = new Map<string, FixtureRow[]>();

function seedOf(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

async function serveMarket(): Promise<void> {
  for (const s of SERVED) {
    const rows: FixtureRow[] = [];
    for (let m = Date.UTC(new Date(s.from).getUTCFullYear(), new Date(s.from).getUTCMonth(), 1); m < s.to; m = Date.UTC(new Date(m).getUTCFullYear(), new Date(m).getUTCMonth() + 1, 1)) {
      const start = Math.max(m, s.from);
      const end = Math.min(Date.UTC(new Date(m).getUTCFullYear(), new Date(m).getUTCMonth() + 1, 1), s.to);
      const r = await server.serveKlines('spot', 'monthly', s.symbol, '1d', isoMonth(m), { start, count: (end - start) / DAY, intervalMs: DAY, seed: seedOf(`${s.symbol}:${m}`) });
      rows.push(...r.rows);
    }
    rowsBySymbol.set(s.symbol, rows);
  }
  // Listed but gone: a 404 for a month is "not trading then".
  server.addListed(['data/spot/monthly/klines/OLDUSDT/1d/OLDUSDT-1d-2023-08.zip']);
  server.addListed(FILLER.map((s) => archivePath('spot', 'monthly', s, '1d', '2023-01')));
  // A folder that is not a symbol must never become one.
  server.addListed(['data/spot/monthly/klines/not-a-symbol/1d/x.zip', 'data/spot/monthly/klines/BAD_PERP/1d/x.zip']);
}

before(async () => {
  server = await BinanceServer.start();
  await serveMarket();
});
after(async () => {
  await server.close();
});
beforeEach(() => {
  cache = tempDir();
  logger = new RecordingLogger();
  server.resetCounts();
  server.clearFaults();
});
afterEach(() => {
  assertCacheClean(cache.dir);
  cache.remove();
});

function universe(options: Partial<UniverseOptions> = {}): Promise<Universe> {
  return resolveUniverse({
    startDate: '2023-06',
    endDate: '2024-03',
    quote: 'USDT',
    cacheDir: cache.dir,
    baseUrl: server.baseUrl,
    listingUrl: server.listingUrl,
    now: NOW,
    retryDelayMs: 1,
    timeoutMs: 2000,
    logger,
    ...options,
  });
}

/** The ranking, computed here: column 8 of the served rows summed over the 30 days before each month. */
function expectedTop(candidates: string[], months: number[], n: number, lookbackDays: number) {
  return months.map((m) => {
    const from = m - lookbackDays * DAY;
    const ranked: Array<{ symbol: string; quoteVolume: number }> = [];
    for (const symbol of candidates) {
      const rows = (rowsBySymbol.get(symbol) ?? []).filter((r) => r.openTime >= from && r.openTime < m);
      if (rows.length === 0) continue;
      let sum = 0;
      for (const r of rows) sum += r.quoteVolume;
      ranked.push({ symbol, quoteVolume: sum });
    }
    ranked.sort((a, b) => b.quoteVolume - a.quoteVolume || a.symbol.localeCompare(b.symbol));
    return { month: isoMonth(m), members: ranked.slice(0, n) };
  });
}

const RANGE = Array.from({ length: 10 }, (_, i) => M(5 + i)); // 2023-06 .. 2024-03
const CANDIDATES = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT', 'DDDUSDT', 'JUPUSDT', 'NEWUSDT', 'OLDUSDT'];

describe('resolveUniverse: the universe from the bucket', () => {
  it('lists 1,200+ symbol folders over two pages; candidates, exclusions and every month', async () => {
    const u = await universe();
    assert.deepEqual(u.candidates, CANDIDATES);
    assert.deepEqual(
      u.excluded.map((e) => [e.symbol, e.reason]),
      [
        ['BTCUPUSDT', 'leveraged token'],
        ['USDCUSDT', 'stablecoin pair'],
      ],
    );
    assert.deepEqual(u.symbols, CANDIDATES);
    assert.deepEqual(u.months.map((m) => m.month), RANGE.map(isoMonth));
    for (const m of u.months) assert.deepEqual(m.members, CANDIDATES.map((symbol) => ({ symbol })));
    assert.equal(u.listing.url, `${server.listingUrl}?delimiter=%2F&prefix=data%2Fspot%2Fmonthly%2Fklines%2F`);
    assert.deepEqual([u.listing.fromCache, u.listing.stale, u.listing.synthetic, u.listing.fetchedAt], [false, false, false, NOW]);
    // Two pages, the second from the first's NextMarker; no archive or per-symbol listing was needed.
    assert.equal(server.requestCount(), 2);
    assert.equal(server.listingRequests[0].get('marker'), null);
    const folders = [...SERVED.map((s) => s.symbol), ...FILLER, 'not-a-symbol', 'BAD_PERP'].map((s) => `data/spot/monthly/klines/${s}/`).sort();
    assert.equal(server.listingRequests[1].get('marker'), folders[999]);
    const cached = JSON.parse(readFileSync(join(cache.dir, 'listings', 'spot', 'symbols.json'), 'utf8'));
    assert.equal(cached.fetchedAt, new Date(NOW).toISOString());
    assert.equal(cached.entries.length, SERVED.length + FILLER.length);
    assert.ok(!cached.entries.includes('not-a-symbol') && !cached.entries.includes('BAD_PERP'));
  });

  it('ranks each month on the quote volume of the 30 days before it, as summed here from the archives', async () => {
    const u = await universe({ top: { n: 3 } });
    const want = expectedTop(CANDIDATES, RANGE, 3, 30);
    assert.deepEqual(u.months, want);
    assert.deepEqual(u.symbols, [...new Set(want.flatMap((m) => m.members.map((x) => x.symbol)))].sort());
    // The ranking moves: not the same members every month, and the listed/delisted ones come and go.
    assert.ok(new Set(u.months.map((m) => m.members.map((x) => x.symbol).join())).size > 1);
    const all = expectedTop(CANDIDATES, RANGE, 99, 30);
    const members = (month: string) => all.find((m) => m.month === month)!.members.map((x) => x.symbol);
    assert.ok(!members('2023-09').includes('NEWUSDT') && members('2023-10').includes('NEWUSDT'));
    assert.ok(members('2023-08').includes('OLDUSDT') && !members('2023-09').includes('OLDUSDT'));
    // Every candidate was listed, and only the listed months were fetched: OLDUSDT's listed-but-missing 2023-08 was a 404, not an error.
    const fetched = server.requests.filter((p) => p.endsWith('.zip'));
    assert.ok(fetched.includes('data/spot/monthly/klines/OLDUSDT/1d/OLDUSDT-1d-2023-08.zip'));
    assert.ok(!fetched.some((p) => /NEWUSDT-1d-2023-0[1-8]/.test(p)), 'months before a listing are never asked for');
    assert.equal(server.listingRequests.length, 2 + CANDIDATES.length);
  });

  it('ranks with another n and lookback, ties broken by name', async () => {
    const u = await universe({ top: { n: 5, lookbackDays: 45, rankBy: 'quote_volume', rebalance: 'monthly' }, startDate: '2023-11-15', endDate: '2024-02-01' });
    assert.deepEqual(u.months, expectedTop(CANDIDATES, [M(10), M(11), M(12), M(13)], 5, 45));
  });

  it('a warm cache makes no request at all, until the listing is older than listingMaxAgeMs', async () => {
    const first = await universe({ top: { n: 3 } });
    assert.ok(server.requestCount() > 20);
    server.resetCounts();
    const again = await universe({ top: { n: 3 }, now: NOW + 23 * HOUR_MS });
    assert.equal(server.requestCount(), 0, server.requests.join('\n'));
    assert.deepEqual(again.months, first.months);
    assert.equal(again.listing.fromCache, true);
    assert.equal(again.listing.fetchedAt, NOW);
    // Past the max age: the listings are fetched again; archives stay cached, and only the one the
    // listing names but the mirror lacks (a 404, remembered with the old listing) is asked for again.
    const later = await universe({ top: { n: 3 }, now: NOW + 25 * HOUR_MS });
    assert.equal(server.requestCount((p) => p.startsWith('s3/')), 2 + CANDIDATES.length);
    assert.deepEqual(server.requests.filter((p) => !p.startsWith('s3/')), ['data/spot/monthly/klines/OLDUSDT/1d/OLDUSDT-1d-2023-08.zip']);
    assert.deepEqual([later.listing.fromCache, later.listing.fetchedAt], [false, NOW + 25 * HOUR_MS]);
    assert.deepEqual(later.months, first.months);
    server.resetCounts();
    await universe({ top: { n: 3 }, now: NOW + 25 * HOUR_MS, listingMaxAgeMs: 0 });
    assert.equal(server.requestCount((p) => p.startsWith('s3/')), 2 + CANDIDATES.length, 'listingMaxAgeMs 0 always refreshes');
    server.resetCounts();
    await universe({ top: { n: 3 }, now: NOW + 30 * DAY, listingMaxAgeMs: 365 * DAY });
    assert.equal(server.requestCount(), 0);
  });

  it('uses a stale listing, with a warning, when the network is down; fails without one', async () => {
    await assert.rejects(universe({ listingUrl: `${UNREACHABLE}s3/data.binance.vision`, retries: 0 }), { code: 'ERR_OHLC_NETWORK' });
    const first = await universe({ top: { n: 2 } });
    const down = await universe({ top: { n: 2 }, now: NOW + 3 * DAY, listingUrl: `${UNREACHABLE}s3/data.binance.vision`, baseUrl: UNREACHABLE, retries: 0 });
    assert.deepEqual(down.months, first.months);
    assert.deepEqual([down.listing.fromCache, down.listing.stale, down.listing.fetchedAt], [true, true, NOW]);
    assert.ok(logger.has('warn', /could not refresh the listing; using the cached one/));
    // A server answering errors (here 503, retried) counts as down too.
    server.resetCounts();
    server.fault('s3/data.binance.vision', { kind: 'status', status: 503 }, 100);
    const failing = await universe({ now: NOW + 3 * DAY, retries: 1 });
    assert.equal(failing.listing.stale, true);
    assert.equal(server.requestCount(), 2);
  });

  it('exclusion rules: the defaults, patterns, exact names, defaultExclusions: false', async () => {
    const patterns = await universe({ exclude: ['A*', 'DDDUSDT', '*EW*'] });
    assert.deepEqual(patterns.candidates, ['BBBUSDT', 'CCCUSDT', 'JUPUSDT', 'OLDUSDT']);
    const why = Object.fromEntries(patterns.excluded.map((e) => [e.symbol, `${e.reason}: ${e.detail}`]));
    assert.match(why.AAAUSDT, /^excluded: matches exclude pattern "A\*"/);
    assert.match(why.DDDUSDT, /^excluded: exclude names it/);
    assert.match(why.NEWUSDT, /pattern "\*EW\*"/);
    assert.match(why.USDCUSDT, /^stablecoin pair: USDC\/USDT/);
    assert.match(why.BTCUPUSDT, /^leveraged token: BTCUP/);
    const none = await universe({ defaultExclusions: false });
    assert.deepEqual(none.candidates, ['AAAUSDT', 'BBBUSDT', 'BTCUPUSDT', 'CCCUSDT', 'DDDUSDT', 'JUPUSDT', 'NEWUSDT', 'OLDUSDT', 'USDCUSDT']);
    assert.deepEqual(none.excluded, []);
    const btc = await universe({ quote: 'BTC', exclude: ['F*'] });
    assert.deepEqual(btc.candidates, ['ETHBTC']);
    await assert.rejects(universe({ exclude: ['*'] }), (err: Error & { code?: string }) => err.code === 'ERR_OHLC_NO_DATA' && /No candidate symbols/.test(err.message));
  });

  it('the default rules on their own', () => {
    assert.equal(stablecoinPair('FDUSDUSDT', 'USDT'), 'FDUSD/USDT');
    assert.equal(stablecoinPair('USDCFDUSD', null), 'USDC/FDUSD');
    assert.equal(stablecoinPair('BTCUSDT', 'USDT'), null);
    assert.equal(stablecoinPair('USDCUSDT', 'USDC'), null, 'not a pair with that quote');
    assert.equal(stablecoinPair('USDCUSDT_PERP', null), 'USDC/USDT');
    assert.equal(leveragedToken('ETHDOWNUSDT', 'USDT'), 'ETHDOWN');
    assert.equal(leveragedToken('BNBBULLUSDT', null), 'BNBBULL');
    assert.equal(leveragedToken('XRPBEARBUSD', null), 'XRPBEAR');
    for (const coin of ['JUPUSDT', 'SYRUPUSDT', 'UPUSDT', 'BTCUSDT', 'SUPERUSDT']) assert.equal(leveragedToken(coin, 'USDT'), null, coin);
  });

  it('includeDelisted: false leaves out what has no archive for the last finished month', async () => {
    const u = await universe({ includeDelisted: false, top: { n: 10 } });
    assert.deepEqual(u.candidates, ['AAAUSDT', 'BBBUSDT', 'CCCUSDT', 'DDDUSDT', 'JUPUSDT', 'NEWUSDT']);
    const old = u.excluded.find((e) => e.symbol === 'OLDUSDT');
    assert.equal(old?.reason, 'delisted');
    assert.match(old!.detail, /no 1d archive for 2024-03/);
    assert.deepEqual(u.months, expectedTop(u.candidates, RANGE, 10, 30));
    // Early in a month, before any monthly archive of the last month is out, the month before decides.
    const early = await universe({ includeDelisted: false, now: Date.UTC(2024, 4, 2) });
    assert.ok(early.candidates.includes('NEWUSDT') && !early.candidates.includes('OLDUSDT'));
    assert.ok(logger.has('info', /judging delistings by the month before/));
  });

  it('follows a listing without NextMarker from the last entry, and archive listings over many pages', async () => {
    server.omitNextMarker = true;
    server.maxKeys = 7;
    try {
      const http = { timeoutMs: 2000, minBytesPerSecond: 1024, retries: 0, retryDelayMs: 1, logger, signal: new AbortController().signal, limiter: new Limiter(4) };
      const settings = { listingUrl: server.listingUrl, cacheDir: cache.dir, maxAgeMs: 1000, now: NOW, http, logger };
      const months = await listArchiveMonths('spot', 'AAAUSDT', '1d', settings);
      assert.deepEqual(months.entries, Array.from({ length: 15 }, (_, i) => isoMonth(M(i))));
      assert.ok(server.listingRequests.length >= 5);
      // With no NextMarker, each page continues from its last key.
      assert.equal(server.listingRequests[1].get('marker'), 'data/spot/monthly/klines/AAAUSDT/1d/AAAUSDT-1d-2023-04.zip');
      server.maxKeys = 1000;
      const symbols = await listSymbols('spot', { ...settings, maxAgeMs: 0 });
      assert.equal(symbols.entries.length, SERVED.length + FILLER.length);
    } finally {
      server.omitNextMarker = false;
      server.maxKeys = 1000;
    }
  });

  it('ranks a month whose monthly archives are not published yet on its daily archives', async () => {
    const other = await BinanceServer.start();
    try {
      const now = Date.UTC(2024, 3, 5, 12); // 2024-04-05: March's monthly archives are not out yet
      const daily = new Map<string, FixtureRow[]>();
      for (const symbol of ['PPPUSDT', 'QQQUSDT']) {
        const rows: FixtureRow[] = [];
        await other.serveKlines('spot', 'monthly', symbol, '1d', '2024-02', { start: M(13), count: 29, intervalMs: DAY, seed: seedOf(`${symbol}-feb`) });
        for (let d = M(14); d < Date.UTC(2024, 3, 4); d += DAY) {
          const r = await other.serveKlines('spot', 'daily', symbol, '1d', new Date(d).toISOString().slice(0, 10), { start: d, count: 1, intervalMs: DAY, seed: seedOf(`${symbol}:${d}`) });
          rows.push(...r.rows);
        }
        daily.set(symbol, rows);
      }
      const u = await resolveUniverse({ startDate: '2024-04', endDate: '2024-04', quote: 'USDT', top: { n: 1 }, cacheDir: cache.dir, baseUrl: other.baseUrl, listingUrl: other.listingUrl, now, retryDelayMs: 1, logger });
      const window = Date.UTC(2024, 3, 1) - 30 * DAY;
      const sums = [...daily].map(([symbol, rows]) => ({ symbol, quoteVolume: rows.filter((r) => r.openTime >= window && r.openTime < Date.UTC(2024, 3, 1)).reduce((s, r) => s + r.quoteVolume, 0) }));
      sums.sort((a, b) => b.quoteVolume - a.quoteVolume);
      assert.deepEqual(u.months, [{ month: '2024-04', members: [sums[0]] }]);
      assert.ok(other.requests.some((p) => p.endsWith('PPPUSDT-1d-2024-03-02.zip')));
      assert.ok(!other.requests.some((p) => p.endsWith('PPPUSDT-1d-2024-03-01.zip')), 'only the days in the window');
    } finally {
      await other.close();
    }
  });

  it('reports progress: listings, then ranking archives', async () => {
    const events: UniverseProgress[] = [];
    await universe({ top: { n: 2 }, includeDelisted: false, onProgress: (p) => events.push(p) });
    const phases = events.map((e) => e.phase);
    assert.equal(phases[0], 'listing');
    const listing = events.filter((e) => e.phase === 'listing');
    assert.equal(listing.length, 1 + CANDIDATES.length, 'each listing once, though both the delisting check and the ranking need them');
    assert.deepEqual(listing.at(-1)!.done, listing.at(-1)!.total);
    assert.ok(phases.includes('download') && phases.includes('parse'));
    for (const e of events) assert.ok(e.done >= 1 && e.done <= e.total, JSON.stringify(e));
    const parsed = events.filter((e) => e.phase === 'parse');
    assert.equal(parsed.at(-1)!.done, parsed.at(-1)!.total);
  });

  it('honours an AbortSignal', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(universe({ signal: ac.signal }), { name: 'AbortError' });
    const ac2 = new AbortController();
    server.latencyMs = 50;
    try {
      const p = universe({ top: { n: 2 }, signal: ac2.signal });
      setTimeout(() => ac2.abort(), 20);
      await assert.rejects(p, { name: 'AbortError' });
    } finally {
      server.latencyMs = 0;
    }
  });
});

describe('the S3 listing reader', () => {
  const url = 'http://x/b?prefix=p';
  it('reads prefixes, keys, IsTruncated and NextMarker, with entities decoded', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><Marker></Marker>' +
      '<NextMarker>p/B&amp;C/</NextMarker><IsTruncated>true</IsTruncated>\n  <CommonPrefixes>\n <Prefix>p/A/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>p/B&amp;C/</Prefix></CommonPrefixes>' +
      '<Contents><Key>p/x&#46;zip</Key><Size>3</Size></Contents><Contents><Key>p/&#x79;&lt;&gt;&quot;&apos;</Key></Contents></ListBucketResult>';
    assert.deepEqual(parseListBucketResult(xml, url), { prefixes: ['p/A/', 'p/B&C/'], keys: ['p/x.zip', 'p/y<>"\''], truncated: true, nextMarker: 'p/B&C/' });
    assert.deepEqual(parseListBucketResult('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>', url), { prefixes: [], keys: [], truncated: false, nextMarker: null });
  });

  it('refuses what is not a listing, naming the URL and what S3 said', () => {
    const bad: Array<[string, RegExp]> = [
      ['<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>', /S3 answered AccessDenied \(Access Denied\)/],
      ['<html><body>Sign in to the Wi-Fi</body></html>', /not a ListBucketResult document/],
      ['<ListBucketResult><Name>b</Name></ListBucketResult>', /no IsTruncated/],
      ['<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents></ListBucketResult>', /Contents element without a Key/],
      ['<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a&b</Key></Contents></ListBucketResult>', /bare "&"/],
      ['<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a&nbsp;b</Key></Contents></ListBucketResult>', /unknown entity &nbsp;/],
      ['<ListBucketResult><IsTruncated>false</IsTruncated>', /not a ListBucketResult/],
    ];
    for (const [xml, why] of bad) {
      assert.throws(() => parseListBucketResult(xml, url), (err: Error & { code?: string; url?: string }) => {
        assert.equal(err.code, 'ERR_OHLC_LISTING');
        assert.equal(err.url, url);
        assert.match(err.message, why);
        assert.match(err.message, /^http:\/\/x\/b\?prefix=p is not a usable bucket listing: .*Check listingUrl/);
        return true;
      });
    }
  });

  it('a listing that does not advance, or a server that is not a bucket, is an error; an unreadable cached listing is fetched again', async () => {
    server.fault('s3/data.binance.vision', { kind: 'body', body: '<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>' });
    await assert.rejects(universe(), { code: 'ERR_OHLC_LISTING' });
    server.fault('s3/data.binance.vision', { kind: 'body', body: '<html>hello</html>' });
    await assert.rejects(universe(), /is not a usable bucket listing: it is not a ListBucketResult document/);
    await assert.rejects(universe({ listingUrl: `${server.baseUrl}nothing-here` }), { code: 'ERR_OHLC_NOT_FOUND' });
    await universe();
    const file = join(cache.dir, 'listings', 'spot', 'symbols.json');
    writeFileSync(file, '{"torn');
    server.resetCounts();
    const again = await universe();
    assert.equal(again.listing.fromCache, false);
    assert.ok(logger.has('warn', /cached listing is unreadable/));
    assert.equal(server.requestCount(), 2);
  });
});

describe('resolveUniverse: argument checks', () => {
  type Kind = typeof TypeError | typeof RangeError;
  const cases: Array<[string, Record<string, unknown>, Kind, string]> = [
    ['no startDate', { startDate: undefined }, TypeError, 'startDate'],
    ['a bad endDate', { endDate: '2024-13' }, RangeError, 'endDate'],
    ['an end before the start', { startDate: '2024-02', endDate: '2024-01' }, RangeError, 'endDate'],
    ['an unknown market', { market: 'futures' }, RangeError, 'market'],
    ['a quote in lower case', { quote: 'usdt' }, RangeError, 'quote'],
    ['a quote number', { quote: 5 }, TypeError, 'quote'],
    ['exclude a string', { exclude: '*UP' }, TypeError, 'exclude'],
    ['exclude with a number', { exclude: ['A*', 3] }, TypeError, 'exclude[1]'],
    ['exclude with a path', { exclude: ['../x'] }, RangeError, 'exclude[0]'],
    ['exclude empty string', { exclude: [''] }, RangeError, 'exclude[0]'],
    ['defaultExclusions not a boolean', { defaultExclusions: 'no' }, TypeError, 'defaultExclusions'],
    ['includeDelisted not a boolean', { includeDelisted: 0 }, TypeError, 'includeDelisted'],
    ['top not an object', { top: 5 }, TypeError, 'top'],
    ['top without n', { top: {} }, TypeError, 'top.n'],
    ['top.n 0', { top: { n: 0 } }, RangeError, 'top.n'],
    ['top.n 1.5', { top: { n: 1.5 } }, RangeError, 'top.n'],
    ['top.rankBy volume', { top: { n: 3, rankBy: 'volume' } }, RangeError, 'top.rankBy'],
    ['top.lookbackDays 0', { top: { n: 3, lookbackDays: 0 } }, RangeError, 'top.lookbackDays'],
    ['top.lookbackDays 400', { top: { n: 3, lookbackDays: 400 } }, RangeError, 'top.lookbackDays'],
    ['top.rebalance weekly', { top: { n: 3, rebalance: 'weekly' } }, RangeError, 'top.rebalance'],
    ['an unknown top option', { top: { n: 3, by: 'x' } }, TypeError, 'top.by'],
    ['top over months to come', { top: { n: 3 }, endDate: '2024-05' }, RangeError, 'endDate'],
    ['listingUrl not http', { listingUrl: 'file:///etc/' }, RangeError, 'listingUrl'],
    ['listingUrl with a query', { listingUrl: 'https://x.example/b?prefix=a' }, RangeError, 'listingUrl'],
    ['listingUrl a number', { listingUrl: 1 }, TypeError, 'listingUrl'],
    ['listingMaxAgeMs negative', { listingMaxAgeMs: -1 }, RangeError, 'listingMaxAgeMs'],
    ['listingMaxAgeMs a string', { listingMaxAgeMs: '1d' }, TypeError, 'listingMaxAgeMs'],
    ['baseUrl not http', { baseUrl: 'ftp://x/' }, RangeError, 'baseUrl'],
    ['source unknown', { source: 'real' }, RangeError, 'source'],
    ['concurrency 0', { concurrency: 0 }, RangeError, 'concurrency'],
    ['cacheDir empty', { cacheDir: '' }, RangeError, 'cacheDir'],
    ['signal not a signal', { signal: {} }, TypeError, 'signal'],
    ['onProgress not a function', { onProgress: 1 }, TypeError, 'onProgress'],
    ['logger without debug', { logger: { info() {}, warn() {} } }, TypeError, 'logger.debug'],
    ['now NaN', { now: NaN }, RangeError, 'now'],
    ['terms not strings', { terms: { quote: 1 } }, TypeError, 'terms.quote'],
    ['an unknown option', { symbol: 'BTCUSDT' }, TypeError, 'options.symbol'],
  ];

  it('rejects a non-object', async () => {
    for (const v of [undefined, null, 'spot', [], 5]) await assert.rejects(resolveUniverse(v as never), (err: Error) => err instanceof TypeError && / for options but received/.test(err.message));
  });

  for (const [what, patch, Kind, name] of cases) {
    it(`rejects ${what} (${Kind.name} naming ${name})`, async () => {
      await assert.rejects(universe(patch as Partial<UniverseOptions>), (err: Error) => {
        assert.ok(err instanceof Kind, `expected ${Kind.name}, got ${err.constructor.name}: ${err.message}`);
        assert.ok(err.message.includes(` for ${name} but received`), err.message);
        return true;
      });
      assert.equal(server.requestCount(), 0);
      assert.deepEqual(cacheListing(cache.dir), []);
    });
  }

  it('speaks the caller\'s terms in its own messages', async () => {
    await assert.rejects(universe({ exclude: ['*'], terms: { exclude: 'universe.exclude', quote: 'universe.quote' } }), /Check universe\.quote, universe\.exclude and market/);
  });
});

describe("resolveUniverse({ source: 'sample' }): a synthetic market, offline", () => {
  const SAMPLE_NOW = Date.UTC(2025, 0, 20);
  // Offline: every URL given points nowhere, and the stand-in must see nothing.
  afterEach(() => assert.equal(server.requestCount(), 0, server.requests.join('\n')));
  const sample = (options: Partial<UniverseOptions> = {}) =>
    resolveUniverse({ source: 'sample', startDate: '2024-06', endDate: '2024-12', quote: 'USDT', cacheDir: cache.dir, listingUrl: `${UNREACHABLE}x`, baseUrl: UNREACHABLE, now: SAMPLE_NOW, logger, ...options });

  it('lists the synthetic market: stablecoin pairs and leveraged tokens excluded, delisted symbols kept', async () => {
    const u = await sample();
    assert.equal(u.listing.synthetic, true);
    const spot = SAMPLE_SYMBOLS.spot.map((s) => s.symbol);
    assert.ok(spot.length >= 30 && spot.length <= 60);
    assert.ok(u.candidates.includes('MATICUSDT') && u.candidates.includes('LUNAUSDT') && u.candidates.includes('JUPUSDT') && u.candidates.includes('POLUSDT'));
    for (const s of ['USDCUSDT', 'FDUSDUSDT', 'BUSDUSDT', 'BTCUPUSDT', 'ETHDOWNUSDT']) assert.ok(u.excluded.some((e) => e.symbol === s), s);
    assert.ok(!u.candidates.some((s) => !s.endsWith('USDT')));
    const kept = await sample({ includeDelisted: false });
    assert.ok(!kept.candidates.includes('MATICUSDT') && !kept.candidates.includes('LUNAUSDT') && kept.candidates.includes('FTMUSDT'));
    assert.deepEqual(cacheListing(cache.dir), [], 'no listing needs caching offline, and no archive without top');
  });

  it('ranks on the synthetic 1d archives: volume levels differ, symbols come and go with their trading days', async () => {
    const u = await sample({ top: { n: 8 }, startDate: '2024-03', endDate: '2024-12' });
    assert.equal(u.months.length, 10);
    for (const m of u.months) {
      assert.equal(m.members.length, 8);
      for (let i = 1; i < m.members.length; i++) assert.ok(m.members[i - 1].quoteVolume! >= m.members[i].quoteVolume!);
    }
    const members = (month: string) => u.months.find((m) => m.month === month)!.members.map((x) => x.symbol);
    // POLUSDT trades from 2024-09-13, MATICUSDT until 2024-09-10.
    for (const month of ['2024-03', '2024-06', '2024-09']) assert.ok(!members(month).includes('POLUSDT'), month);
    for (const month of ['2024-11', '2024-12']) assert.ok(!members(month).includes('MATICUSDT'), month);
    assert.ok(new Set(u.months.map((m) => members(m.month).join())).size > 1, 'the ranking moves');
    // One month (2024-08: the 30 days from 2024-07-02) checked against the sample's own July archive, summed here.
    const month = u.months[5];
    assert.equal(month.month, '2024-08');
    for (const m of month.members) {
      const c = await downloadCryptoData({ source: 'sample', symbol: m.symbol, interval: '1d', startDate: '2024-07', endDate: '2024-07', cacheDir: cache.dir, now: SAMPLE_NOW });
      let sum = 0;
      for (let i = 0; i < c.length; i++) if (c.openTime[i] >= Date.UTC(2024, 6, 2)) sum += c.quoteVolume[i];
      assert.equal(sum, m.quoteVolume, m.symbol);
    }
    assert.ok(existsSync(join(cache.dir, 'synthetic', 'data', 'spot', 'monthly', 'klines', 'BTCUSDT', '1d')));
  });

  it('futures markets have synthetic listings too', async () => {
    const um = await sample({ market: 'um', top: { n: 3 }, startDate: '2024-11', endDate: '2024-12' });
    assert.equal(um.months[0].members.length, 3);
    assert.ok(!um.candidates.includes('USDCUSDT'));
    const cm = await sample({ market: 'cm', quote: 'USD', startDate: '2024-11', endDate: '2024-12' });
    assert.ok(cm.candidates.includes('BTCUSD_PERP') && cm.candidates.includes('LUNAUSD_PERP'));
  });

  it('a sample symbol has no archives outside its trading days: writeSampleArchives skips them, downloadCryptoData reports them as a 404 would', async () => {
    const span = sampleTradingSpan('spot', 'POLUSDT');
    assert.equal(span.start, Date.UTC(2024, 8, 13));
    const written = await writeSampleArchives({ symbol: 'POLUSDT', interval: '1d', startDate: '2024-08', endDate: '2024-10', cacheDir: cache.dir, now: SAMPLE_NOW });
    assert.deepEqual(written.notTrading, ['POLUSDT-1d-2024-08.zip']);
    assert.deepEqual(written.archives.map((a) => [a.name, a.rows]), [['POLUSDT-1d-2024-09.zip', 18], ['POLUSDT-1d-2024-10.zip', 31]]);
    await assert.rejects(downloadCryptoData({ source: 'sample', symbol: 'POLUSDT', interval: '1d', startDate: '2024-08', endDate: '2024-10', cacheDir: cache.dir, now: SAMPLE_NOW }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NOT_FOUND');
      assert.match(err.message, /POLUSDT-1d-2024-08\.zip does not exist in the synthetic sample/);
      return true;
    });
    const pol = await downloadCryptoData({ source: 'sample', symbol: 'POLUSDT', interval: '1h', startDate: '2024-09', endDate: '2024-09', cacheDir: cache.dir, now: SAMPLE_NOW });
    assert.equal(pol.openTime[0], Date.UTC(2024, 8, 13));
    assert.equal(pol.length, 18 * 24);
    const matic = await downloadCryptoData({ source: 'sample', symbol: 'MATICUSDT', interval: '1d', startDate: '2024-09-01', endDate: '2024-09-09', cacheDir: cache.dir, now: SAMPLE_NOW });
    assert.equal(matic.length, 9);
    await assert.rejects(downloadCryptoData({ source: 'sample', symbol: 'MATICUSDT', interval: '1d', startDate: '2024-09-10', endDate: '2024-09-11', cacheDir: cache.dir, now: SAMPLE_NOW }), { code: 'ERR_OHLC_NOT_FOUND' });
  });
});
