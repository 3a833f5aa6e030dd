// The jkx layout against the default layout and against Pillow, in one run.
//   node --import tsx bench/jkx.ts [--quick]
// 1. Drawing: rasterize (sync) of the authors' three shapes (5×32, 20×64, 60×96; volume strip and
//    MA over seq_len) against the default layout of about the same pixel count (width 4·L' with
//    L' = ⌈3L/4⌉, same height), 1 thread and all threads. The two calls run in turns, best of the
//    rounds, so a busy moment of the shared machine hits both alike; the ratio is per pixel.
// 2. Candles → closed HDF5 ('fast', the pipeline's default; and zlib level 6 for the bytes):
//    20,000 windows of 20×64 jkx against the default 15×64 from candle windows; at 'fast' both
//    encoded from geometry (OHLC_IMAGE_ENCODER=geometry) and drawn then row-encoded (=pixels; the
//    writer's own choice for images this small).
// 3. The authors' approach end to end (bench/jkx_pillow.py: NumPy geometry, Pillow drawing one
//    image at a time with test/helpers/pillow_jkx.py's draw_image, h5py gzip), against our
//    rasterize (drawing) and our writer (candles → closed HDF5) on the same 20×64 windows; the
//    script checks its images against our file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatasetWriter, rasterize, type Compression } from '../ts/index.js';
import { native } from '../ts/native/load.js';
import { labelWindows } from '../ts/pipeline/windows.js';
import { candleSeries, cpuMs, fmtRate, hasFlag, LoadMeter, loadLine, machineLine } from './common.js';

const QUICK = hasFlag('--quick');
const ROUNDS = QUICK ? 3 : 7;
const ALL = native().info().threads;
const PILLOW_BENCH = join(dirname(fileURLToPath(import.meta.url)), 'jkx_pillow.py');

/** The benchmarks' series (the sample's random walk) with its volumes and times. */
const series = candleSeries(QUICK ? 12_000 : 44_000);

/** Best seconds per call of each step, the steps run in turns for `rounds` rounds after a warm-up. */
function inTurns(steps: Array<() => unknown>, rounds: number): { best: number[]; foreign: number } {
  for (const s of steps) s();
  const best = steps.map(() => Infinity);
  const meter = new LoadMeter();
  for (let r = 0; r < rounds; r++)
    steps.forEach((s, i) => {
      const t = performance.now();
      s();
      best[i] = Math.min(best[i], (performance.now() - t) / 1000);
    });
  return { best, foreign: meter.foreignCores() };
}

const c = { open: series.open, high: series.high, low: series.low, close: series.close, volume: series.volume! };
const count = (QUICK ? 10_000 : 40_000) - 100;
const JKX_SHAPES = [
  { L: 5, H: 32 },
  { L: 20, H: 64 },
  { L: 60, H: 96 },
];

console.log(`# jkx layout (${machineLine()})\n\n${loadLine()}\n`);
console.log(`## 1. Drawing: rasterize (sync), ${count} windows per call, uint8, best of ${ROUNDS} rounds in turns\n`);
console.log('| shape | threads | default layout (same pixels ±) | jkx (volume, MA L) | jkx ns/px ÷ default ns/px | other load (cores) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const { L, H } of JKX_SHAPES) {
  const seqDefault = Math.ceil((3 * L) / 4);
  const starts = Uint32Array.from({ length: count }, (_, i) => i + L);
  for (const threads of [1, ALL]) {
    const { best, foreign } = inTurns(
      [
        () => rasterize(c, { seqLen: seqDefault, height: H, starts, threads, device: 'cpu' }),
        () => rasterize(c, { seqLen: L, height: H, layout: 'jkx', starts, threads, device: 'cpu' }),
      ],
      ROUNDS,
    );
    const perPixel = (s: number, width: number) => s / (count * H * width);
    const ratio = perPixel(best[1], 3 * L) / perPixel(best[0], 4 * seqDefault);
    console.log(`| ${L}×${H} (default ${seqDefault}×${H}) | ${threads} | ${fmtRate(count / best[0])} | ${fmtRate(count / best[1])} | ${ratio.toFixed(2)} | ${foreign.toFixed(2)} |`);
  }
}

