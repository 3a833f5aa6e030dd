// Kline parsing throughput and the cost of a cached re-run.
//   node --import tsx bench/parse.ts [months]
// 1. A month of 1m candles (44,640 rows, Binance's spot CSV format) parsed by the addon (sync and
//    on a worker thread), against what one would write in JS instead (split + Number()).
// 2. A multi-month range served by the local test server: a first download, then a re-run from
//    the cache (no request may be made), compared with the parse time of the same archives.
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveRef } from '../ts/data/binance.js';
import { parseKlinesCsv, parseKlinesCsvAsync } from '../ts/data/parse.js';
import { buildSyntheticArchive, syntheticKlinesCsv } from '../ts/data/sample.js';
import { readCsvMember } from '../ts/data/zip.js';
import { downloadCryptoData } from '../ts/index.js';
import { BinanceServer } from '../test/helpers/binance-server.js';

const MONTH_START = Date.UTC(2023, 0, 1);
const MONTH_END = Date.UTC(2023, 1, 1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, repeats: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function timeAsync(fn: () => Promise<unknown>, repeats: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** What a user would write without the addon: split lines and fields, Number() each kept field. */
function parseInJs(text: string): number {
  const lines = text.split('\n');
  const n = lines.length;
  const t = new Float64Array(n), o = new Float64Array(n), h = new Float64Array(n), l = new Float64Array(n), c = new Float64Array(n), v = new Float64Array(n);
  let rows = 0;
  for (const line of lines) {
    if (line === '') continue;
    const f = line.split(',');
    if (f.length !== 12) throw new Error('bad row');
    const time = Number(f[0]);
    t[rows] = time >= 1e15 ? time / 1000 : time;
    o[rows] = Number(f[1]);
    h[rows] = Number(f[2]);
    l[rows] = Number(f[3]);
    c[rows] = Number(f[4]);
    v[rows] = Number(f[5]);
    rows++;
  }
  return rows;
}

function rate(rows: number, ms: number): string {
  return `${((rows / ms) * 1000 / 1e6).toFixed(2)} M rows/s`;
}

async function parseBench(): Promise<void> {
  const { csv, rows } = syntheticKlinesCsv('spot', 'BTCUSDT', '1m', '2023-01', MONTH_START, MONTH_END);
  const bytes = Buffer.from(csv, 'latin1');
  console.log(`\n## Parse: one month of 1m candles (${rows} rows, ${(bytes.length / 1e6).toFixed(1)} MB CSV)`);
  const repeats = 30;
  for (let i = 0; i < 5; i++) parseKlinesCsv(bytes, { name: 'warmup' });
  const sync = median(time(() => parseKlinesCsv(bytes, { name: 'bench' }), repeats));
  const async = median(await timeAsync(() => parseKlinesCsvAsync(bytes, { name: 'bench' }), repeats));
  for (let i = 0; i < 3; i++) parseInJs(csv);
  const js = median(time(() => parseInJs(csv), 10));
  const zip = await buildSyntheticArchive('spot', 'BTCUSDT', '1m', archiveRef('spot', 'BTCUSDT', '1m', 'monthly', '2023-01'), MONTH_START, MONTH_END);
  const inflate = median(await timeAsync(() => readCsvMember('bench.zip', zip.zip, 64 << 20), 10));
  console.log(`| step | median ms | throughput |`);
  console.log(`| --- | ---: | ---: |`);
  console.log(`| addon parseKlines (sync) | ${sync.toFixed(2)} | ${rate(rows, sync)} |`);
  console.log(`| addon parseKlinesAsync (worker thread) | ${async.toFixed(2)} | ${rate(rows, async)} |`);
  console.log(`| JS split + Number() (the alternative) | ${js.toFixed(2)} | ${rate(rows, js)} |`);
  console.log(`| ZIP read (yauzl locate + zlib inflate + CRC) of the ${(zip.zip.length / 1e6).toFixed(1)} MB archive | ${inflate.toFixed(2)} | ${rate(rows, inflate)} |`);
}

async function cachedRerunBench(months: number): Promise<void> {
  const server = await BinanceServer.start();
  const cacheDir = mkdtempSync(join(tmpdir(), 'ohlc-bench-'));
  try {
    let parseMs = 0;
    let rows = 0;
    for (let m = 0; m < months; m++) {
      const start = Date.UTC(2023, m, 1);
      const end = Date.UTC(2023, m + 1, 1);
      const ref = archiveRef('spot', 'BTCUSDT', '1m', 'monthly', new Date(start).toISOString().slice(0, 7));
      const built = await buildSyntheticArchive('spot', 'BTCUSDT', '1m', ref, start, end);
      server.putArchive(ref.path, built.zip);
      const csv = (await readCsvMember(ref.name, built.zip, 64 << 20)).csv;
      const t0 = performance.now();
      rows += parseKlinesCsv(csv, { name: ref.name }).rows;
      parseMs += performance.now() - t0;
    }
    const endDate = new Date(Date.UTC(2023, months - 1, 1)).toISOString().slice(0, 7);
    const options = { symbol: 'BTCUSDT', interval: '1m' as const, startDate: '2023-01', endDate, baseUrl: server.baseUrl, cacheDir, now: Date.UTC(2024, 0, 15) };

    let t0 = performance.now();
    const first = await downloadCryptoData(options);
    const firstMs = performance.now() - t0;
    const firstRequests = server.requestCount();
    server.resetCounts();
    const reruns: number[] = [];
    for (let i = 0; i < 3; i++) {
      t0 = performance.now();
      const again = await downloadCryptoData(options);
      reruns.push(performance.now() - t0);
      if (again.length !== first.length) throw new Error('re-run returned other data');
    }
    if (server.requestCount() !== 0) throw new Error(`cached re-run made ${server.requestCount()} requests`);
    const rerun = median(reruns);
    console.log(`\n## Cached re-run: ${months} months of 1m candles (${rows} rows), local test server`);
    console.log(`| run | ms | requests |`);
    console.log(`| --- | ---: | ---: |`);
    console.log(`| first (download, verify, cache, parse, merge) | ${firstMs.toFixed(0)} | ${firstRequests} |`);
    console.log(`| cached re-run (median of 3: read, re-verify SHA-256, inflate, parse, merge) | ${rerun.toFixed(0)} | 0 |`);
    console.log(`| parse alone (sync, sum over archives) | ${parseMs.toFixed(0)} | - |`);
    console.log(`Cached re-run / parse time: ${(rerun / parseMs).toFixed(1)}x`);
  } finally {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

const months = Number(process.argv[2] ?? 12);
console.log(`# ohlc-native kline parsing: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
await parseBench();
await cachedRerunBench(months);
