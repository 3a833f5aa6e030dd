// Candles to a closed dataset: end-to-end images/s, peak RSS, file size.
//   node --import tsx bench/storage.ts [--quick]
// seqLen 100, height 500, labels for horizons [1, 5, 15] (the sample config's shape). Every case
// runs in a fresh child process (so peak RSS is per case: VmHWM at the end, the whole process
// included) that writes into a temp dir removed afterwards. The parent generates one continuous
// synthetic candle series and hands the child the first count + 99 candles as a file (so the
// generator's garbage is not in the child's peak); the child plans every window (stride 1) and
// labels them as `ohlc-native build` does, then feeds the writer BATCH windows per append:
//   - candle windows: the writer draws natively (what the CPU pipeline does);
//   - images: `rasterize` (sync, all threads) in JS into one reused buffer of 64 MiB of pixels
//     (the pipeline's GPU batch rule), appended as images with the candle windows for sequences.
// The time runs from createDatasetWriter to close() resolving (file closed and renamed; no fsync).
// Each HDF5 file is then opened with Debian's h5py (no ohlc code) to check that it is plain deflate
// and that one image matches rasterize pixel for pixel.
// A case during which other processes used the CPU is run again (see common.ts).
// One case alone: --only '{"dtype":"float32","compression":6,"count":4096,"batch":64}' (JSON of a
// StorageCase; format hdf5, uint8, 'fast', candle windows and 10,000 images unless given).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatasetWriter, rasterize, type Compression, type PixelDtype, type StorageFormat } from '../ts/index.js';
import { breakPrefix, labelWindows, planWindows } from '../ts/pipeline/windows.js';
import {
  candleSeries,
  cpuMs,
  currentRssBytes,
  flagValue,
  fmtMB,
  fmtRate,
  FOREIGN_LIMIT,
  hasFlag,
  HEIGHT,
  HORIZONS,
  LoadMeter,
  loadLine,
  machineLine,
  peakRssBytes,
  PIXELS,
  readCandlesFile,
  runNodeChild,
  SEQ_LEN,
  waitForQuiet,
  writeCandlesFile,
  type CandleSeries,
} from './common.js';

/** Windows per append (the pipeline's image.batch_size default). */
export const BATCH = 1024;
/** Raw pixel bytes per append on the images path (the pipeline's GPU_BATCH_BYTES). */
const IMAGES_BATCH_BYTES = 64 << 20;
const SELF = fileURLToPath(import.meta.url);

export interface StorageCase {
  format: StorageFormat;
  dtype: PixelDtype;
  compression: Compression;
  count: number;
  source: 'candles' | 'images';
  /** Windows per append (default: BATCH for candle windows, 64 MiB of pixels for images). */
  batch?: number;
  /** Where the child writes, with the candles in candles.f64 (the parent creates and removes it). */
  dir?: string;
}

export interface StorageFigures {
  count: number;
  seconds: number;
  rate: number;
  peakRss: number;
  /** RSS once the candles were ready, before the writer was created. */
  setupRss: number;
  bytes: number;
  batch: number;
  cpuCores: number;
  foreign: number;
  path: string;
}

function label(c: StorageCase): string {
  const comp = c.compression === 'fast' ? "'fast'" : c.compression === 'none' ? 'none' : `level ${c.compression}`;
  return `${c.format} ${c.dtype} ${comp}, ${c.source === 'candles' ? 'candle windows' : 'images from rasterize'}`;
}