console.log(`\n## 2. Candles → closed HDF5, 20×64 jkx against 15×64 default (and 60×96 float32 jkx), ${count} windows, appends of 1,024, best of ${QUICK ? 2 : 3}\n`);
console.log('| layout | compression | images/s | bytes/image | cores used |');
console.log('| --- | --- | --- | --- | --- |');
const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-jkx-'));
try {
  const starts = Float64Array.from({ length: count }, (_, i) => i + 20);
  const timestamps = Float64Array.from(starts);
  type Layout = 'ohlc-4px' | 'jkx';
  interface WriteCase {
    layout: Layout;
    compression: Compression;
    drawn: boolean;
    seqLen?: number;
    height?: number;
    dtype?: 'uint8' | 'float32';
  }
  async function write(k: WriteCase): Promise<{ seconds: number; bytes: number; cores: number }> {
    const { layout, compression, drawn } = k;
    const path = join(dir, `${layout}-${compression}.h5`);
    const seqLen = k.seqLen ?? (layout === 'jkx' ? 20 : 15);
    const height = k.height ?? 64;
    // Read by the writer when it is opened.
    process.env.OHLC_IMAGE_ENCODER = drawn ? 'pixels' : 'geometry';
    try {
      const t0 = performance.now();
      const c0 = cpuMs();
      const w = await createDatasetWriter(path, { seqLen, height, layout, compression, dtype: k.dtype ?? 'uint8', overwrite: true, horizons: [] });
      for (let i = 0; i < count; i += 1024) {
        await w.append({ candles: c, starts: starts.subarray(i, i + 1024), timestamps: timestamps.subarray(i, i + 1024) });
      }
      await w.close();
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, bytes: statSync(path).size, cores: (cpuMs() - c0) / 1000 / seconds };
    } finally {
      delete process.env.OHLC_IMAGE_ENCODER;
    }
  }
  // At level 6 every image is drawn and deflated by libdeflate: there is no geometry path.
  // The last two: a jkx image of 69 KiB (60×96 float32), where the writer's own choice is geometry.
  const cases: WriteCase[] = [
    { layout: 'ohlc-4px', compression: 'fast', drawn: false },
    { layout: 'jkx', compression: 'fast', drawn: false },
    { layout: 'ohlc-4px', compression: 'fast', drawn: true },
    { layout: 'jkx', compression: 'fast', drawn: true },
    { layout: 'ohlc-4px', compression: 6, drawn: true },
    { layout: 'jkx', compression: 6, drawn: true },
    { layout: 'jkx', compression: 'fast', drawn: false, seqLen: 60, height: 96, dtype: 'float32' },
    { layout: 'jkx', compression: 'fast', drawn: true, seqLen: 60, height: 96, dtype: 'float32' },
  ];
  const best = cases.map(() => ({ seconds: Infinity, bytes: 0, cores: 0 }));
  for (let r = 0; r < (QUICK ? 2 : 3); r++)
    for (const [i, k] of cases.entries()) {
      const f = await write(k);
      if (f.seconds < best[i].seconds) best[i] = f;
    }
  for (const [i, k] of cases.entries()) {
    const f = best[i];
    const how = k.compression === 'fast' ? (k.drawn ? "'fast', drawn + row encoder" : "'fast', from geometry") : `level ${k.compression}`;
    const shape = `${k.seqLen ?? (k.layout === 'jkx' ? 20 : 15)}×${k.height ?? 64} ${k.dtype ?? 'uint8'}`;
    console.log(`| ${k.layout} ${shape} | ${how} | ${fmtRate(count / f.seconds)} | ${Math.round(f.bytes / count)} | ${f.cores.toFixed(2)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n## 3. Against the authors' approach (NumPy + Pillow + h5py), 20×64, volume, MA 20, horizons [5, 20], ${count} windows\n`);
// bench/jkx_pillow.py: candles in NumPy → geometry with NumPy → Pillow one image at a time (the
// tests' draw_image) → np.asarray → HDF5 with h5py (gzip, one image a chunk), against our writer
// on the same windows, whose file the script then compares image by image.
const pillowDir = mkdtempSync(join(tmpdir(), 'ohlc-bench-jkx-pillow-'));
try {
  const candleFile = join(pillowDir, 'candles.f64');
  writeFileSync(candleFile, Buffer.concat([c.open, c.high, c.low, c.close, c.volume].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
  const starts = Float64Array.from({ length: count }, (_, i) => i + 20);
  const ours = join(pillowDir, 'ours.h5');
  // The labels as the pipeline makes them (the series has no gaps); the Python side makes its own.
  const timed = { ...c, openTime: series.times, intervalMs: 60_000 };
  const gapFree = new Uint32Array(series.length);
  let oursSeconds = Infinity;
  let oursCores = 0;
  for (let r = 0; r < (QUICK ? 2 : 3); r++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    const w = await createDatasetWriter(ours, { seqLen: 20, height: 64, layout: 'jkx', overwrite: true, horizons: [5, 20] });
    for (let i = 0; i < count; i += 1024) {
      const part = starts.subarray(i, i + 1024);
      const { timestamps, labels, returns } = labelWindows(timed, gapFree, part, 20, [5, 20]);
      await w.append({ candles: c, starts: part, timestamps, labels, returns });
    }
    await w.close();
    const seconds = (performance.now() - t0) / 1000;
    if (seconds < oursSeconds) [oursSeconds, oursCores] = [seconds, (cpuMs() - c0) / 1000 / seconds];
  }
  const oneThread = inTurns([() => rasterize(c, { seqLen: 20, height: 64, layout: 'jkx', starts: Uint32Array.from(starts), threads: 1, device: 'cpu' })], ROUNDS).best[0];
  const meter = new LoadMeter();
  const py = spawnSync('/usr/bin/python3', [PILLOW_BENCH, '--candles', candleFile, '--count', String(count), '--horizons', '5,20', '--same-as', ours], { encoding: 'utf8' });
  const foreign = meter.foreignCores();
  if (py.status !== 0) {
    console.log(`(skipped: /usr/bin/python3 with NumPy, Pillow and h5py not usable: ${py.stderr.trim().split('\n').pop()})`);
  } else {
    const p = JSON.parse(py.stdout.trim().split('\n').pop()!) as { draw_s: number; end_to_end_s: number; end_to_end_cpu_s: number; bytes: number; same: boolean; pillow: string };
    const pillowDraw = count / p.draw_s;
    const pillowEnd = count / p.end_to_end_s;
    console.log(`Pillow ${p.pillow}; the Python run's other load: ${foreign.toFixed(2)} cores; its images ${p.same ? 'equal ours, every one' : 'DIFFER from ours'}\n`);
    console.log('| path | images/s | cores | × Pillow |');
    console.log('| --- | --- | --- | --- |');
    console.log(`| Pillow drawing only (NumPy geometry, Pillow, np.asarray; no file; process CPU time) | ${fmtRate(pillowDraw)} | 1 | 1 |`);
    console.log(`| ohlc-native rasterize, 1 thread (best of ${ROUNDS}) | ${fmtRate(count / oneThread)} | 1 | ${(count / oneThread / pillowDraw).toFixed(0)} (drawing) |`);
    console.log(`| Pillow end to end (candles → closed HDF5, gzip; wall time) | ${fmtRate(pillowEnd)} | ${(p.end_to_end_cpu_s / p.end_to_end_s).toFixed(2)} | 1 |`);
    console.log(`| ohlc-native writer end to end ('fast', best of ${QUICK ? 2 : 3}; wall time) | ${fmtRate(count / oursSeconds)} | ${oursCores.toFixed(2)} | ${(count / oursSeconds / pillowEnd).toFixed(0)} (end to end) |`);
    console.log(`\nbytes/image: Pillow + h5py gzip ${Math.round(p.bytes / count)}, ours ${Math.round(statSync(ours).size / count)}`);
  }
} finally {
  rmSync(pillowDir, { recursive: true, force: true });
}
