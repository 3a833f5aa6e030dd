// source: 'sample': deterministic synthetic archives in Binance's exact format, in their own
// cache subtree, read back through the cache with no network.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { csvByteLimit } from '../ts/data/archive.js';
import { syntheticKlinesBlocks, syntheticKlinesCsv, zipStreamedMember } from '../ts/data/sample.js';
import { readCsvMember } from '../ts/data/zip.js';
import { downloadCryptoData, writeSampleArchives, type DataProgress } from '../ts/index.js';
import { assertCacheClean, cacheListing } from './helpers/cache-check.js';
import { RecordingLogger, tempDir } from './helpers/data-env.js';
import { sha256 } from './helpers/klines-fixtures.js';

const NOW = Date.UTC(2025, 1, 10, 8); // 2025-02-10
const UNREACHABLE = 'http://127.0.0.1:9/';
let cache: { dir: string; remove: () => void };

beforeEach(() => {
  cache = tempDir();
});
afterEach(() => {
  assertCacheClean(cache.dir);
  cache.remove();
});

async function csvOf(relPath: string): Promise<string> {
  const data = readFileSync(join(cache.dir, ...relPath.split('/')));
  return (await readCsvMember('x.zip', data, csvByteLimit('1s', { granularity: 'monthly' }))).csv.toString('latin1');
}