function sizeOf(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

/** The child: one case, one JSON line on stdout. */
/** The [count, seqLen, 4] prices of each window, as a caller storing its own images passes them. */
function windowSequences(c: { open: Float64Array; high: Float64Array; low: Float64Array; close: Float64Array }, starts: ArrayLike<number>, seqLen: number): Float64Array {
  const out = new Float64Array(starts.length * seqLen * 4);
  for (let i = 0; i < starts.length; i++) {
    for (let j = 0; j < seqLen; j++) {
      const k = starts[i] + j;
      out.set([c.open[k], c.high[k], c.low[k], c.close[k]], (i * seqLen + j) * 4);
    }
  }
  return out;
}

async function runCase(c: StorageCase): Promise<StorageFigures> {
  const candles = { ...readCandlesFile(join(c.dir!, 'candles.f64')), intervalMs: 60_000 };
  const timed = { ...candles, openTime: candles.times };
  const plan = planWindows(timed, SEQ_LEN, 1, true);
  if (plan.starts.length !== c.count) throw new Error(`planned ${plan.starts.length} windows, expected ${c.count}`);
  const breaks = breakPrefix(timed);
  const imageBytes = PIXELS * (c.dtype === 'uint8' ? 1 : 4);
  const batch = c.batch ?? (c.source === 'candles' ? BATCH : Math.max(1, Math.floor(IMAGES_BATCH_BYTES / imageBytes)));
  const out = c.source === 'images' ? (c.dtype === 'uint8' ? new Uint8Array(batch * PIXELS) : new Float32Array(batch * PIXELS)) : undefined;
  const path = join(c.dir!, c.format === 'hdf5' ? 'bench.h5' : c.format === 'npz' ? 'bench.npz' : c.format === 'zarr' ? 'bench.zarr' : 'bench');
  const setupRss = currentRssBytes();

  const meter = new LoadMeter();
  const t0 = performance.now();
  const c0 = cpuMs();
  const writer = await createDatasetWriter(path, {
    format: c.format,
    seqLen: SEQ_LEN,
    height: HEIGHT,
    dtype: c.dtype,
    horizons: HORIZONS,
    compression: c.compression,
    metadata: { symbol: 'BTCUSDT', interval: '1m', stride: 1 },
  });
  for (let done = 0; done < c.count; done += batch) {
    const starts = plan.starts.subarray(done, Math.min(c.count, done + batch));
    const rows = labelWindows(timed, breaks, starts, SEQ_LEN, HORIZONS);
    if (out) {
      const drawn = rasterize(candles, { seqLen: SEQ_LEN, height: HEIGHT, dtype: c.dtype, starts: Uint32Array.from(starts), out, device: 'cpu' });
      await writer.append({ images: drawn.images, sequences: windowSequences(candles, starts, SEQ_LEN), ...rows });
    } else {
      await writer.append({ candles, starts, ...rows });
    }
  }
  const { files } = await writer.close();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs() - c0;
  return {
    count: c.count,
    seconds,
    rate: c.count / seconds,
    peakRss: peakRssBytes(),
    setupRss,
    bytes: sizeOf(files[0]),
    batch,
    cpuCores: cpu / 1000 / seconds,
    foreign: meter.foreignCores(),
    path: files[0],
  };
}

let series: CandleSeries | undefined;

/** The first n candles of the one benchmark series (generated once, for the largest n asked). */
function firstCandles(n: number): CandleSeries {
  if (!series || series.length < n) series = candleSeries(Math.max(n, 131_040));
  const s = series;
  return { open: s.open.subarray(0, n), high: s.high.subarray(0, n), low: s.low.subarray(0, n), close: s.close.subarray(0, n), times: s.times.subarray(0, n), length: n };
}

/** Runs a case in a fresh child (again, up to 3 times, while other processes were busy during it). */
export async function measureCase(c: StorageCase, check = true): Promise<StorageFigures & { reruns: number; check: string }> {
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-storage-'));
    try {
      writeCandlesFile(join(dir, 'candles.f64'), firstCandles(c.count + SEQ_LEN - 1));
      const f = await runNodeChild<StorageFigures>(SELF, ['--case', JSON.stringify({ ...c, dir })]);
      if (f.foreign > FOREIGN_LIMIT && attempt < 3) {
        await waitForQuiet();
        continue;
      }
      return { ...f, reruns: attempt, check: check && c.format === 'hdf5' ? checkWithH5py(f.path, c.dtype, c.count) : '' };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Opens the file with Debian's h5py and compares one image with rasterize's. */
function checkWithH5py(path: string, dtype: PixelDtype, count: number): string {
  const i = Math.floor(count * 0.618);
  const script = [
    'import sys, h5py, numpy as np',
    'f = h5py.File(sys.argv[1], "r"); d = f["images"]',
    'print(d.compression, d.chunks[0], d.shape[0], str(d.dtype), int(np.asarray(d[int(sys.argv[2])], dtype=np.float64).sum()))',
  ].join('\n');
  let out: string;
  try {
    out = execFileSync('/usr/bin/python3', ['-c', script, path, String(i)], { encoding: 'utf8' }).trim();
  } catch {
    return 'h5py not available';
  }
  const [compression, chunkRows, rows, type, sum] = out.split(' ');
  const c = firstCandles(count + SEQ_LEN - 1);
  const want = rasterize(c, { seqLen: SEQ_LEN, height: HEIGHT, dtype, starts: Uint32Array.of(i), device: 'cpu' }).images.reduce((a: number, b: number) => a + b, 0);
  const ok = compression === 'gzip' && chunkRows === '1' && Number(rows) === count && type === (dtype === 'uint8' ? 'uint8' : 'float32') && Number(sum) === want;
  return ok ? 'h5py: gzip, 1 image/chunk, pixels match' : `h5py MISMATCH: ${out} (expected pixel sum ${want})`;
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function figureRow(c: StorageCase, f: StorageFigures & { reruns: number; check: string }): string {
  return row([
    label(c),
    c.count.toLocaleString('en-US'),
    f.batch,
    f.seconds.toFixed(2),
    fmtRate(f.rate),
    f.cpuCores.toFixed(2),
    fmtMB(f.peakRss),
    fmtMB(f.setupRss),
    fmtMB(f.bytes),
    Math.round(f.bytes / c.count).toLocaleString('en-US'),
    `${f.foreign.toFixed(2)}${f.reruns ? ` (${f.reruns} re-run)` : ''}`,
    f.check,
  ]);
}

const HEADER = row(['case', 'images', 'per append', 's', 'images/s', 'cores used', 'peak RSS MB', 'RSS before writing MB', 'file MB', 'bytes/image', 'other load', 'check']);
const RULE = row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---']);

async function main(quick: boolean): Promise<void> {
  const counts = quick ? [10_000] : [10_000, 100_000];
  const formatsCount = quick ? 2_000 : 10_000;
  console.log(`# ohlc-native storage: candles -> closed dataset, seqLen ${SEQ_LEN}, height ${HEIGHT}, horizons [${HORIZONS.join(', ')}], ${machineLine()}`);
  console.log(`Each row: a fresh child process; ${loadLine()} at start`);

  console.log(`\n## HDF5 (single file, one image per chunk, standard deflate filter)`);
  console.log(HEADER);
  console.log(RULE);
  const results: { c: StorageCase; f: StorageFigures }[] = [];
  const hdf5Cases: Omit<StorageCase, 'count'>[] = [
    { format: 'hdf5', dtype: 'uint8', compression: 'fast', source: 'candles' },
    { format: 'hdf5', dtype: 'uint8', compression: 6, source: 'candles' },
    { format: 'hdf5', dtype: 'float32', compression: 'fast', source: 'candles' },
    { format: 'hdf5', dtype: 'float32', compression: 6, source: 'candles' },
    { format: 'hdf5', dtype: 'uint8', compression: 'fast', source: 'images' },
    { format: 'hdf5', dtype: 'float32', compression: 'fast', source: 'images' },
  ];
  for (const base of hdf5Cases) {
    for (const count of counts) {
      const c = { ...base, count };
      const f = await measureCase(c);
      results.push({ c, f });
      console.log(figureRow(c, f));
    }
  }

  console.log(`\n## Other formats (uint8, candle windows, ${formatsCount.toLocaleString('en-US')} images; PNG/Zarr/NPZ with 'fast' deflate, JPEG quality 95)`);
  console.log(HEADER);
  console.log(RULE);
  for (const format of ['hdf5', 'npz', 'zarr', 'png', 'jpeg'] as const) {
    const c: StorageCase = { format, dtype: 'uint8', compression: 'fast', source: 'candles', count: formatsCount };
    console.log(figureRow(c, await measureCase(c)));
  }

  console.log(`\n## Targets`);
  const fast = results.filter((r) => r.c.dtype === 'uint8' && r.c.compression === 'fast' && r.c.source === 'candles');
  for (const { c, f } of fast) {
    const verdict = f.rate >= 20_000 ? 'MET (stretch 20,000 too)' : f.rate >= 5_000 ? 'MET (stretch 20,000 missed)' : 'MISSED';
    console.log(`- uint8 'fast' HDF5 at ${c.count.toLocaleString('en-US')}: ${fmtRate(f.rate)} images/s (target >= 5,000, stretch 20,000): ${verdict}`);
  }
  const worst = results.reduce((a, b) => (b.f.peakRss > a.f.peakRss ? b : a));
  console.log(`- peak RSS < 400 MB at any N: highest ${fmtMB(worst.f.peakRss)} MB (${label(worst.c)}, ${worst.c.count}): ${worst.f.peakRss < 400e6 ? 'MET' : 'MISSED'}`);
  const over = results.filter((r) => r.f.peakRss >= 400e6);
  if (over.length) console.log(`  over 400 MB: ${over.map((r) => `${label(r.c)} ${r.c.count} (${fmtMB(r.f.peakRss)} MB)`).join('; ')}`);
  console.log(`${loadLine()} at end`);
}

/** One case from the command line, e.g. --only '{"dtype":"float32","compression":6,"count":4096,"batch":64}'. */
async function only(json: string): Promise<void> {
  const c: StorageCase = { format: 'hdf5', dtype: 'uint8', compression: 'fast', source: 'candles', count: 10_000, ...(JSON.parse(json) as Partial<StorageCase>) };
  console.log(HEADER);
  console.log(RULE);
  console.log(figureRow(c, await measureCase(c)));
}

const caseArg = flagValue('--case');
const onlyArg = flagValue('--only');
if (caseArg) process.stdout.write(`${JSON.stringify(await runCase(JSON.parse(caseArg) as StorageCase))}\n`);
else if (process.argv[1] === SELF) await (onlyArg ? only(onlyArg) : main(hasFlag('--quick')));
