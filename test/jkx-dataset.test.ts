// The jkx layout through the package: rasterize, classifyWindows and the writer against the
// independent TS reference (test/helpers/reference-jkx.ts) on random windows, every format's round
// trip with volumes and ma (HDF5 read by h5py), the pipeline's windows across months and its
// counts, the config keys, and the row encoder's streams on these images against zlib level 6.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../ts/config/load.js';
import { classifyWindows, createDatasetWriter, downloadCryptoData, loadImagesFromStorage, rasterize } from '../ts/index.js';
import { screenWindows } from '../ts/pipeline/screen.js';
import { breakPrefix } from '../ts/pipeline/windows.js';
import type { StorageFormat } from '../ts/storage/formats.js';
import { runCliAsync as runCli } from './helpers/cli.js';
import { findPython, runPython } from './helpers/python.js';
import { rng, randomWalk } from './helpers/random.js';
import { jkxReferenceImage, type JkxRefStatus } from './helpers/reference-jkx.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-jkx-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Series {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/** A random walk with volumes (some zero), and now and then a flat stretch or a bad volume. */
function series(n: number, seed: number, faults = true): Series {
  const rand = rng(seed);
  const walk = randomWalk(n, rand, 10 + rand() * 1000, 0.002 + rand() * 0.03);
  const volume = Float64Array.from({ length: n }, () => (rand() < 0.1 ? 0 : rand() * 1e4));
  if (faults) {
    // A flat stretch: every price the same for 12 candles.
    const f = Math.floor(rand() * (n - 12));
    for (let i = f; i < f + 12; i++) walk.open[i] = walk.high[i] = walk.low[i] = walk.close[i] = walk.close[f];
    // A bad volume.
    volume[Math.floor(rand() * n)] = rand() < 0.5 ? NaN : -1;
  }
  return { ...walk, volume };
}

/** The reference for the window at `start`, its history the k - 1 candles before when `maOk`. */
function reference(s: Series, start: number, L: number, opts: { height: number; volume: boolean; ma: number }, maOk = true) {
  const k = opts.ma;
  const history = k > 0 && maOk && start >= k - 1 ? s.close.subarray(start - (k - 1), start) : null;
  const cut = (a: Float64Array) => a.subarray(start, start + L);
  return jkxReferenceImage({ open: cut(s.open), high: cut(s.high), low: cut(s.low), close: cut(s.close), volume: cut(s.volume), history }, opts);
}

const STATUS: JkxRefStatus[] = ['ok', 'invalid_price', 'invalid_volume', 'flat', 'overflow'];

