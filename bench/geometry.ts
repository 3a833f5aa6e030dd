// Candles -> closed HDF5 through the writer's fused path (images encoded from their bars, never
// drawn: OHLC_IMAGE_ENCODER=geometry) against the drawn path (then the row encoder:
// OHLC_IMAGE_ENCODER=pixels) and the
// NumPy + h5py baseline, in one run; then h5py random reads of both kinds of stream.
//   node --import tsx bench/geometry.ts [--quick]
// Writes: bench/storage.ts's cases (seqLen 100, height 500, horizons [1, 5, 15], candle windows,
// 1,024 per append, a fresh child per case, peak RSS of that child), uint8 and float32, 10,000 and
// 100,000 images (--quick: 10,000 only, baseline 2,000). Reads: 10,000 images written each way,
// then Debian's h5py reads 2,000 random single images (the same indices for both), best of 3.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candleSeries, fmtMB, fmtRate, hasFlag, HORIZONS, loadLine, machineLine, SEQ_LEN, writeCandlesFile, HEIGHT } from './common.js';
import { measureCase, type StorageCase } from './storage.js';
import { createDatasetWriter, type PixelDtype } from '../ts/index.js';

const QUICK = hasFlag('--quick');
const COUNTS = QUICK ? [10_000] : [10_000, 100_000];
const BASELINE_COUNT = QUICK ? 2_000 : 10_000;
const ENCODER_ENV = 'OHLC_IMAGE_ENCODER';

function withPath<T>(pixels: boolean, body: () => Promise<T>): Promise<T> {
  process.env[ENCODER_ENV] = pixels ? 'pixels' : 'geometry';
  return body().finally(() => delete process.env[ENCODER_ENV]);
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

console.log(`# Fused geometry encoder in the writer: ${new Date().toISOString()}, ${machineLine()}`);
console.log(`seqLen ${SEQ_LEN}, height ${HEIGHT}, horizons [${HORIZONS.join(', ')}], candle windows, HDF5 'fast'; ${loadLine()} at start\n`);
console.log(row(['path', 'dtype', 'images', 's', 'images/s', 'cores used', 'peak RSS MB', 'bytes/image', 'other load', 'check']));
console.log(row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---']));
const rates: Record<string, number> = {};
for (const dtype of ['uint8', 'float32'] as PixelDtype[]) {
  for (const count of COUNTS) {
    for (const pixels of [false, true]) {
      const c: StorageCase = { format: 'hdf5', dtype, compression: 'fast', source: 'candles', count };
      const f = await withPath(pixels, () => measureCase(c));
      rates[`${pixels ? 'old' : 'fused'} ${dtype} ${count}`] = f.rate;
      console.log(row([pixels ? 'drawn + row encoder (today)' : 'fused (geometry)', dtype, count.toLocaleString('en-US'), f.seconds.toFixed(2), fmtRate(f.rate), f.cpuCores.toFixed(2), fmtMB(f.peakRss), Math.round(f.bytes / count).toLocaleString('en-US'), `${f.foreign.toFixed(2)}${f.reruns ? ` (${f.reruns} re-run)` : ''}`, f.check]));
    }
  }
}

// The baseline, on the very candles the cases draw.
const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-geometry-'));
try {
  const candles = join(dir, 'candles.f64');
  writeCandlesFile(candles, candleSeries(BASELINE_COUNT + SEQ_LEN - 1 + 15));
  const r = spawnSync('/usr/bin/python3', ['bench/baseline_numpy_h5py.py', '--count', String(BASELINE_COUNT), '--candles', candles], { encoding: 'utf8' });
  console.log(`\n${r.stdout.trim()}`);
  for (const line of r.stdout.split('\n')) {
    const m = /NumPy \+ h5py gzip, (\w+) \| [\d,]+ \| [\d.]+ \| ([\d,]+) \|/.exec(line);
    if (m) rates[`baseline ${m[1]}`] = Number(m[2].replace(/,/g, ''));
  }

  // Reads: the same 10,000 windows written both ways, read back at random by h5py.
  console.log(`\n## h5py random reads (2,000 single images at random, best of 3; Debian's h5py)`);
  console.log(row(['stream', 'dtype', 'images/s', 'bytes/image']));
  console.log(row(['---', '---', '---:', '---:']));
  const series = candleSeries(10_000 + SEQ_LEN - 1);
  const cols = { open: series.open, high: series.high, low: series.low, close: series.close };
  const starts = Int32Array.from({ length: 10_000 }, (_, i) => i);
  const timestamps = Float64Array.from(starts, (s) => 1_600_000_000_000 + s * 60_000);
  const reader = [
    'import sys, time, h5py, numpy as np',
    'f = h5py.File(sys.argv[1], "r"); d = f["images"]; n = d.shape[0]',
    'idx = np.random.default_rng(7).integers(0, n, 2000)',
    'best = 0',
    'for _ in range(3):',
    '    t = time.perf_counter()',
    '    for i in idx: d[int(i)]',
    '    best = max(best, len(idx) / (time.perf_counter() - t))',
    'size = sum(d.id.get_chunk_info(i).size for i in range(d.id.get_num_chunks()))',
    'print(round(best), round(size / n))',
  ].join('\n');
  for (const dtype of ['uint8', 'float32'] as PixelDtype[]) {
    for (const pixels of [false, true]) {
      const path = join(dir, `read-${dtype}-${pixels ? 'old' : 'fused'}.h5`);
      await withPath(pixels, async () => {
        const w = await createDatasetWriter(path, { format: 'hdf5', seqLen: SEQ_LEN, height: HEIGHT, dtype, metadata: { symbol: 'BTCUSDT', interval: '1m', stride: 1 } });
        for (let a = 0; a < starts.length; a += 1024) await w.append({ candles: cols, starts: starts.subarray(a, a + 1024), timestamps: timestamps.subarray(a, a + 1024) });
        await w.close();
      });
      const [rate, bytes] = execFileSync('/usr/bin/python3', ['-c', reader, path], { encoding: 'utf8' }).trim().split(' ');
      console.log(row([pixels ? 'drawn + row encoder (today)' : 'fused (geometry)', dtype, Number(rate).toLocaleString('en-US'), Number(bytes).toLocaleString('en-US')]));
      rmSync(path);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n## Against the target (>= 80,000 images/s, >= 4x today's path, >= 100x the baseline; uint8)`);
for (const count of COUNTS) {
  const fused = rates[`fused uint8 ${count}`];
  const old = rates[`old uint8 ${count}`];
  const base = rates['baseline uint8'];
  console.log(`- ${count.toLocaleString('en-US')} images: fused ${fmtRate(fused)}/s, ${(fused / old).toFixed(2)}x today's path${base ? `, ${(fused / base).toFixed(0)}x the baseline` : ''}: ${fused >= 80_000 ? 'MET' : 'MISSED'}`);
}
for (const count of COUNTS) {
  const fused = rates[`fused float32 ${count}`];
  const old = rates[`old float32 ${count}`];
  const base = rates['baseline float32'];
  console.log(`- float32, ${count.toLocaleString('en-US')} images: fused ${fmtRate(fused)}/s, ${(fused / old).toFixed(2)}x today's path${base ? `, ${(fused / base).toFixed(0)}x the baseline` : ''}`);
}
console.log(`${loadLine()} at end`);
