// Kline parsing throughput and the cost of a cached re-run.
//   node --import tsx bench/parse.ts [months]
// 1. A month of 1m candles (44,640 rows, Binance's spot CSV format) parsed by the addon (sync and
//    on a worker thread), against what one would write in JS instead (split + Number()); and what
//    reading the archive costs: the ZIP member inflated by Node's zlib (the previous path) or by
//    the addon (libdeflate), alone or inflated and parsed in one worker call, and its SHA-256.
// 2. A multi-month range served by the local test server: a first download, then re-runs from
//    the cache (no request may be made), against the previous cached path (Node zlib inflate, then
//    a second worker call to parse) re-created here on the same cache, and against the parse time
//    of the same archives.
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32, inflateRaw as inflateRawCallback } from 'node:zlib';
import { csvByteLimit } from '../ts/data/archive.js';
import { archiveRef, type ArchiveRef } from '../ts/data/binance.js';
import { ArchiveCache } from '../ts/data/cache.js';
import { Limiter } from '../ts/data/limit.js';
import { computeGaps, mergeKlines } from '../ts/data/merge.js';
import { parseKlinesCsv, parseKlinesCsvAsync, parseKlinesMemberAsync } from '../ts/data/parse.js';
import { buildSyntheticArchive, syntheticKlinesCsv } from '../ts/data/sample.js';
import { locateCsvMember, readCsvMember } from '../ts/data/zip.js';
import { downloadCryptoData } from '../ts/index.js';
import { BinanceServer } from '../test/helpers/binance-server.js';

const inflateRaw = promisify(inflateRawCallback);
const silent = { info: () => undefined, warn: () => undefined, debug: () => undefined };
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
  const t = new Float64Array(n), o = new Float64Array(n), h = new Float64Array(n), l = new Float64Array(n), c = new Float64Array(n), v = new Float64Array(n), q = new Float64Array(n);
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
    q[rows] = Number(f[7]);
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
  const member = await locateCsvMember('bench.zip', zip.zip, 64 << 20);
  const zlibRead = median(await timeAsync(() => readCsvMemberWithZlib('bench.zip', zip.zip, 64 << 20), 10));
  const nativeRead = median(await timeAsync(() => readCsvMember('bench.zip', zip.zip, 64 << 20), 10));
  const fused = median(await timeAsync(() => parseKlinesMemberAsync(zip.zip, member, { name: 'bench.zip' }), 10));
  const sha = median(time(() => createHash('sha256').update(zip.zip).digest('hex'), 10));
  const mb = (zip.zip.length / 1e6).toFixed(1);
  console.log(`| step | median ms | throughput |`);
  console.log(`| --- | ---: | ---: |`);
  console.log(`| addon parseKlines (sync) | ${sync.toFixed(2)} | ${rate(rows, sync)} |`);
  console.log(`| addon parseKlinesAsync (worker thread) | ${async.toFixed(2)} | ${rate(rows, async)} |`);
  console.log(`| JS split + Number() (the alternative) | ${js.toFixed(2)} | ${rate(rows, js)} |`);
  console.log(`| ZIP read, previous: yauzl locate + Node zlib inflate + CRC, ${mb} MB archive | ${zlibRead.toFixed(2)} | ${rate(rows, zlibRead)} |`);
  console.log(`| ZIP read: yauzl locate + addon inflate (libdeflate) + CRC | ${nativeRead.toFixed(2)} | ${rate(rows, nativeRead)} |`);
  console.log(`| addon inflate + CRC + parse in one worker call (parseKlinesMemberAsync) | ${fused.toFixed(2)} | ${rate(rows, fused)} |`);
  console.log(`| SHA-256 of the archive (node:crypto, main thread) | ${sha.toFixed(2)} | ${(zip.zip.length / sha / 1e3).toFixed(0)} MB/s |`);
}

/** The previous ZIP read (ts/data/zip.ts before the addon inflated): one capped zlib call, then CRC-32 in JS. */
async function readCsvMemberWithZlib(archive: string, data: Buffer, maxBytes: number): Promise<Buffer> {
  const member = await locateCsvMember(archive, data, maxBytes);
  const raw = data.subarray(member.offset, member.offset + member.compressedSize);
  const csv = await inflateRaw(raw, { maxOutputLength: Math.max(1, maxBytes) });
  if (csv.length !== member.uncompressedSize || crc32(csv) >>> 0 !== member.crc32) throw new Error(`${archive}: size or CRC mismatch`);
  return csv;
}

