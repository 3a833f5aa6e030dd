// Zarr format 3 (sharding_indexed, 1,024 images per shard file) beside format 2 (a file per
// image), in one run: write images/s, files and bytes of the store, and read images/s through
// the package's loader (zarrita under it) sequentially and at random.
//   node --import tsx bench/zarr.ts [--quick] [--count N]
// seqLen 100, height 500 (the sample config's shape), uint8, 'fast' deflate, candle windows drawn
// by the writer in appends of 1,024, labels for horizons [1, 5, 15]. The two formats alternate,
// twice each, in this one process; each store is written to a temp dir removed afterwards. Reads
// come after the write, so from the page cache (both formats alike; a cold disk would differ).
// Sequential: loadImagesFromStorage over consecutive ranges of 512 images; random: 2,000 single
// images (sorted, unique indices per call of 64, so each call reads 64 scattered images).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatasetWriter, loadImagesFromStorage } from '../ts/index.js';
import { candleSeries, flagValue, fmtMB, fmtRate, hasFlag, HEIGHT, HORIZONS, LoadMeter, loadLine, machineLine, SEQ_LEN, waitForQuiet } from './common.js';

const QUICK = hasFlag('--quick');
const COUNT = Number(flagValue('--count') ?? (QUICK ? 3_000 : 20_000));
const RANDOM_READS = QUICK ? 500 : 2_000;

function storeFiles(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const p of readdirSync(root, { recursive: true }) as string[]) {
    const s = statSync(join(root, p));
    if (s.isFile()) {
      files++;
      bytes += s.size;
    }
  }
  return { files, bytes };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

interface Row {
  label: string;
  write: number;
  sequential: number;
  random: number;
  files: number;
  bytes: number;
  foreign: number;
}

async function runCase(dir: string, zarrFormat: 2 | 3, candles: ReturnType<typeof candleSeries>): Promise<Row> {
  const path = join(dir, `bench-v${zarrFormat}.zarr`);
  rmSync(path, { recursive: true, force: true });
  const meter = new LoadMeter();
  const t0 = performance.now();
  const w = await createDatasetWriter(path, { format: 'zarr', zarrFormat, seqLen: SEQ_LEN, height: HEIGHT, horizons: HORIZONS });
  const k = HORIZONS.length;
  for (let a = 0; a < COUNT; a += 1024) {
    const b = Math.min(COUNT, a + 1024);
    const starts = Float64Array.from({ length: b - a }, (_, i) => a + i);
    const timestamps = Float64Array.from(starts, (s) => candles.times[s + SEQ_LEN - 1]);
    // Labels are not what is measured here: any valid values will do.
    await w.append({ candles, starts, timestamps, labels: new Int8Array((b - a) * k), returns: new Float64Array((b - a) * k) });
  }
  await w.close();
  const write = COUNT / ((performance.now() - t0) / 1000);
  const { files, bytes } = storeFiles(path);

  const t1 = performance.now();
  for (let a = 0; a < COUNT; a += 512) await loadImagesFromStorage(path, { indices: { start: a, end: Math.min(COUNT, a + 512) } });
  const sequential = COUNT / ((performance.now() - t1) / 1000);

  const rand = rng(7);
  const t2 = performance.now();
  let read = 0;
  while (read < RANDOM_READS) {
    const picks = [...new Set(Array.from({ length: 64 }, () => Math.floor(rand() * COUNT)))].sort((x, y) => x - y);
    await loadImagesFromStorage(path, { indices: picks });
    read += picks.length;
  }
  const random = read / ((performance.now() - t2) / 1000);
  rmSync(path, { recursive: true, force: true });
  return { label: zarrFormat === 3 ? 'format 3, sharded (1,024 a shard)' : 'format 2 (a file per image)', write, sequential, random, files, bytes, foreign: meter.foreignCores() };
}

async function main(): Promise<void> {
  await waitForQuiet();
  const candles = candleSeries(COUNT + SEQ_LEN - 1);
  const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-zarr-'));
  const rows: Row[] = [];
  try {
    for (const format of [2, 3, 2, 3] as const) rows.push(await runCase(dir, format, candles));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`## Zarr format 3 (sharded) beside format 2: ${COUNT.toLocaleString('en-US')} images of ${HEIGHT}x${4 * SEQ_LEN}, uint8, 'fast'`);
  console.log(`${machineLine()}; ${loadLine()}\n`);
  console.log('| store | write images/s | sequential read images/s | random read images/s | files | MB | other load (cores) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.label} | ${fmtRate(r.write)} | ${fmtRate(r.sequential)} | ${fmtRate(r.random)} | ${r.files.toLocaleString('en-US')} | ${fmtMB(r.bytes)} | ${r.foreign.toFixed(2)} |`);
}

await main();