describe('jkx through rasterize and classifyWindows, against the reference', () => {
  const shapes = [
    { L: 5, height: 32, volume: true, ma: 5 },
    { L: 20, height: 64, volume: true, ma: 20 },
    { L: 60, height: 96, volume: true, ma: 60 },
    { L: 7, height: 9, volume: false, ma: 3 },
    { L: 20, height: 64, volume: false, ma: 0 },
    { L: 2, height: 5, volume: true, ma: 2 },
  ];
  for (const [n, shape] of shapes.entries()) {
    it(`L ${shape.L}, height ${shape.height}, volume ${shape.volume}, ma ${shape.ma}: status, MA values and pixels of every window`, async () => {
      const s = series(400, 100 + n);
      const rand = rng(7 + n);
      const count = 400 - shape.L + 1;
      // A history cut now and then, as a gap would.
      const maOk = Uint8Array.from({ length: count }, () => (rand() < 0.15 ? 0 : 1));
      const opts = { seqLen: shape.L, height: shape.height, layout: 'jkx' as const, volume: shape.volume, ma: shape.ma };
      const cls = await classifyWindows(s, { ...opts, maOk, withMa: true });
      const drawable: number[] = [];
      for (let w = 0; w < count; w++) {
        const ref = reference(s, w, shape.L, { height: shape.height, volume: shape.volume, ma: shape.ma }, maOk[w] === 1);
        assert.equal(STATUS[cls.status[w]], ref.status, `window ${w}: status`);
        if (ref.status !== 'ok') continue;
        drawable.push(w);
        for (let j = 0; j < shape.L; j++) {
          const got = shape.ma > 0 ? cls.ma[w * shape.L + j] : NaN;
          assert.ok(Object.is(got, ref.ma[j]) || got === ref.ma[j], `window ${w}: MA[${j}] ${got} vs ${ref.ma[j]}`);
        }
      }
      assert.ok(drawable.length > count / 2, 'most windows are drawable');
      // A window inside the 12-candle flat stretch is flat; a bad volume matters only with the strip.
      if (shape.volume || shape.L <= 12) assert.ok(cls.status.some((v) => v !== 0), 'some windows are not drawable (flat, bad volume)');
      const starts = Uint32Array.from(drawable);
      const okOf = Uint8Array.from(drawable, (w) => maOk[w]);
      const u8 = rasterize(s, { ...opts, starts, maOk: okOf, device: 'cpu' });
      const f32 = rasterize(s, { ...opts, starts, maOk: okOf, dtype: 'float32', device: 'cpu' });
      assert.equal(u8.width, 3 * shape.L);
      const pixels = shape.height * 3 * shape.L;
      drawable.forEach((w, i) => {
        const ref = reference(s, w, shape.L, { height: shape.height, volume: shape.volume, ma: shape.ma }, maOk[w] === 1).image!;
        for (let p = 0; p < pixels; p++) {
          if (u8.images[i * pixels + p] !== ref[p]) assert.fail(`window ${w}: pixel (${Math.floor(p / (3 * shape.L))}, ${p % (3 * shape.L)}) is ${u8.images[i * pixels + p]}, the reference ${ref[p]}`);
          if (f32.images[i * pixels + p] !== ref[p] / 255) assert.fail(`window ${w}: float32 pixel ${p}`);
        }
      });
      // The same images redrawn from their MA values alone (no history in the columns).
      if (shape.ma > 0) {
        const L = shape.L;
        const alone = { open: new Float64Array(drawable.length * L), high: new Float64Array(drawable.length * L), low: new Float64Array(drawable.length * L), close: new Float64Array(drawable.length * L), volume: new Float64Array(drawable.length * L) };
        const maValues = new Float64Array(drawable.length * L);
        drawable.forEach((w, i) => {
          for (const f of ['open', 'high', 'low', 'close', 'volume'] as const) alone[f].set(s[f].subarray(w, w + L), i * L);
          maValues.set(cls.ma.subarray(w * L, (w + 1) * L), i * L);
        });
        const redrawn = rasterize(alone, { ...opts, starts: Uint32Array.from(drawable, (_, i) => i * L), maValues });
        assert.deepEqual(redrawn.images, u8.images, 'redrawn from stored MA values');
      }
    });
  }

  it('a window it cannot draw fails with a code and the reason: a bad volume, a flat window', async () => {
    const s = series(60, 5, false);
    s.volume[30] = NaN;
    assert.throws(
      () => rasterize(s, { seqLen: 20, height: 64, layout: 'jkx', starts: Uint32Array.from([25]) }),
      (e: Error & { code?: string; reason?: string; field?: string; candle?: number }) =>
        e.code === 'ERR_OHLC_INVALID_VOLUME' && e.reason === 'invalid_volume' && e.field === 'volume' && e.candle === 30 && /candle 30 has volume = NaN/.test(e.message),
    );
    for (let i = 0; i < 60; i++) s.open[i] = s.high[i] = s.low[i] = s.close[i] = 42;
    s.volume[30] = 1;
    await assert.rejects(
      async () => rasterize(s, { seqLen: 20, height: 64, layout: 'jkx', ma: 0, starts: Uint32Array.from([3]) }),
      (e: Error & { code?: string; reason?: string }) => e.code === 'ERR_OHLC_UNDRAWABLE' && e.reason === 'flat' && /window 0 \(candles 3\.\.22\) is flat/.test(e.message),
    );
  });

  it("refuses the jkx options where they do not apply, naming them", () => {
    const s = series(40, 6, false);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ seqLen: 10, height: 40, volume: true }, /absent with layout 'ohlc-4px'.* for volume /],
      [{ seqLen: 10, height: 40, ma: 3 }, /absent with layout 'ohlc-4px'.* for ma /],
      [{ seqLen: 1, height: 40, layout: 'jkx' }, /2\.\.1048576 bars with layout 'jkx'.* for seqLen /],
      [{ seqLen: 10, height: 4, layout: 'jkx' }, /at least 5 rows with the volume strip.* for height |height.*at least 5 rows with the volume strip/],
      [{ seqLen: 10, height: 40, layout: 'jkx', ma: -1 }, / for ma but received -1/],
      [{ seqLen: 10, height: 40, layout: 'square' }, /one of "ohlc-4px", "jkx" for layout but received "square"/],
    ];
    for (const [options, message] of bad) assert.throws(() => rasterize(s, options as never), message, JSON.stringify(options));
    const { volume: _, ...noVolume } = s;
    assert.throws(() => rasterize(noVolume, { seqLen: 10, height: 40, layout: 'jkx' }), /candles\.volume/);
    // Without the strip the volumes are not needed.
    assert.equal(rasterize(noVolume, { seqLen: 10, height: 40, layout: 'jkx', volume: false }).count, 31);
  });
});