/**
 * The previous cached re-run, re-created on the same cache: each archive read and re-verified
 * (ArchiveCache.read, as now), inflated by Node's zlib, then parsed in a second worker call, four
 * at a time; then merged. Planning, logging and progress are left out (they cost next to nothing).
 */
async function previousCachedRun(cacheDir: string, refs: ArchiveRef[], start: number, end: number): Promise<number> {
  const cache = new ArchiveCache(cacheDir, silent);
  const slots = new Limiter(4);
  const parts = await Promise.all(
    refs.map((ref) =>
      slots.run(async () => {
        const cached = await cache.read(ref);
        if (!cached?.data) throw new Error(`${ref.name} is not cached (or too large to read whole)`);
        const csv = await readCsvMemberWithZlib(ref.name, cached.data, csvByteLimit('1m', ref));
        return parseKlinesCsvAsync(csv, { name: ref.name });
      }),
    ),
  );
  const merged = mergeKlines(parts, start, end);
  computeGaps(merged.openTime, 60_000);
  return merged.openTime.length;
}

async function cachedRerunBench(months: number): Promise<void> {
  const server = await BinanceServer.start();
  const cacheDir = mkdtempSync(join(tmpdir(), 'ohlc-bench-'));
  try {
    let parseMs = 0;
    let rows = 0;
    const refs: ArchiveRef[] = [];
    for (let m = 0; m < months; m++) {
      const start = Date.UTC(2023, m, 1);
      const end = Date.UTC(2023, m + 1, 1);
      const ref = archiveRef('spot', 'BTCUSDT', '1m', 'monthly', new Date(start).toISOString().slice(0, 7));
      refs.push(ref);
      const built = await buildSyntheticArchive('spot', 'BTCUSDT', '1m', ref, start, end);
      server.putArchive(ref.path, built.zip);
      const csv = (await readCsvMember(ref.name, built.zip, 64 << 20)).csv;
      for (let i = 0; i < 2; i++) parseKlinesCsv(csv, { name: ref.name }); // warm, as the re-runs are
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
    // Now and the previous path alternate, each going first every other round, so both see the
    // same machine load and neither always inherits the other's garbage.
    const repeats = 10;
    const reruns: number[] = [];
    const previous: number[] = [];
    const runNow = async (keep: boolean) => {
      const t = performance.now();
      const again = await downloadCryptoData(options);
      if (keep) reruns.push(performance.now() - t);
      if (again.length !== first.length) throw new Error('re-run returned other data');
    };
    const runPrevious = async (keep: boolean) => {
      const t = performance.now();
      const n = await previousCachedRun(cacheDir, refs, Date.UTC(2023, 0, 1), Date.UTC(2023, months, 1));
      if (keep) previous.push(performance.now() - t);
      if (n !== first.length) throw new Error('the previous path returned other data');
    };
    for (let i = 0; i <= repeats; i++) {
      const keep = i > 0; // round 0 warms both up
      if (i % 2 === 0) {
        await runNow(keep);
        await runPrevious(keep);
      } else {
        await runPrevious(keep);
        await runNow(keep);
      }
    }
    if (server.requestCount() !== 0) throw new Error(`cached re-run made ${server.requestCount()} requests`);
    const rerun = median(reruns);
    const prev = median(previous);
    const min = (xs: number[]) => Math.min(...xs);
    console.log(`\n## Cached re-run: ${months} months of 1m candles (${rows} rows), local test server`);
    console.log(`| run | median ms | min ms | requests |`);
    console.log(`| --- | ---: | ---: | ---: |`);
    console.log(`| first (download, verify, cache, parse, merge) | ${firstMs.toFixed(0)} | - | ${firstRequests} |`);
    console.log(`| cached re-run, previous path (read, SHA-256, Node zlib inflate, then parse; re-created) | ${prev.toFixed(0)} | ${min(previous).toFixed(0)} | 0 |`);
    console.log(`| cached re-run (read, SHA-256, addon inflate + CRC + parse in one call, merge) | ${rerun.toFixed(0)} | ${min(reruns).toFixed(0)} | 0 |`);
    console.log(`| parse alone (sync, one thread, sum over archives) | ${parseMs.toFixed(0)} | - | - |`);
    console.log(`Cached re-run / parse time: ${(rerun / parseMs).toFixed(1)}x (previous path ${(prev / parseMs).toFixed(1)}x); medians of ${repeats}.`);
  } finally {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

const months = Number(process.argv[2] ?? 12);
console.log(`# ohlc-native kline parsing: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
await parseBench();
await cachedRerunBench(months);
