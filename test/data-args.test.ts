// Every bad argument of downloadCryptoData / writeSampleArchives: a TypeError (wrong kind) or
// RangeError (wrong value) naming the parameter, before any file or network access. Hostile
// symbols and intervals never reach a URL or a path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { downloadCryptoData, writeSampleArchives, type DownloadOptions } from '../ts/index.js';
import { BinanceServer } from './helpers/binance-server.js';
import { cacheListing } from './helpers/cache-check.js';
import { RecordingLogger, tempDir } from './helpers/data-env.js';
import type { ArgumentError } from '../ts/errors.js';

let server: BinanceServer;
let cache: { dir: string; remove: () => void };

before(async () => {
  server = await BinanceServer.start();
  cache = tempDir();
});
after(async () => {
  await server.close();
  assert.equal(server.requestCount(), 0, `requests were made: ${server.requests.join(', ')}`);
  assert.deepEqual(cacheListing(cache.dir), [], 'files were written');
  cache.remove();
});

function valid(): DownloadOptions {
  return { symbol: 'BTCUSDT', interval: '1m', startDate: '2024-01', endDate: '2024-02', cacheDir: cache.dir, baseUrl: server.baseUrl, now: Date.UTC(2024, 5, 1) };
}

type Kind = typeof TypeError | typeof RangeError;

async function rejectsWith(options: unknown, Kind: Kind, name: string): Promise<void> {
  await assert.rejects(downloadCryptoData(options as DownloadOptions), (err: Error) => {
    assert.ok(err instanceof Kind, `${JSON.stringify(options, replacer)}: expected ${Kind.name}, got ${err.constructor.name}: ${err.message}`);
    assert.ok(err.message.includes(` for ${name} but received`), `message should name ${name}: ${err.message}`);
    return true;
  });
}

function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'function' ? 'fn' : v;
}

const cases: Array<[string, Record<string, unknown>, Kind, string]> = [
  ['symbol missing', { symbol: undefined }, TypeError, 'symbol'],
  ['symbol a number', { symbol: 42 }, TypeError, 'symbol'],
  ['interval missing', { interval: undefined }, TypeError, 'interval'],
  ['interval a number', { interval: 1 }, TypeError, 'interval'],
  ['startDate missing', { startDate: undefined }, TypeError, 'startDate'],
  ['startDate a Date', { startDate: new Date() }, TypeError, 'startDate'],
  ['startDate a number', { startDate: 20240101 }, TypeError, 'startDate'],
  ['endDate missing', { endDate: undefined }, TypeError, 'endDate'],
  ['cacheDir a number', { cacheDir: 5 }, TypeError, 'cacheDir'],
  ['cacheDir empty', { cacheDir: '' }, RangeError, 'cacheDir'],
  ['market unknown', { market: 'futures' }, RangeError, 'market'],
  ['market a number', { market: 1 }, TypeError, 'market'],
  ['baseUrl a number', { baseUrl: 5 }, TypeError, 'baseUrl'],
  ['source unknown', { source: 'real' }, RangeError, 'source'],
  ['signal not a signal', { signal: {} }, TypeError, 'signal'],
  ['onProgress not a function', { onProgress: 'x' }, TypeError, 'onProgress'],
  ['verify not a boolean', { verify: 'yes' }, TypeError, 'verify'],
  ['concurrency 0', { concurrency: 0 }, RangeError, 'concurrency'],
  ['concurrency 33', { concurrency: 33 }, RangeError, 'concurrency'],
  ['concurrency 1.5', { concurrency: 1.5 }, RangeError, 'concurrency'],
  ['concurrency a string', { concurrency: '4' }, TypeError, 'concurrency'],
  ['timeoutMs 0', { timeoutMs: 0 }, RangeError, 'timeoutMs'],
  ['timeoutMs NaN', { timeoutMs: NaN }, RangeError, 'timeoutMs'],
  ['minBytesPerSecond 0', { minBytesPerSecond: 0 }, RangeError, 'minBytesPerSecond'],
  ['minBytesPerSecond 0.5', { minBytesPerSecond: 0.5 }, RangeError, 'minBytesPerSecond'],
  ['minBytesPerSecond a string', { minBytesPerSecond: '64k' }, TypeError, 'minBytesPerSecond'],
  ['retries -1', { retries: -1 }, RangeError, 'retries'],
  ['retries 11', { retries: 11 }, RangeError, 'retries'],
  ['retryDelayMs -1', { retryDelayMs: -1 }, RangeError, 'retryDelayMs'],
  ['onMalformedRow unknown', { onMalformedRow: 'ignore' }, RangeError, 'onMalformedRow'],
  ['logger a string', { logger: 'console' }, TypeError, 'logger'],
  ['logger without warn', { logger: { info() {}, debug() {} } }, TypeError, 'logger.warn'],
  ['now a string', { now: 'today' }, TypeError, 'now'],
  ['now NaN', { now: NaN }, RangeError, 'now'],
  ['now an invalid Date', { now: new Date('x') }, RangeError, 'now'],
  ['an unknown option', { simbol: 'BTCUSDT' }, TypeError, 'options.simbol'],
];