describe('jkx datasets in every format', () => {
  const FORMATS: StorageFormat[] = ['hdf5', 'npz', 'zarr', 'png', 'jpeg'];
  const s = series(300, 11, false);
  const L = 20;
  const H = 64;
  const starts = Uint32Array.from({ length: 150 }, (_, i) => i + 10);
  const maOk = Uint8Array.from(starts, (st) => (st % 17 === 0 ? 0 : 1));
  const expected = rasterize(s, { seqLen: L, height: H, layout: 'jkx', starts, maOk });

  for (const format of FORMATS) {
    it(`${format}: images, volumes and ma come back as written; metadata says jkx`, async () => {
      const path = join(root, `set-${format}`);
      const w = await createDatasetWriter(path, { format, seqLen: L, height: H, layout: 'jkx', horizons: [1] });
      const labels = new Int8Array(starts.length).fill(1);
      const returns = new Float64Array(starts.length).fill(0.01);
      await w.append({ candles: s, starts: starts.subarray(0, 70), maOk: maOk.subarray(0, 70), timestamps: Float64Array.from(starts.subarray(0, 70)), labels: labels.subarray(0, 70), returns: returns.subarray(0, 70) });
      await w.append({ candles: s, starts: starts.subarray(70), maOk: maOk.subarray(70), timestamps: Float64Array.from(starts.subarray(70)), labels: labels.subarray(70), returns: returns.subarray(70) });
      const written = await w.close();
      const got = await loadImagesFromStorage(written.files[0]);
      assert.deepEqual(got.shape, [150, H, 3 * L]);
      assert.equal(got.metadata.layout, 'jkx');
      assert.equal(got.metadata.background, 0);
      assert.equal(got.metadata.volume, true);
      assert.equal(got.metadata.ma, L);
      assert.deepEqual(got.images, expected.images, 'images');
      const cls = await classifyWindows(s, { seqLen: L, height: H, layout: 'jkx', starts, maOk, withMa: true });
      const volumes = new Float64Array(150 * L);
      starts.forEach((st, i) => volumes.set(s.volume.subarray(st, st + L), i * L));
      assert.deepEqual(got.volumes, volumes, 'volumes');
      assert.deepEqual(got.ma, cls.ma, 'ma (NaN where no line)');
      assert.ok(Number.isNaN(got.ma![starts.indexOf(17) * L]), 'a window without its history has NaN');
    });
  }

  it('h5py reads the HDF5 one: 0/255 images [N, 64, 60], volumes and ma float64', { skip: findPython() ? false : 'no python3 with h5py' }, () => {
    const r = runPython<{ shape: number[]; values: number[]; vol: number[]; ma: number[]; nan: number; first: number[] }>(
      `import h5py, json, sys, numpy as np
f = h5py.File(sys.argv[1], 'r')
im = f['images']
print(json.dumps({'shape': list(im.shape), 'values': sorted(int(v) for v in np.unique(im[:])), 'vol': list(f['volumes'].shape), 'ma': list(f['ma'].shape),
  'nan': int(np.isnan(f['ma'][:, 0]).sum()), 'first': [int(v) for v in im[0].ravel()]}))`,
      [join(root, 'set-hdf5.h5')],
    );
    assert.deepEqual(r.shape, [150, H, 60]);
    assert.deepEqual(r.values, [0, 255]);
    assert.deepEqual(r.vol, [150, L]);
    assert.deepEqual(r.ma, [150, L]);
    // No line where the history crosses a gap (maOk 0) or the series is shorter than k - 1 = L - 1 before the window.
    assert.equal(r.nan, [...starts].filter((st, i) => maOk[i] === 0 || st < L - 1).length);
    assert.deepEqual(r.first, [...expected.images.subarray(0, H * 60)]);
  });
});

