// downloadCryptoData against a local stand-in for data.binance.vision: which archives a range
// needs, the cache (zero requests on a re-run), fallbacks, merging, and the documented outcome of
// every fault, with the cache left clean each time.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { downloadCryptoData, type DataProgress, type DownloadOptions } from '../ts/index.js';
import { fetchWithRetries } from '../ts/data/http.js';
import { Limiter } from '../ts/data/limit.js';
import { BinanceServer } from './helpers/binance-server.js';
import { assertCacheClean, cacheListing } from './helpers/cache-check.js';
import { RecordingLogger, tempDir } from './helpers/data-env.js';
import { DAY, HOUR, MINUTE, archivePath, daysInMonth, isoDay, sha256, zipMembers, type FixtureRow } from './helpers/klines-fixtures.js';

const NOW = Date.UTC(2024, 2, 10, 12); // 2024-03-10 12:00 UTC
const JAN = Date.UTC(2024, 0, 1);
const FEB = Date.UTC(2024, 1, 1);
const MAR = Date.UTC(2024, 2, 1);

let server: BinanceServer;
let cache: { dir: string; remove: () => void };
let logger: RecordingLogger;

before(async () => {
  server = await BinanceServer.start();
});
after(async () => {
  await server.close();
});
beforeEach(() => {
  cache = tempDir();
  logger = new RecordingLogger();
  server.reset();
});
afterEach(() => {
  assertCacheClean(cache.dir);
  cache.remove();
});

function download(options: Partial<DownloadOptions>) {
  return downloadCryptoData({
    symbol: 'BTCUSDT',
    interval: '1h',
    startDate: '2024-01',
    endDate: '2024-01',
    baseUrl: server.baseUrl,
    cacheDir: cache.dir,
    now: NOW,
    retryDelayMs: 1,
    timeoutMs: 2000,
    logger,
    ...options,
  });
}

function assertCandles(got: Record<'openTime' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'quoteVolume', Float64Array>, rows: FixtureRow[]): void {
  assert.equal(got.openTime.length, rows.length);
  for (const f of ['openTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume'] as const) assert.deepEqual(Array.from(got[f]), rows.map((r) => r[f]), f);
}

/** Serves 1h archives: monthly for the given months, daily for the given days. */
async function serve1h(months: number[], days: number[], symbol = 'BTCUSDT'): Promise<Map<number, FixtureRow[]>> {
  const rows = new Map<number, FixtureRow[]>();
  for (const m of months) {
    const count = daysInMonth(m) * 24;
    const r = await server.serveKlines('spot', 'monthly', symbol, '1h', new Date(m).toISOString().slice(0, 7), { start: m, count, intervalMs: HOUR });
    rows.set(m, r.rows);
  }
  for (const d of days) {
    const r = await server.serveKlines('spot', 'daily', symbol, '1h', isoDay(d), { start: d, count: 24, intervalMs: HOUR });
    rows.set(d, r.rows);
  }
  return rows;
}

function dayRange(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i * DAY);
}