describe('downloadCryptoData: argument checks', () => {
  it('rejects a non-object', async () => {
    for (const v of [undefined, null, 'BTCUSDT', [], 5]) await rejectsWith(v, TypeError, 'options');
  });

  for (const [what, patch, Kind, name] of cases) {
    it(`rejects ${what} (${Kind.name} naming ${name})`, async () => {
      await rejectsWith({ ...valid(), ...patch }, Kind, name);
    });
  }

  it('rejects malformed and impossible dates', async () => {
    for (const d of ['2024', '2024-13', '2024-00', '2024-02-30', '2023-02-29', '24-01', '2024-1', '2024-01-01T00:00', '2024/01', '1999-12', ' 2024-01', '']) {
      await rejectsWith({ ...valid(), startDate: d }, RangeError, 'startDate');
      await rejectsWith({ ...valid(), endDate: d }, RangeError, 'endDate');
    }
  });

  it('rejects an end before the start', async () => {
    await rejectsWith({ ...valid(), startDate: '2024-02', endDate: '2024-01' }, RangeError, 'endDate');
    await rejectsWith({ ...valid(), startDate: '2024-01-15', endDate: '2024-01-14' }, RangeError, 'endDate');
    await rejectsWith({ ...valid(), startDate: '2024-02-01', endDate: '2024-01' }, RangeError, 'endDate');
  });

  it('refuses hostile or malformed symbols before any URL or path is made', async () => {
    const hostile = ['../../etc/passwd', '..', 'BTC/USDT', 'BTC\\USDT', 'BTC%2FUSDT', 'BTC USDT', 'BTCUSDT\0', 'BTC.USDT', 'btcusdt', 'BtcUsdt', 'ＢＴＣＵＳＤＴ', 'A'.repeat(60), 'B', '_PERP', 'BTC__PERP', 'BTCUSD_', 'BTCUSDT?x=1', 'BTCUSDT#', '', 'BTCUSDT\n'];
    for (const symbol of hostile) await rejectsWith({ ...valid(), symbol }, RangeError, 'symbol');
    // Suffixes belong to futures; COIN-M needs one.
    await rejectsWith({ ...valid(), symbol: 'BTCUSD_PERP' }, RangeError, 'symbol');
    await rejectsWith({ ...valid(), market: 'cm', symbol: 'BTCUSD' }, RangeError, 'symbol');
  });

  it('refuses intervals outside Binance list', async () => {
    for (const interval of ['2m', '1M', '1mon', '1y', '60m', '../1m', '1m/..', ' 1m', '1m ', '', '1H', '1d/../../x']) {
      await rejectsWith({ ...valid(), interval }, RangeError, 'interval');
    }
  });

  it('refuses base URLs that are not plain http(s)', async () => {
    for (const baseUrl of ['file:///etc/', 'ftp://example.com/', 'javascript:alert(1)', 'data:text/plain,x', 'not a url', '//example.com/', 'http://example.com/?q=1', 'https://example.com/#x', '']) {
      await rejectsWith({ ...valid(), baseUrl }, RangeError, 'baseUrl');
    }
  });

  // fetch cannot build a request from such a URL anyway; echoing it would put the password in logs.
  it('refuses credentials in a base URL, saying why, without repeating them anywhere', async () => {
    const logger = new RecordingLogger();
    const host = new URL(server.baseUrl).host;
    const urls = [`http://user:s3cretpw@${host}/`, `http://user:s3cretpw@x@${host}/`, 'https://s3cretpw@data.binance.vision/', `http://user:s3cretpw@${host}/?q=1`, 'http://user:s3cretpw@bad host/'];
    for (const baseUrl of urls) {
      await assert.rejects(downloadCryptoData({ ...valid(), baseUrl, logger }), (err: ArgumentError) => {
        assert.ok(err instanceof RangeError, err.message);
        assert.equal(err.param, 'baseUrl');
        assert.doesNotMatch(`${err.message} ${err.received} ${err.expected} ${err.stack}`, /s3cretpw/);
        assert.match(err.received, /^"https?:\/\/\*\*\*@/);
        return true;
      });
    }
    await assert.rejects(downloadCryptoData({ ...valid(), baseUrl: urls[0] }), /without a user name or password \(credentials in a URL end up in logs and error messages; use a mirror that needs none\)/);
    assert.deepEqual(logger.entries, []);
  });

  it('applies the same checks to writeSampleArchives, which takes no network options', async () => {
    const base = { symbol: 'BTCUSDT', interval: '1m' as const, startDate: '2024-01', endDate: '2024-01', cacheDir: cache.dir };
    await assert.rejects(writeSampleArchives({ ...base, symbol: '../x' }), RangeError);
    await assert.rejects(writeSampleArchives({ ...base, interval: '7m' as never }), RangeError);
    await assert.rejects(writeSampleArchives({ ...base, baseUrl: 'https://x/' } as never), (err: Error) => err instanceof TypeError && /options\.baseUrl/.test(err.message));
  });
});