describe('jkx windows in the pipeline', () => {
  it('screens a chunk: gaps cut the history (no line, counted), flat windows and bad volumes are skipped, by brute force', async () => {
    const n = 200;
    const s = series(n, 21, false);
    const HOUR = 3_600_000;
    const openTime = Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1) + i * HOUR + (i >= 90 ? HOUR : 0)); // a gap before 90
    // Flat for 20 candles: a window is flat only when its MA history (4 before) is flat too.
    for (let i = 40; i < 60; i++) s.open[i] = s.high[i] = s.low[i] = s.close[i] = 7;
    s.volume[150] = -3;
    const c = { ...s, openTime, intervalMs: HOUR };
    const breaks = breakPrefix(c);
    const L = 10;
    const starts = Float64Array.from({ length: n - L + 1 }, (_, i) => i).filter((st) => breaks[st + L - 1] - breaks[st] === 0);
    const config = validateConfig({ image: { seq_len: L, resolution: { height: 40 }, layout: 'jkx', ma: 5 } }, 'test');
    const got = await screenWindows(c, breaks, starts, config);
    let maUnavailable = 0;
    const skipped: Record<string, number> = {};
    const kept: number[] = [];
    for (const st of starts) {
      const historyOk = st >= 4 && openTime[st] - openTime[st - 4] === 4 * HOUR;
      const ref = reference(s, st, L, { height: 40, volume: true, ma: 5 }, historyOk);
      if (ref.status !== 'ok') {
        skipped[ref.status] = (skipped[ref.status] ?? 0) + 1;
        continue;
      }
      kept.push(st);
      if (!historyOk) maUnavailable++;
    }
    assert.deepEqual([...got.starts], kept);
    assert.deepEqual(got.skipped, skipped);
    assert.equal(got.maUnavailable, maUnavailable);
    assert.ok(skipped.flat > 0 && skipped.invalid_volume > 0 && maUnavailable > 4, JSON.stringify({ skipped, maUnavailable }));
  });

  it('a two-month build: every image and MA value is the reference drawn from the whole series (history carried across the month), ma_unavailable counted, verify passes', async () => {
    const dir = join(root, 'build');
    const cfg = join(root, 'jkx.yaml');
    writeFileSync(
      cfg,
      `data: { symbol: ETHUSDT, interval: 1h, start_date: "2024-01", end_date: "2024-02", source: sample }
image: { seq_len: 20, layout: jkx }
labels: { horizons: [1] }
paths: { raw_data: ${join(root, 'raw')}, processed_data: ${dir}, logs: ${join(root, 'logs')} }
`,
    );
    const r = await runCli(['build', '--config', cfg, '--json'], root);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { outputs: string[]; images: number; maUnavailable: number };
    assert.match(summary.outputs[0], /_L20_H64_jkx_/, 'the authors\' height for 20 bars, and the layout in the name');
    const ds = await loadImagesFromStorage(summary.outputs[0]);
    assert.deepEqual(ds.shape.slice(1), [64, 60]);
    const whole = await downloadCryptoData({ symbol: 'ETHUSDT', interval: '1h', startDate: '2024-01', endDate: '2024-02', source: 'sample', cacheDir: join(root, 'raw') });
    const index = new Map<number, number>();
    whole.openTime.forEach((t, i) => index.set(t, i));
    let noLine = 0;
    const pixels = 64 * 60;
    for (let i = 0; i < ds.total; i++) {
      const start = index.get(ds.timestamps[i])! - 19;
      const ref = reference(whole, start, 20, { height: 64, volume: true, ma: 20 });
      assert.equal(ref.status, 'ok');
      if (start < 19) noLine++;
      for (let p = 0; p < pixels; p++) if (ds.images[i * pixels + p] !== ref.image![p]) assert.fail(`image ${i} (start ${start}): pixel ${p}`);
      for (let j = 0; j < 20; j++) assert.ok(Object.is(ds.ma![i * 20 + j], ref.ma[j]), `image ${i}: MA[${j}]`);
    }
    assert.equal(ds.total, whole.openTime.length - 19, 'every window, the last with an unknown label');
    assert.equal(summary.maUnavailable, noLine);
    assert.equal(ds.metadata.ma_unavailable, noLine);
    const v = await runCli(['verify', summary.outputs[0]], root);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  it('the row encoder\'s streams of jkx images inflate to the images and are about zlib level 6\'s size', { skip: findPython() ? false : 'no python3 with h5py' }, () => {
    const r = runPython<{ ours: number; zlib6: number; n: number }>(
      `import h5py, json, sys, zlib, glob
f = h5py.File(glob.glob(sys.argv[1] + '/*.h5')[0], 'r')
d = f['images']
ours = z6 = n = 0
for i in range(0, d.shape[0], 7):
    mask, chunk = d.id.read_direct_chunk((i, 0, 0))
    raw = d[i].tobytes()
    assert zlib.decompress(chunk) == raw
    ours += len(chunk); z6 += len(zlib.compress(raw, 6)); n += 1
print(json.dumps({'ours': ours, 'zlib6': z6, 'n': n}))`,
      [join(root, 'build')],
    );
    assert.ok(r.n > 100);
    // Measured: 1.00x at 64x60 (bench/RESULTS.md gives the figures per shape); a regression shows here.
    assert.ok(r.ours <= r.zlib6 * 1.02, `${r.ours} bytes against zlib 6's ${r.zlib6}`);
  });
});