describe("downloadCryptoData({ source: 'sample' })", () => {
  it('generates, caches and reads synthetic archives with no network', async () => {
    const logger = new RecordingLogger();
    const progress: DataProgress[] = [];
    const got = await downloadCryptoData({
      symbol: 'BTCUSDT',
      interval: '1m',
      startDate: '2024-12-30',
      endDate: '2025-01-31',
      source: 'sample',
      baseUrl: UNREACHABLE, // never used
      cacheDir: cache.dir,
      now: NOW,
      logger,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(got.length, 33 * 1440);
    assert.equal(got.openTime[0], Date.UTC(2024, 11, 30));
    assert.equal(got.openTime[got.length - 1], Date.UTC(2025, 0, 31, 23, 59));
    assert.deepEqual(got.gaps, []);
    assert.ok(got.sources.every((s) => s.synthetic && s.cached && s.verified && s.url.startsWith('file://')));
    assert.deepEqual(got.sources.map((s) => s.name), ['BTCUSDT-1m-2024-12-30.zip', 'BTCUSDT-1m-2024-12-31.zip', 'BTCUSDT-1m-2025-01.zip']);
    for (let i = 0; i < got.length; i++) {
      assert.ok(got.low[i] > 0 && got.low[i] <= Math.min(got.open[i], got.close[i]) && got.high[i] >= Math.max(got.open[i], got.close[i]), `candle ${i}`);
    }
    // Only under <cacheDir>/synthetic, so a real run can never pick them up.
    const files = cacheListing(cache.dir);
    assert.ok(files.length === 6 && files.every((f) => f.startsWith('synthetic/data/spot/')), files.join('\n'));
    assert.equal(progress.filter((p) => p.phase === 'parse').length, 3);
  });

  it('writes the exact Binance format: ms before 2025, µs after, .CHECKSUM without newline', async () => {
    await downloadCryptoData({ symbol: 'ETHUSDT', interval: '1h', startDate: '2024-12-31', endDate: '2025-01-01', source: 'sample', cacheDir: cache.dir, now: NOW });
    const before = await csvOf('synthetic/data/spot/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2024-12-31.zip');
    const after = await csvOf('synthetic/data/spot/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2025-01-01.zip');
    const row = /^(\d+),(\d+\.\d{8}),(\d+\.\d{8}),(\d+\.\d{8}),(\d+\.\d{8}),(\d+\.\d{8}),(\d+),(\d+\.\d{8}),(\d+),(\d+\.\d{8}),(\d+\.\d{8}),0$/;
    const b = before.split('\n');
    assert.equal(b.length, 25);
    assert.equal(b[24], '', 'ends with a newline');
    const m = row.exec(b[0]);
    assert.ok(m, b[0]);
    assert.equal(m[1], String(Date.UTC(2024, 11, 31)));
    assert.equal(m[7], String(Date.UTC(2024, 11, 31) + 3_599_999));
    const a = row.exec(after.split('\n')[0]);
    assert.ok(a);
    assert.equal(a[1], `${Date.UTC(2025, 0, 1)}000`);
    assert.equal(a[7], String((Date.UTC(2025, 0, 1) + 3_600_000) * 1000 - 1));
    const sumPath = join(cache.dir, 'synthetic/data/spot/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2025-01-01.zip.CHECKSUM');
    const sum = readFileSync(sumPath, 'utf8');
    assert.match(sum, /^[0-9a-f]{64} {2}ETHUSDT-1h-2025-01-01\.zip$/);
    assert.equal(sum.slice(0, 64), sha256(readFileSync(sumPath.replace(/\.CHECKSUM$/, ''))));
  });

  it('gives futures archives a header row', async () => {
    await writeSampleArchives({ symbol: 'BTCUSD_PERP', market: 'cm', interval: '1d', startDate: '2024-01', endDate: '2024-01', cacheDir: cache.dir, now: NOW });
    const csv = await csvOf('synthetic/data/futures/cm/monthly/klines/BTCUSD_PERP/1d/BTCUSD_PERP-1d-2024-01.zip');
    const lines = csv.trimEnd().split('\n');
    assert.match(lines[0], /^open_time,open,high/);
    assert.equal(lines.length, 32);
  });

  it('is deterministic: same inputs, same bytes (whatever the time zone); rewrites nothing', async () => {
    const opts = { symbol: 'SOLUSDT', interval: '5m' as const, startDate: '2024-10-30', endDate: '2024-11', cacheDir: cache.dir, now: NOW };
    const tz = process.env.TZ;
    try {
      process.env.TZ = 'UTC';
      const first = await writeSampleArchives(opts);
      assert.ok(first.archives.every((a) => a.written));
      assert.deepEqual(first.archives.map((a) => a.rows), [288, 288, 30 * 288]);
      const other = tempDir();
      try {
        process.env.TZ = 'America/New_York';
        const second = await writeSampleArchives({ ...opts, cacheDir: other.dir });
        assert.deepEqual(second.archives.map((a) => a.sha256), first.archives.map((a) => a.sha256));
      } finally {
        other.remove();
      }
      const again = await writeSampleArchives(opts);
      assert.ok(again.archives.every((a) => !a.written));
      assert.equal(again.root, join(cache.dir, 'synthetic'));
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('differs by symbol, interval and period, and joins periods smoothly', async () => {
    const a = await downloadCryptoData({ symbol: 'BTCUSDT', interval: '1h', startDate: '2024-01', endDate: '2024-03', source: 'sample', cacheDir: cache.dir, now: NOW });
    const b = await downloadCryptoData({ symbol: 'ETHUSDT', interval: '1h', startDate: '2024-01', endDate: '2024-03', source: 'sample', cacheDir: cache.dir, now: NOW });
    assert.notDeepEqual(Array.from(a.close.subarray(0, 10)), Array.from(b.close.subarray(0, 10)));
    assert.equal(new Set(a.sources.map((s) => s.sha256)).size, 3);
    // Month boundaries: the next open stays near the last close (a random walk reverting to one curve).
    for (let i = 1; i < a.length; i++) assert.ok(Math.abs(Math.log(a.open[i] / a.close[i - 1])) < 0.2, `jump at ${new Date(a.openTime[i]).toISOString()}`);
  });
});

describe('large synthetic archives (months of 1s candles) are generated as streams', () => {
  it('the blocks are the CSV text, and the streamed ZIP holds exactly it (deterministic bytes)', async () => {
    for (const [market, symbol] of [['spot', 'BTCUSDT'], ['um', 'ETHUSDT']] as const) {
      const start = Date.UTC(2024, 2, 1);
      const end = start + 86_400_000;
      const blocks = [...syntheticKlinesBlocks(market, symbol, '1s', '2024-03-01', start, end)];
      assert.ok(blocks.length > 2, `${blocks.length} blocks`);
      const { csv, rows } = syntheticKlinesCsv(market, symbol, '1s', '2024-03-01', start, end);
      assert.equal(rows, 86_400);
      assert.equal(blocks.join(''), csv);
      const zipOf = async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of zipStreamedMember('x.csv', blocks, end)) chunks.push(chunk);
        return Buffer.concat(chunks);
      };
      const zip = await zipOf();
      const member = await readCsvMember('x.zip', zip, csvByteLimit('1s', { granularity: 'daily' }));
      assert.equal(member.name, 'x.csv');
      assert.equal(member.csv.toString('latin1'), csv);
      assert.ok((await zipOf()).equals(zip));
    }
  });
});