describe('downloadCryptoData: archives, cache and merge', () => {
  it('takes whole months from monthly archives and a partial month from dailies; a re-run makes no request', async () => {
    const days = dayRange(MAR, 9);
    const rows = await serve1h([JAN, FEB], days);
    const progress: DataProgress[] = [];
    const got = await download({ startDate: '2024-01', endDate: '2024-03-09', onProgress: (p) => progress.push(p) });
    const expected = [JAN, FEB, ...days].flatMap((k) => rows.get(k)!);
    assertCandles(got, expected);
    assert.equal(got.length, expected.length);
    assert.deepEqual(got.gaps, []);
    assert.equal(got.duplicates, 0);
    assert.equal(got.intervalMs, HOUR);
    assert.deepEqual(got.sources.map((s) => s.name), ['BTCUSDT-1h-2024-01.zip', 'BTCUSDT-1h-2024-02.zip', ...days.map((d) => `BTCUSDT-1h-${isoDay(d)}.zip`)]);
    assert.ok(got.sources.every((s) => !s.cached && s.verified && !s.synthetic && s.rows > 0));
    assert.equal(got.sources[0].url, `${server.baseUrl}data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip`);
    assert.equal(server.requestCount(), 2 * 11, 'one archive and one .CHECKSUM request each');
    assert.equal(server.requestCount((p) => p.includes('2024-03-10')), 0, "today's daily is never requested");
    assert.equal(progress.filter((p) => p.phase === 'download').length, 11);
    assert.deepEqual(progress.filter((p) => p.phase === 'parse').at(-1), { phase: 'parse', done: 11, total: 11, file: progress.at(-1)!.file });
    // The cache mirrors Binance's paths.
    assert.ok(cacheListing(cache.dir).includes('data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip.CHECKSUM'));

    server.resetCounts();
    const again = await download({ startDate: '2024-01', endDate: '2024-03-09' });
    assert.equal(server.requestCount(), 0, `re-run requested ${server.requests.join(', ')}`);
    assert.ok(again.sources.every((s) => s.cached));
    assertCandles(again, expected);
    assert.ok(logger.has('debug', /cache hit/));
  });

  it('falls back to daily archives when the monthly one is missing, and reuses them with no request', async () => {
    const febDays = dayRange(FEB, 29);
    const rows = await serve1h([], febDays);
    const progress: DataProgress[] = [];
    const got = await download({ startDate: '2024-02', endDate: '2024-02', onProgress: (p) => progress.push(p) });
    assertCandles(got, febDays.flatMap((d) => rows.get(d)!));
    const last = (phase: string) => progress.filter((p) => p.phase === phase).at(-1)!;
    assert.deepEqual([last('download').done, last('download').total, last('parse').done, last('parse').total], [29, 29, 29, 29]);
    assert.equal(got.sources.length, 29);
    assert.ok(logger.has('info', /falling back to daily/));
    assert.equal(server.requestCount(), 1 + 29 * 2);

    server.resetCounts();
    const again = await download({ startDate: '2024-02', endDate: '2024-02' });
    assert.equal(server.requestCount(), 0, `re-run requested ${server.requests.join(', ')}`);
    assert.equal(again.length, 29 * 24);
  });

  it('reports days not published yet (the last 2) as a gap, but fails on an older missing day', async () => {
    const rows = await serve1h([], dayRange(MAR, 7)); // March 1..7 present, 8 and 9 not yet
    const got = await download({ startDate: '2024-03-01', endDate: '2024-03-31' });
    assertCandles(got, dayRange(MAR, 7).flatMap((d) => rows.get(d)!));
    assert.deepEqual(got.notPublished, ['BTCUSDT-1h-2024-03-08.zip', 'BTCUSDT-1h-2024-03-09.zip']);
    assert.deepEqual(got.gaps, [{ from: Date.UTC(2024, 2, 7, 23), to: Date.UTC(2024, 2, 10), missing: 48 }]);
    assert.ok(logger.has('warn', /not published yet/));
    assert.equal(server.requestCount((p) => /2024-03-(1[0-9]|2|3)/.test(p)), 0, 'today and future days are not requested');

    // An older day missing upstream (and not cached): an error, not a gap.
    const march5 = archivePath('spot', 'daily', 'BTCUSDT', '1h', '2024-03-05');
    server.remove(march5);
    rmSync(join(cache.dir, ...march5.split('/')));
    await assert.rejects(download({ startDate: '2024-03-01', endDate: '2024-03-07', concurrency: 1 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NOT_FOUND');
      assert.match(err.message, new RegExp(`${server.baseUrl}data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03-05\\.zip does not exist`));
      assert.match(err.message, /symbol, interval, market and dates/);
      assert.match(err.message, /mirror/);
      return true;
    });
  });

  it('fails with the URL when an old month has neither a monthly nor daily archives', async () => {
    await assert.rejects(download({ startDate: '2019-05', endDate: '2019-05', concurrency: 2 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NOT_FOUND');
      assert.match(err.message, /BTCUSDT-1h-2019-05-\d\d\.zip does not exist \(HTTP 404\)/);
      return true;
    });
  });

  it('merges gaps, duplicates, conflicts, CRLF and header rows', async () => {
    const jan = await server.serveKlines('spot', 'monthly', 'ETHUSDT', '1h', '2024-01', {
      start: JAN,
      count: 744,
      intervalMs: HOUR,
      omit: [10, 11, 12],
      duplicate: [20, 21],
      conflict: [30],
      crlf: true,
      header: true,
      trailingNewline: false,
    });
    const got = await download({ symbol: 'ETHUSDT' });
    assertCandles(got, jan.rows);
    assert.deepEqual(got.gaps, [{ from: JAN + 9 * HOUR, to: JAN + 13 * HOUR, missing: 3 }]);
    assert.equal(got.duplicates, 2);
    assert.equal(got.conflicts, 1);
    assert.ok(logger.has('warn', /same open time/));
  });

  it('joins millisecond (2024) and microsecond (2025) spot archives into one ms series', async () => {
    const dec = Date.UTC(2024, 11, 1);
    const jan25 = Date.UTC(2025, 0, 1);
    const a = await server.serveKlines('spot', 'monthly', 'BTCUSDT', '1h', '2024-12', { start: dec, count: 744, intervalMs: HOUR });
    const b = await server.serveKlines('spot', 'monthly', 'BTCUSDT', '1h', '2025-01', { start: jan25, count: 744, intervalMs: HOUR, micro: true });
    const got = await download({ startDate: '2024-12', endDate: '2025-01', now: Date.UTC(2025, 2, 1) });
    assertCandles(got, [...a.rows, ...b.rows]);
    assert.deepEqual(got.gaps, []);
  });

  it('reads USD-M and COIN-M futures paths', async () => {
    const um = await server.serveKlines('um', 'daily', 'BTCUSDT', '1m', '2022-09-05', { start: Date.UTC(2022, 8, 5), count: 1440, intervalMs: MINUTE, header: true, decimals: 2 });
    const got = await download({ market: 'um', interval: '1m', startDate: '2022-09-05', endDate: '2022-09-05' });
    assertCandles(got, um.rows);
    assert.equal(got.market, 'um');
    const cm = await server.serveKlines('cm', 'daily', 'BTCUSD_PERP', '1m', '2022-10-24', { start: Date.UTC(2022, 9, 24), count: 1440, intervalMs: MINUTE, header: true, decimals: 1 });
    const got2 = await download({ market: 'cm', symbol: 'BTCUSD_PERP', interval: '1m', startDate: '2022-10-24', endDate: '2022-10-24' });
    assertCandles(got2, cm.rows);
    assert.ok(cacheListing(cache.dir).includes('data/futures/cm/daily/klines/BTCUSD_PERP/1m/BTCUSD_PERP-1m-2022-10-24.zip'));
  });

  it('uses monthly archives only for 1w / 3d / 1mo and keeps candles within the dates', async () => {
    const week = 7 * DAY;
    const firstMonday = Date.UTC(2024, 0, 1); // a Monday
    await server.serveKlines('spot', 'monthly', 'BTCUSDT', '1w', '2024-01', { start: firstMonday, count: 5, intervalMs: week });
    await server.serveKlines('spot', 'monthly', 'BTCUSDT', '1w', '2024-02', { start: firstMonday + 5 * week, count: 4, intervalMs: week });
    const got = await download({ interval: '1w', startDate: '2024-01-10', endDate: '2024-03-31' });
    assert.deepEqual(Array.from(got.openTime), [2, 3, 4, 5, 6, 7, 8].map((i) => firstMonday + i * week));
    assert.equal(server.requestCount((p) => p.includes('/daily/')), 0);
    assert.equal(server.requestCount((p) => p.includes('2024-03')), 0, 'the month in progress has no archive yet');

    const months = [Date.UTC(2023, 0, 1), Date.UTC(2023, 1, 1), Date.UTC(2023, 3, 1)];
    for (const m of months) {
      const csv = `${m},1,2,0.5,1.5,10,${m + 1},15,3,5,7.5,0\n`;
      const period = new Date(m).toISOString().slice(0, 7);
      server.putArchive(archivePath('spot', 'monthly', 'BTCUSDT', '1mo', period), await zipMembers([{ name: `BTCUSDT-1mo-${period}.csv`, data: csv }]));
    }
    // March 2023 is missing and old: an error, not a gap.
    await assert.rejects(download({ interval: '1mo', startDate: '2023-01', endDate: '2023-04' }), { code: 'ERR_OHLC_NOT_FOUND' });
    const got2 = await download({ interval: '1mo', startDate: '2023-01', endDate: '2023-02' });
    assert.deepEqual(Array.from(got2.openTime), months.slice(0, 2));
    assert.equal(got2.intervalMs, null);
  });

  it('sweeps temporary files a killed process left behind', async () => {
    await serve1h([JAN], []);
    const dir = join(cache.dir, 'data/spot/monthly/klines/BTCUSDT/1h');
    mkdirSync(dir, { recursive: true });
    const stale = join(dir, '.BTCUSDT-1h-2024-01.zip.4242-0123456789ab.partial');
    writeFileSync(stale, 'half an archive');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(stale, anHourAgo, anHourAgo);
    await download({});
    assert.ok(!existsSync(stale));
  });

  it('bounds the requests in flight by concurrency', async () => {
    await serve1h([], dayRange(MAR, 8));
    server.latencyMs = 40;
    await download({ startDate: '2024-03-01', endDate: '2024-03-08', concurrency: 2 });
    assert.equal(server.maxInFlight, 2);
  });
});

describe('downloadCryptoData: faults', () => {
  const JAN_PATH = archivePath('spot', 'monthly', 'BTCUSDT', '1h', '2024-01');

  for (const [name, fault] of [
    ['a 500 then success', { kind: 'status', status: 500 }],
    ['a 503 then success', { kind: 'status', status: 503 }],
    ['a dropped connection', { kind: 'drop' }],
    ['a truncated body', { kind: 'truncate' }],
    ['a stall past the timeout', { kind: 'stall' }],
  ] as const) {
    it(`retries ${name}`, async () => {
      const jan = await serve1h([JAN], []);
      server.fault(JAN_PATH, fault);
      const got = await download({ timeoutMs: 300 });
      assertCandles(got, jan.get(JAN)!);
      assert.equal(server.requestCount((p) => p === JAN_PATH), 2);
      assert.ok(logger.has('warn', /retrying/));
    });
  }

  it('gives up after the retries with an error naming the URL and what to do', async () => {
    await serve1h([JAN], []);
    server.fault(JAN_PATH, { kind: 'status', status: 502 }, 100);
    await assert.rejects(download({ retries: 2 }), (err: Error & { code?: string; url?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NETWORK');
      assert.equal(err.url, server.baseUrl + JAN_PATH);
      assert.match(err.message, /HTTP 502 \(3 attempts\)/);
      assert.match(err.message, /cacheDir|mirror/);
      return true;
    });
    assert.equal(server.requestCount(), 3);
    assert.deepEqual(cacheListing(cache.dir), []);
  });

  it('reports a refused connection with the URL and what to do', async () => {
    const closed = await BinanceServer.start();
    const url = closed.baseUrl;
    await closed.close();
    await assert.rejects(download({ baseUrl: url, retries: 1 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NETWORK');
      assert.match(err.message, new RegExp(`Could not download ${url}data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01\\.zip: .*ECONNREFUSED`));
      assert.match(err.message, /network connection.*cacheDir.*mirror/);
      return true;
    });
  });

  it('times out a server that keeps stalling, naming the URL', async () => {
    await serve1h([JAN], []);
    server.fault(JAN_PATH, { kind: 'stall' }, 100);
    const started = Date.now();
    await assert.rejects(download({ timeoutMs: 150, retries: 1 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NETWORK');
      assert.match(err.message, /BTCUSDT-1h-2024-01\.zip: no data for 150 ms \(2 attempts\)/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
  });

  // The silence timeout restarts on every byte: only the total deadline (timeoutMs plus the
  // archive's bytes at minBytesPerSecond) ends a link that sends a byte now and then.
  it('ends a download that drips bytes past its deadline, naming the deadline and the bytes received', { timeout: 10_000 }, async () => {
    await serve1h([JAN], []);
    server.fault(JAN_PATH, { kind: 'drip', intervalMs: 700 }, 100);
    const size = server.stored(JAN_PATH)!.length;
    const deadline = 1500 + Math.ceil((size * 1000) / (64 << 10));
    const started = Date.now();
    await assert.rejects(download({ timeoutMs: 1500, retries: 0 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NETWORK');
      assert.match(err.message, new RegExp(`BTCUSDT-1h-2024-01\\.zip: not complete within its ${deadline} ms deadline \\(timeoutMs 1500 \\+ ${size} bytes at 65536 bytes/s\\); [1-9] of ${size} bytes received \\(1 attempt\\)`));
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= deadline - 50 && took < deadline + 1500, `ended after ${took} ms, deadline ${deadline} ms`);
  });

  it('retries a download that dripped past its deadline, and a lower minBytesPerSecond lets a slow link finish', { timeout: 10_000 }, async () => {
    const jan = await serve1h([JAN], []);
    server.fault(JAN_PATH, { kind: 'drip', intervalMs: 100 }, 1);
    const got = await download({ timeoutMs: 300 });
    assertCandles(got, jan.get(JAN)!);
    assert.equal(server.requestCount((p) => p === JAN_PATH), 2);
    assert.ok(logger.entries.some((e) => e.level === 'warn' && /retrying/.test(e.message) && /deadline/.test(String(e.fields?.reason))));

    // A small file on a slow link: the ~90 bytes of a .CHECKSUM at 1 byte / 10 ms take ~0.9 s,
    // far past the default deadline (100 ms + 90 bytes at 64 KiB/s), well within 50 bytes/s.
    const path = `${JAN_PATH}.CHECKSUM`;
    cache.remove();
    cache = tempDir();
    server.resetCounts();
    server.fault(path, { kind: 'drip', intervalMs: 10 }, 1);
    const slow = await download({ timeoutMs: 100, retries: 0, minBytesPerSecond: 50 });
    assertCandles(slow, jan.get(JAN)!);
    assert.equal(server.requestCount((p) => p === path), 1);
  });

  // checkBaseUrl refuses such URLs; this is the layer below, for any URL that reaches a request.
  it('never logs or reports the user name and password of a URL', async () => {
    const url = server.baseUrl.replace('http://', 'http://user:s3cretpw@') + JAN_PATH;
    const http = { timeoutMs: 500, minBytesPerSecond: 65536, retries: 2, retryDelayMs: 1, logger, signal: new AbortController().signal, limiter: new Limiter(1) };
    await assert.rejects(fetchWithRetries(url, 1 << 20, http), (err: Error & { code?: string; url?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_NETWORK');
      assert.doesNotMatch(`${err.message} ${err.url} ${err.stack}`, /s3cretpw/);
      assert.match(err.message, /Could not download http:\/\/\*\*\*@127\.0\.0\.1:\d+\/data\/spot/);
      return true;
    });
    assert.ok(logger.entries.length > 0);
    assert.doesNotMatch(JSON.stringify(logger.entries), /s3cretpw/);
  });

  it('treats a missing .CHECKSUM as a failed verification', async () => {
    await serve1h([JAN], []);
    server.remove(`${JAN_PATH}.CHECKSUM`);
    await assert.rejects(download({}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_CHECKSUM');
      assert.match(err.message, /BTCUSDT-1h-2024-01\.zip\.CHECKSUM does not exist/);
      return true;
    });
    assert.equal(server.requestCount((p) => p === JAN_PATH), 2, 'retried once');
    const got = await download({ verify: false });
    assert.equal(got.sources[0].verified, false);
  });

  it("fails on a malformed row naming archive, line and field, or skips it with onMalformedRow: 'skip'", async () => {
    const csv = '1704067200000,1,2,0.5,1.5,10,1704070799999,15,3,5,7.5,0\n1704070800000,1,2,x,1.5,10,1704074399999,15,3,5,7.5,0\n1704074400000,1,2,0.5,1.5,10,1704077999999,15,3,5,7.5,0\n';
    server.putArchive(JAN_PATH, await zipMembers([{ name: 'BTCUSDT-1h-2024-01.csv', data: csv }]));
    await assert.rejects(download({}), (err: Error & { code?: string; file?: string; line?: number; field?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_MALFORMED_ROW');
      assert.deepEqual([err.file, err.line, err.field], ['BTCUSDT-1h-2024-01.zip', 2, 'low']);
      assert.match(err.message, /^BTCUSDT-1h-2024-01\.zip line 2: field 'low' is not a number: "x"/);
      return true;
    });
    const got = await download({ onMalformedRow: 'skip' });
    assert.equal(got.skippedRows, 1);
    assert.deepEqual(Array.from(got.openTime), [1704067200000, 1704074400000]);
    assert.deepEqual(got.gaps, [{ from: 1704067200000, to: 1704074400000, missing: 1 }]);
    assert.ok(logger.has('warn', /skipped malformed rows/));
  });

  it('downloads again once on a checksum mismatch', async () => {
    const jan = await serve1h([JAN], []);
    server.fault(`${JAN_PATH}.CHECKSUM`, { kind: 'body', body: `${'0'.repeat(64)}  BTCUSDT-1h-2024-01.zip` });
    const got = await download({});
    assertCandles(got, jan.get(JAN)!);
    assert.equal(server.requestCount((p) => p === JAN_PATH), 2);
    assert.ok(logger.has('warn', /checksum mismatch/));
  });

  it('fails on a second mismatch, naming the file and both hashes; nothing is cached', async () => {
    await serve1h([JAN], []);
    const bad = 'ab'.repeat(32);
    server.fault(`${JAN_PATH}.CHECKSUM`, { kind: 'body', body: `${bad}  BTCUSDT-1h-2024-01.zip\n` }, 100);
    const actual = sha256(readFileOf(JAN_PATH));
    await assert.rejects(download({}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_CHECKSUM');
      assert.match(err.message, /BTCUSDT-1h-2024-01\.zip/);
      assert.ok(err.message.includes(bad), 'names the expected hash');
      assert.ok(err.message.includes(actual), 'names the actual hash');
      assert.match(err.message, /verify: false/);
      return true;
    });
    assert.deepEqual(cacheListing(cache.dir).filter((f) => f.endsWith('.zip')), []);
  });

  it('accepts a mismatch with verify: false, logged, and does not cache it', async () => {
    const jan = await serve1h([JAN], []);
    server.fault(`${JAN_PATH}.CHECKSUM`, { kind: 'body', body: `${'cd'.repeat(32)}  BTCUSDT-1h-2024-01.zip` }, 100);
    const got = await download({ verify: false });
    assertCandles(got, jan.get(JAN)!);
    assert.equal(got.sources[0].verified, false);
    assert.ok(logger.has('warn', /verify: false/));
    assert.deepEqual(cacheListing(cache.dir).filter((f) => f.endsWith('.zip')), []);
  });

  it('refuses a corrupt ZIP whose checksum matches, and does not cache it', async () => {
    server.putArchive(JAN_PATH, Buffer.from('PK\x03\x04 this is not really a zip archive at all'));
    await assert.rejects(download({}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_ZIP');
      assert.match(err.message, /BTCUSDT-1h-2024-01\.zip is not a usable kline archive/);
      return true;
    });
    assert.deepEqual(cacheListing(cache.dir), []);
  });

  it('refuses a ZIP bomb before inflating it', async () => {
    const path = archivePath('spot', 'daily', 'BTCUSDT', '1d', '2024-03-01');
    server.putArchive(path, await zipMembers([{ name: 'BTCUSDT-1d-2024-03-01.csv', data: Buffer.alloc(8 << 20, 0x30) }]));
    await assert.rejects(download({ interval: '1d', startDate: '2024-03-01', endDate: '2024-03-01' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_ZIP_BOMB');
      assert.match(err.message, /declares 8388608 bytes/);
      return true;
    });
    assert.deepEqual(cacheListing(cache.dir), []);
  });

  it('deletes a corrupt cached archive and fetches it again', async () => {
    const jan = await serve1h([JAN], []);
    await download({});
    const cached = join(cache.dir, ...JAN_PATH.split('/'));
    writeFileSync(cached, Buffer.from('garbage'));
    server.resetCounts();
    const got = await download({});
    assertCandles(got, jan.get(JAN)!);
    assert.equal(server.requestCount(), 2);
    assert.ok(logger.has('warn', /does not match its checksum/));
    assert.deepEqual(readFileSync(cached), readFileOf(JAN_PATH));
  });

  it('aborts promptly mid-download, leaving no temporary file', async () => {
    await serve1h([JAN, FEB], []);
    server.fault(archivePath('spot', 'monthly', 'BTCUSDT', '1h', '2024-02'), { kind: 'stall' }, 100);
    const ac = new AbortController();
    const started = Date.now();
    const p = download({ startDate: '2024-01', endDate: '2024-02', signal: ac.signal, timeoutMs: 60_000 });
    while (server.requestCount((x) => x.endsWith('2024-02.zip')) === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await assert.rejects(p, (err: Error & { code?: string }) => {
      assert.equal(err.name, 'AbortError');
      assert.equal(err.code, 'ABORT_ERR');
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'aborted promptly');
    assert.ok(!existsSync(join(cache.dir, ...archivePath('spot', 'monthly', 'BTCUSDT', '1h', '2024-02').split('/'))));
  });

  it('rejects at once with an already aborted signal, making no request', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(download({ signal: ac.signal }), { name: 'AbortError' });
    assert.equal(server.requestCount(), 0);
  });
});

/** What the server stores at `path` (what a correct download writes to the cache). */
function readFileOf(path: string): Buffer {
  return server.stored(path)!;
}