describe('jkx config keys', () => {
  const problem = (image: Record<string, unknown>) => {
    try {
      validateConfig({ image }, 'test');
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  it('a height is needed where the authors give none; the options name their keys', () => {
    assert.match(problem({ layout: 'jkx', seq_len: 7 })!, /image\.resolution\.height: is needed with image\.layout jkx and seq_len 7/);
    assert.match(problem({ seq_len: 7, ma: 3 })!, /image\.ma: .*absent with image\.layout 'ohlc-4px'/);
    assert.match(problem({ layout: 'jkx', seq_len: 1, resolution: { height: 30 } })!, /image\.seq_len: .*2\.\.1048576 bars with image\.layout 'jkx'/);
    assert.match(problem({ layout: 'jkx', seq_len: 5, resolution: { height: 4 } })!, /image\.resolution\.height: .*at least 5 rows/);
    assert.equal(problem({ layout: 'jkx', seq_len: 5, resolution: { height: 4 }, volume: false }), null);
    const c = validateConfig({ image: { layout: 'jkx', seq_len: 60 } }, 'test');
    assert.deepEqual([c.image.resolution.height, c.image.volume, c.image.ma], [96, true, 60]);
    assert.equal(validateConfig({}, 'test').image.resolution.height, 500, 'the default layout keeps its height');
  });
});
