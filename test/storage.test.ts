// Dataset storage: every format and mode round-trips against the rasterizer, opens with the stock
// readers (h5py, h5dump, numpy.load, zarr), never leaves a half-written file under a final name,
// and refuses bad arguments and broken files with clear errors.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDatasetWriter, loadImagesFromStorage, rasterize, type StorageFormat } from '../ts/index.js';
import { runCli } from './helpers/cli.js';
import { editJson, loadInChild, patchZipUncompressedSize, rewriteNpzMember, withNpyShape } from './helpers/damage.js';
import { findPython, hasCommand, runPython } from './helpers/python.js';
import { makeFifo, makeSocket, releaseFifo } from './helpers/special-files.js';
import { writerFixture, type WriterFixture } from './helpers/writer-fixture.js';

const SEQ = 20;
const H = 48;
const PIXELS = H * 4 * SEQ;
const HORIZONS = [1, 3];
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ohlc-storage-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Fixture = WriterFixture;

function fixture(count: number, seed: number): Fixture {
  return writerFixture(count, seed, { seqLen: SEQ, height: H, horizons: HORIZONS, startOf: (i) => i + (i % 3) });
}

/** Appends in uneven slices, alternating drawn-from-candles and given images. */
async function writeAll(path: string, format: StorageFormat, f: Fixture, extra: Record<string, unknown> = {}) {
  const w = await createDatasetWriter(path, { format, seqLen: SEQ, height: H, horizons: HORIZONS, metadata: { symbol: 'TESTUSDT', interval: '1m', stride: 1 }, ...extra });
  const cuts = [0, 7, 8, 33, f.starts.length];
  for (let c = 0; c + 1 < cuts.length; c++) {
    const [a, b] = [cuts[c], cuts[c + 1]];
    const k = HORIZONS.length;
    const rows = { timestamps: f.timestamps.subarray(a, b), labels: f.labels.subarray(a * k, b * k), returns: f.returns.subarray(a * k, b * k) };
    if (c % 2 === 0) await w.append({ candles: f.candles, starts: f.starts.subarray(a, b), ...rows });
    else await w.append({ images: f.images.subarray(a * PIXELS, b * PIXELS), sequences: f.sequences.subarray(a * SEQ * 4, b * SEQ * 4), ...rows });
  }
  return w.close({ skipped: { gap: 2 } });
}

function assertSameRows(loaded: Awaited<ReturnType<typeof loadImagesFromStorage>>, f: Fixture, indices: number[], exactImages = true) {
  assert.deepEqual(loaded.shape, [indices.length, H, 4 * SEQ]);
  const k = HORIZONS.length;
  indices.forEach((idx, i) => {
    const got = loaded.images.subarray(i * PIXELS, (i + 1) * PIXELS);
    const want = f.images.subarray(idx * PIXELS, (idx + 1) * PIXELS);
    if (exactImages) assert.deepEqual(Array.from(got), Array.from(want), `image ${idx}`);
    else {
      let diff = 0;
      for (let p = 0; p < PIXELS; p++) if (got[p] !== want[p]) diff++;
      assert.ok(diff <= PIXELS * 0.002, `image ${idx}: ${diff} of ${PIXELS} pixels differ after JPEG`);
    }
    assert.deepEqual(Array.from(loaded.sequences.subarray(i * SEQ * 4, (i + 1) * SEQ * 4)), Array.from(f.sequences.subarray(idx * SEQ * 4, (idx + 1) * SEQ * 4)));
    assert.equal(loaded.timestamps[i], f.timestamps[idx]);
    assert.deepEqual(Array.from(loaded.labels!.subarray(i * k, (i + 1) * k)), Array.from(f.labels.subarray(idx * k, (idx + 1) * k)));
    assert.deepEqual(Array.from(loaded.returns!.subarray(i * k, (i + 1) * k)), Array.from(f.returns.subarray(idx * k, (idx + 1) * k)));
  });
}

const FORMATS: StorageFormat[] = ['hdf5', 'npz', 'zarr', 'png', 'jpeg'];

describe('storage: round trip', () => {
  const f = fixture(90, 1);
  for (const format of FORMATS) {
    it(`${format}, single file`, async () => {
      const r = await writeAll(join(dir, `single-${format}`), format, f);
      assert.equal(r.count, 90);
      assert.equal(r.files.length, 1);
      const all = await loadImagesFromStorage(r.files[0]);
      assert.equal(all.total, 90);
      assert.equal(all.format, format);
      assertSameRows(all, f, Array.from({ length: 90 }, (_, i) => i), format !== 'jpeg');
      const some = await loadImagesFromStorage(r.files[0], format, { indices: [89, 0, 45, 45, 12] });
      assertSameRows(some, f, [89, 0, 45, 45, 12], format !== 'jpeg');
      const range = await loadImagesFromStorage(r.files[0], { indices: { start: 30, end: 41 } });
      assertSameRows(range, f, Array.from({ length: 11 }, (_, i) => 30 + i), format !== 'jpeg');
      const m = all.metadata;
      assert.equal(m.symbol, 'TESTUSDT');
      assert.equal(m.seq_len, SEQ);
      assert.equal(m.height, H);
      assert.equal(m.width, 4 * SEQ);
      assert.equal(m.dtype, 'uint8');
      assert.equal(m.layout, 'ohlc-4px');
      assert.equal(m.background, 1);
      assert.deepEqual(m.horizons, HORIZONS);
      assert.deepEqual(m.skipped, { gap: 2 });
      assert.match(String(m.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(String(m.generator), /^ohlc-native \d+\.\d+\.\d+/);
    });

    it(`${format}, batch mode`, async () => {
      const r = await writeAll(join(dir, `batch-${format}`), format, f, { mode: 'batch', imagesPerFile: 25 });
      assert.equal(r.count, 90);
      assert.equal(r.files.length, 4);
      r.files.forEach((file, i) => assert.match(file, new RegExp(`batch-${format}_0000${i}`)));
      // Each file is complete on its own...
      const third = await loadImagesFromStorage(r.files[2]);
      assert.equal(third.total, 25);
      assertSameRows(third, f, Array.from({ length: 25 }, (_, i) => 50 + i), format !== 'jpeg');
      assert.equal(third.metadata.first_index, 50);
      // ...and the set loads by its first file or its stem, across files.
      const byFirst = await loadImagesFromStorage(r.files[0], { indices: [24, 25, 89, 0] });
      assert.equal(byFirst.total, 90);
      assertSameRows(byFirst, f, [24, 25, 89, 0], format !== 'jpeg');
      const byStem = await loadImagesFromStorage(join(dir, `batch-${format}`), { indices: { start: 70 } });
      assertSameRows(byStem, f, Array.from({ length: 20 }, (_, i) => 70 + i), format !== 'jpeg');
    });
  }

  for (const format of ['hdf5', 'npz', 'zarr', 'png'] as const) {
    it(`${format}: float32 images and explicit compression levels`, async () => {
      const g = fixture(12, 2);
      const starts = g.starts;
      for (const compression of ['fast', 'none', 6] as const) {
        const w = await createDatasetWriter(join(dir, `f32-${format}-${compression}`), { format, seqLen: SEQ, height: H, dtype: 'float32', compression });
        await w.append({ candles: g.candles, starts, timestamps: g.timestamps });
        const { files } = await w.close();
        const back = await loadImagesFromStorage(files[0]);
        assert.ok(back.images instanceof Float32Array);
        assert.equal(back.metadata.dtype, 'float32');
        assert.deepEqual(Array.from(back.images), Array.from(g.images), `${format} ${compression}`);
        assert.equal(back.labels, undefined);
      }
    });
  }

  it('takes a batch of candle windows or of images with their sequences, never both', async () => {
    const g = fixture(9, 8);
    const w = await createDatasetWriter(join(dir, 'images-and-sequences.h5'), { seqLen: SEQ, height: H });
    await assert.rejects(w.append({ images: g.images, candles: g.candles, starts: g.starts, timestamps: g.timestamps }), /absent when images are given .*for batch\.candles/);
    await w.append({ images: g.images, sequences: g.sequences, timestamps: g.timestamps });
    const { files } = await w.close();
    const back = await loadImagesFromStorage(files[0]);
    assert.deepEqual(Array.from(back.images), Array.from(g.images));
    assert.deepEqual(Array.from(back.sequences), Array.from(g.sequences));
  });

  for (const format of ['hdf5', 'npz', 'zarr', 'png'] as const) {
    it(`${format}: the optional symbol_index and split arrays round-trip, in batch mode too`, async () => {
      const g = fixture(30, 5);
      const symbolIndex = Uint16Array.from({ length: 30 }, (_, i) => (i * 7919) % 65535);
      const split = Uint8Array.from({ length: 30 }, (_, i) => i % 3);
      for (const mode of ['single', 'batch'] as const) {
        const w = await createDatasetWriter(join(dir, `optional-${format}-${mode}`), { format, mode, imagesPerFile: 11, seqLen: SEQ, height: H, arrays: { symbolIndex: true, split: true } });
        await assert.rejects(w.append({ candles: g.candles, starts: g.starts, timestamps: g.timestamps }), /Uint16Array of 30 elements .* for batch\.symbolIndex/);
        await w.append({ candles: g.candles, starts: g.starts.subarray(0, 13), timestamps: g.timestamps.subarray(0, 13), symbolIndex: symbolIndex.subarray(0, 13), split: split.subarray(0, 13) });
        await w.append({ candles: g.candles, starts: g.starts.subarray(13), timestamps: g.timestamps.subarray(13), symbolIndex: symbolIndex.subarray(13), split: split.subarray(13) });
        const { files } = await w.close();
        const back = await loadImagesFromStorage(files[0], { indices: [29, 0, 12, 13] });
        assert.deepEqual(Array.from(back.symbolIndex!), [29, 0, 12, 13].map((i) => symbolIndex[i]), `${format} ${mode}`);
        assert.deepEqual(Array.from(back.split!), [29, 0, 12, 13].map((i) => split[i]));
        if (format === 'hdf5' && mode === 'single' && findPython()) {
          const py = runPython<{ dtype: string; values: number[] }>(`import h5py, json, sys; f = h5py.File(sys.argv[1]); print(json.dumps({"dtype": str(f["symbol_index"].dtype), "values": f["symbol_index"][:].tolist()}))`, [files[0]]);
          assert.equal(py.dtype, 'uint16');
          assert.deepEqual(py.values, Array.from(symbolIndex));
        }
      }
      const plain = await createDatasetWriter(join(dir, `no-optional-${format}`), { format, seqLen: SEQ, height: H });
      await assert.rejects(plain.append({ candles: g.candles, starts: g.starts, timestamps: g.timestamps, split }), /absent \(the writer was created without arrays\.split\)/);
      await plain.abort();
    });
  }

  it('writes an empty dataset that loads with zero images', async () => {
    const w = await createDatasetWriter(join(dir, 'empty.h5'), { seqLen: SEQ, height: H });
    const { files, count } = await w.close();
    assert.equal(count, 0);
    const back = await loadImagesFromStorage(files[0]);
    assert.equal(back.total, 0);
    assert.equal(back.images.length, 0);
  });
});

describe('storage: stock readers', () => {
  const f = fixture(40, 3);
  const files: Partial<Record<StorageFormat, string>> = {};
  before(async () => {
    // Zarr format 2: the stock zarr here is Debian's zarr-python 2, which reads no format 3.
    for (const format of ['hdf5', 'npz', 'zarr', 'png'] as const) files[format] = (await writeAll(join(dir, `interop-${format}`), format, f, format === 'zarr' ? { zarrFormat: 2 } : {})).files[0];
  });

  const expected = () => ({
    imageSums: Array.from({ length: 40 }, (_, i) => f.images.subarray(i * PIXELS, (i + 1) * PIXELS).reduce((a, b) => a + b, 0)),
    firstSequence: Array.from(f.sequences.subarray(0, SEQ * 4)),
    timestamps: Array.from(f.timestamps),
    labels: Array.from(f.labels),
  });

  // Prints shapes, dtypes, per-image sums and a few values as the stock reader sees them.
  const SUMMARY = `
import json, sys, numpy as np
def summary(images, sequences, timestamps, labels, returns, meta):
    return dict(shape=list(images.shape), dtype=str(images.dtype), imageSums=[int(x) for x in images.reshape(images.shape[0], -1).sum(axis=1)],
                seqShape=list(sequences.shape), seqDtype=str(sequences.dtype), firstSequence=[float(x) for x in sequences[0].reshape(-1)],
                tsDtype=str(timestamps.dtype), timestamps=[int(x) for x in timestamps], labelsDtype=str(labels.dtype), labels=[int(x) for x in labels.reshape(-1)],
                returnsNan=int(np.isnan(returns).sum()), symbol=meta['symbol'], horizons=[int(h) for h in meta['horizons']], seq_len=int(meta['seq_len']))
`;

  function check(s: Record<string, unknown>) {
    const e = expected();
    assert.deepEqual(s.shape, [40, H, 4 * SEQ]);
    assert.equal(s.dtype, 'uint8');
    assert.deepEqual(s.imageSums, e.imageSums);
    assert.deepEqual(s.seqShape, [40, SEQ, 4]);
    assert.equal(s.seqDtype, 'float64');
    assert.deepEqual(s.firstSequence, e.firstSequence);
    assert.equal(s.tsDtype, 'int64');
    assert.deepEqual(s.timestamps, e.timestamps);
    assert.equal(s.labelsDtype, 'int8');
    assert.deepEqual(s.labels, e.labels);
    assert.equal(s.returnsNan, Array.from(f.labels).filter((l) => l < 0).length);
    assert.equal(s.symbol, 'TESTUSDT');
    assert.deepEqual(s.horizons, HORIZONS);
    assert.equal(s.seq_len, SEQ);
  }

  it('h5py reads the HDF5 file, and images use the deflate filter with one image per chunk', (t) => {
    if (!findPython()) return t.skip('python3 with h5py/numpy/zarr not installed (scripts/setup.sh --test)');
    const s = runPython<Record<string, unknown>>(
      `${SUMMARY}
import h5py
f = h5py.File(sys.argv[1], 'r')
d = summary(f['images'][:], f['sequences'][:], f['timestamps'][:], f['labels'][:], f['returns'][:], dict(f.attrs))
d['compression'] = f['images'].compression
d['chunks'] = list(f['images'].chunks)
d['one'] = int(f['images'][7].sum())
d['configType'] = type(f.attrs['created_at']).__name__
print(json.dumps(d))`,
      [files.hdf5!],
    );
    check(s);
    assert.equal(s.compression, 'gzip');
    assert.deepEqual(s.chunks, [1, H, 4 * SEQ]);
    assert.equal(s.one, expected().imageSums[7]);
    assert.equal(s.configType, 'str');
  });

  it('h5dump lists the datasets, the deflate filter and the attributes', (t) => {
    if (!hasCommand('h5dump')) return t.skip('h5dump not installed (hdf5-tools)');
    const r = spawnSync('h5dump', ['-H', '-p', files.hdf5!], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const name of ['images', 'sequences', 'timestamps', 'labels', 'returns']) assert.match(r.stdout, new RegExp(`DATASET "${name}"`));
    assert.match(r.stdout, /DATASET "images" \{[^]*?CHUNKED \( 1, 48, 80 \)[^]*?FILTERS \{\s*COMPRESSION DEFLATE/);
    assert.match(r.stdout, /ATTRIBUTE "layout"/);
    const data = spawnSync('h5dump', ['-d', 'timestamps', files.hdf5!], { encoding: 'utf8' });
    assert.equal(data.status, 0, data.stderr);
    assert.match(data.stdout, new RegExp(String(f.timestamps[0])));
  });

  it('numpy.load reads the NPZ without pickle', (t) => {
    if (!findPython()) return t.skip('python3 with h5py/numpy/zarr not installed');
    const s = runPython<Record<string, unknown>>(
      `${SUMMARY}
f = np.load(sys.argv[1], allow_pickle=False)
meta = json.loads(f['metadata'].item())
d = summary(f['images'], f['sequences'], f['timestamps'], f['labels'], f['returns'], meta)
d['files'] = sorted(f.files)
print(json.dumps(d))`,
      [files.npz!],
    );
    check(s);
    assert.deepEqual(s.files, ['images', 'labels', 'metadata', 'returns', 'sequences', 'timestamps']);
  });

  it('zarr-python opens the Zarr store', (t) => {
    if (!findPython()) return t.skip('python3 with h5py/numpy/zarr not installed');
    const s = runPython<Record<string, unknown>>(
      `${SUMMARY}
import zarr
g = zarr.open(sys.argv[1], mode='r')
d = summary(g['images'][:], g['sequences'][:], g['timestamps'][:], g['labels'][:], g['returns'][:], dict(g.attrs))
d['one'] = int(g['images'][7].sum())
d['chunks'] = list(g['images'].chunks)
print(json.dumps(d))`,
      [files.zarr!],
    );
    check(s);
    assert.equal(s.one, expected().imageSums[7]);
    assert.deepEqual(s.chunks, [1, H, 4 * SEQ]);
  });

  it('PNG pictures are 1-bit grayscale, white 255 / black 0, with the arrays in arrays.npz', async (t) => {
    const folder = files.png!;
    const names = readdirSync(folder).sort();
    assert.equal(names.filter((n) => n.endsWith('.png')).length, 40);
    assert.ok(names.includes('000000000.png') && names.includes('000000039.png'));
    assert.ok(names.includes('metadata.json') && names.includes('arrays.npz'));
    const png = readFileSync(join(folder, '000000007.png'));
    assert.equal(png[24], 1, 'bit depth 1');
    assert.equal(png[25], 0, 'colour type grayscale');
    const { PNG } = await import('pngjs');
    const img = PNG.sync.read(png);
    let white = 0;
    for (let p = 0; p < PIXELS; p++) {
      assert.ok(img.data[4 * p] === 0 || img.data[4 * p] === 255);
      if (img.data[4 * p] === 255) white++;
    }
    assert.equal(white, expected().imageSums[7]);
    if (!findPython()) return t.skip('python3 not installed for the sidecar check');
    const s = runPython<{ files: string[]; ts: number[] }>(
      `import json, sys, numpy as np
f = np.load(sys.argv[1], allow_pickle=False)
print(json.dumps(dict(files=sorted(f.files), ts=[int(x) for x in f['timestamps']])))`,
      [join(folder, 'arrays.npz')],
    );
    assert.deepEqual(s.files, ['labels', 'metadata', 'returns', 'sequences', 'timestamps']);
    assert.deepEqual(s.ts, Array.from(f.timestamps));
  });
});

describe('storage: nothing half-written under a final name', () => {
  const f = fixture(30, 4);
  const leftovers = (d: string) => readdirSync(d).filter((n) => n.includes('.partial'));

  for (const format of FORMATS) {
    it(`${format}: abort() removes the output in progress`, async () => {
      const sub = mkdtempSync(join(dir, `abort-${format}-`));
      const w = await createDatasetWriter(join(sub, 'out'), { format, seqLen: SEQ, height: H });
      await w.append({ candles: f.candles, starts: f.starts, timestamps: f.timestamps });
      assert.ok(leftovers(sub).length >= 1, 'the output is being written under a temporary name');
      assert.deepEqual(readdirSync(sub).filter((n) => !n.includes('.partial')), []);
      await w.abort();
      assert.deepEqual(readdirSync(sub), []);
      await assert.rejects(w.append({ candles: f.candles, starts: f.starts, timestamps: f.timestamps }), /closed/);
    });
  }

  it('an AbortSignal stops an append and aborts the writer', async () => {
    const sub = mkdtempSync(join(dir, 'signal-'));
    const w = await createDatasetWriter(join(sub, 'out.h5'), { seqLen: SEQ, height: H });
    await assert.rejects(w.append({ candles: f.candles, starts: f.starts, timestamps: f.timestamps }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
    await w.abort();
    assert.deepEqual(readdirSync(sub), []);
  });

  it('a failing append (invalid price) drops the output and says so', async () => {
    const sub = mkdtempSync(join(dir, 'fail-'));
    const bad = fixture(10, 5);
    bad.candles.low[4] = NaN;
    const w = await createDatasetWriter(join(sub, 'out.h5'), { seqLen: SEQ, height: H });
    await assert.rejects(w.append({ candles: bad.candles, starts: bad.starts, timestamps: bad.timestamps }), /candle 4 has low = NaN/);
    await assert.rejects(w.close(), /failed earlier/);
    assert.deepEqual(readdirSync(sub), []);
  });

  it('a process killed mid-write leaves no file under the final name', async () => {
    const sub = mkdtempSync(join(dir, 'kill-'));
    const script = join(sub, 'writer.mts');
    const index = fileURLToPath(new URL('../ts/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { createDatasetWriter, rasterize } from ${JSON.stringify(index)};
const n = 400, o = new Float64Array(n).fill(1).map((v, i) => 100 + Math.sin(i));
const c = { open: o, high: o.map((v) => v + 1), low: o.map((v) => v - 1), close: o };
const starts = Int32Array.from({ length: 300 }, (_, i) => i);
const timestamps = Float64Array.from(starts, (s) => s * 60000);
for (const format of ['hdf5', 'npz', 'zarr', 'png']) {
  const w = await createDatasetWriter(${JSON.stringify(sub)} + '/out-' + format, { format, seqLen: 50, height: 200 });
  await w.append({ candles: c, starts, timestamps });
}
process.stdout.write('appended\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('appended') && resolve());
      child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const names = readdirSync(sub).filter((n) => n !== 'writer.mts');
    assert.ok(names.length >= 4, 'the writers had started');
    for (const n of names) assert.match(n, /^\.out-(hdf5\.h5|npz\.npz|zarr\.zarr|png_png)\.\d+-\w+\.partial(\.\w+)?$/);
    for (const format of ['hdf5', 'npz', 'zarr', 'png'] as const) {
      await assert.rejects(loadImagesFromStorage(join(sub, `out-${format}`), format), /does not exist/);
    }
  });

  it('replacing a batch set removes files of the old run beyond the new last one', async () => {
    const stem = join(dir, 'shrinking');
    for (const [count, expectFiles] of [[30, 3], [15, 2]] as const) {
      const w = await createDatasetWriter(stem, { seqLen: SEQ, height: H, mode: 'batch', imagesPerFile: 10, overwrite: true });
      await w.append({ candles: f.candles, starts: f.starts.subarray(0, count), timestamps: f.timestamps.subarray(0, count) });
      const r = await w.close();
      assert.equal(r.files.length, expectFiles);
    }
    assert.equal(existsSync(`${stem}_00002.h5`), false);
    assert.equal((await loadImagesFromStorage(stem)).total, 15);
  });

  it('names the window of the whole append when a batch is split across files', async () => {
    const sub = mkdtempSync(join(dir, 'split-'));
    const bad = fixture(30, 9);
    bad.candles.high[45] = Infinity; // in windows 25.. only (window 23, the last to end before, ends at 44)
    const w = await createDatasetWriter(join(sub, 'split'), { seqLen: SEQ, height: H, mode: 'batch', imagesPerFile: 10 });
    await assert.rejects(w.append({ candles: bad.candles, starts: bad.starts, timestamps: bad.timestamps }), (e: Error & { window?: number }) => {
      assert.match(e.message, /^window 25 \(candles /);
      assert.equal(e.window, 25);
      return true;
    });
  });

  it('keeps large and fractional metadata numbers exact', async () => {
    const w = await createDatasetWriter(join(dir, 'meta-numbers.h5'), { seqLen: SEQ, height: H, metadata: { big: 1e20, neg: -(2 ** 53), frac: 0.1, list: [1, 2 ** 60] } });
    const { files } = await w.close();
    const m = (await loadImagesFromStorage(files[0], { indices: [] })).metadata;
    assert.equal(m.big, 1e20);
    assert.equal(m.neg, -(2 ** 53));
    assert.equal(m.frac, 0.1);
    assert.deepEqual(m.list, [1, 2 ** 60]);
  });

  it('refuses to overwrite an existing output unless asked', async () => {
    const p = join(dir, 'exists.h5');
    for (const overwrite of [false, true]) {
      const w = await createDatasetWriter(p, { seqLen: SEQ, height: H, overwrite: true });
      await w.append({ candles: f.candles, starts: f.starts.subarray(0, 2 + Number(overwrite)), timestamps: f.timestamps.subarray(0, 2 + Number(overwrite)) });
      await w.close();
    }
    await assert.rejects(createDatasetWriter(p, { seqLen: SEQ, height: H }), /exists\.h5 already exists \(pass overwrite: true to replace it\)/);
    assert.equal((await loadImagesFromStorage(p)).total, 3);
  });
});

describe('storage: broken files fail to load with a clear error', () => {
  const f = fixture(30, 6);
  let h5: string;
  let npz: string;
  let zarrDir: string;
  let pngDir: string;
  before(async () => {
    h5 = (await writeAll(join(dir, 'broken-src'), 'hdf5', f)).files[0];
    npz = (await writeAll(join(dir, 'broken-src'), 'npz', f)).files[0];
    zarrDir = (await writeAll(join(dir, 'broken-src'), 'zarr', f, { zarrFormat: 2 })).files[0];
    pngDir = (await writeAll(join(dir, 'broken-src'), 'png', f)).files[0];
  });

  it('a truncated HDF5 file', async () => {
    const p = join(dir, 'trunc.h5');
    writeFileSync(p, readFileSync(h5).subarray(0, Math.floor(statSync(h5).size / 2)));
    await assert.rejects(loadImagesFromStorage(p), /trunc\.h5.*(cannot be opened|truncated|cannot read|corrupt)/i);
  });

  it('a truncated NPZ file', async () => {
    const p = join(dir, 'trunc.npz');
    writeFileSync(p, readFileSync(npz).subarray(0, Math.floor(statSync(npz).size / 2)));
    await assert.rejects(loadImagesFromStorage(p), /trunc\.npz is not a ZIP\/NPZ archive .*truncated/);
  });

  it('an NPZ whose images member is cut short', async () => {
    const p = join(dir, 'cut.npz');
    const bytes = Buffer.from(readFileSync(npz));
    bytes.fill(0, 400, 2000); // inside the images deflate stream
    writeFileSync(p, bytes);
    await assert.rejects(loadImagesFromStorage(p), /cut\.npz: member images\.npy is (corrupt|truncated)/);
  });

  it('a file of another format, and garbage', async () => {
    await assert.rejects(loadImagesFromStorage(npz, 'hdf5'), /is not an HDF5 file/);
    await assert.rejects(loadImagesFromStorage(h5, 'npz'), /is not a ZIP\/NPZ archive/);
    const junk = join(dir, 'junk.h5');
    writeFileSync(junk, 'not really hdf5');
    await assert.rejects(loadImagesFromStorage(junk), /junk\.h5 is not an HDF5 file/);
    const other = join(dir, 'other.npz');
    const z = spawnSync('zip', ['-q', '-j', other, junk]);
    if (z.status === 0) await assert.rejects(loadImagesFromStorage(other), /has no 'images' array: not an ohlc-native dataset/);
  });

  it('a Zarr store with a chunk missing its metadata, and a broken picture', async () => {
    rmSync(join(zarrDir, 'images', '.zarray'));
    await assert.rejects(loadImagesFromStorage(zarrDir), /has no 'images' array/);
    writeFileSync(join(pngDir, '000000003.png'), 'garbage');
    await assert.rejects(loadImagesFromStorage(pngDir, { indices: [3] }), /000000003\.png is not a valid PNG/);
    assert.equal((await loadImagesFromStorage(pngDir, { indices: [4] })).total, 30, 'other pictures still load');
  });

  it('a missing file, and indices out of range', async () => {
    await assert.rejects(loadImagesFromStorage(join(dir, 'missing.h5')), /missing\.h5 does not exist/);
    await assert.rejects(loadImagesFromStorage(h5, { indices: [30] }), (e: Error) => e instanceof RangeError && /below 30 \(the dataset holds 30 images\) for indices\[0\] but received 30/.test(e.message));
    await assert.rejects(loadImagesFromStorage(h5, { indices: { start: 5, end: 31 } }), RangeError);
    await assert.rejects(loadImagesFromStorage(h5, { indices: [-1] }), RangeError);
    await assert.rejects(loadImagesFromStorage(h5, 'tiff' as never), /for format but received "tiff"/);
  });
});

describe('storage: declared shapes, types and sizes are checked before anything is allocated', () => {
  const f = fixture(30, 8);
  let h5: string;
  let npz: string;
  let zarrDir: string;
  before(async () => {
    h5 = (await writeAll(join(dir, 'declared-src'), 'hdf5', f)).files[0];
    npz = (await writeAll(join(dir, 'declared-src'), 'npz', f)).files[0];
    zarrDir = (await writeAll(join(dir, 'declared-src'), 'zarr', f, { zarrFormat: 2 })).files[0];
  });

  /** Fails with ERR_OHLC_STORAGE, naming `file` and matching `message`. */
  async function refuses(load: Promise<unknown>, file: string, message: RegExp): Promise<void> {
    await assert.rejects(load, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_STORAGE', err.message);
      assert.ok(err.message.includes(file), `names ${file}: ${err.message}`);
      assert.match(err.message, message);
      return true;
    });
  }

  /** A copy of the Zarr store with `edit` applied to array `name`'s .zarray. */
  function zarrWith(label: string, name: string, edit: (zarray: Record<string, unknown>) => void): string {
    const copy = join(dir, `declared-${label}.zarr`);
    cpSync(zarrDir, copy, { recursive: true });
    editJson(join(copy, name, '.zarray'), edit);
    return copy;
  }

  it('Zarr: shapes that are negative, fractional or disagree with the metadata or each other', async () => {
    const cases: Array<[string, string, (z: Record<string, unknown>) => void, RegExp]> = [
      ['negative', 'images', (z) => (z.shape = [-5, H, 4 * SEQ]), /array 'images' has shape \[-5, 48, 80\]: sizes must be whole numbers/],
      ['fractional', 'images', (z) => (z.shape = [2.5, H, 4 * SEQ]), /array 'images' has shape \[2\.5, 48, 80\]: sizes must be whole numbers/],
      ['wide', 'images', (z) => (z.shape = [30, H, 4 * SEQ + 1]), /array 'images' has shape \[30, 48, 81\], expected \[N, 48, 80\]/],
      ['flat', 'images', (z) => ((z.shape = [30, H * 4 * SEQ]), (z.chunks = [1, H * 4 * SEQ])), /array 'images' has shape \[30, 3840\], expected \[N, 48, 80\]/],
      ['short', 'sequences', (z) => (z.shape = [29, SEQ, 4]), /array 'sequences' has 29 rows, but 'images' has 30/],
      ['labels', 'labels', (z) => (z.shape = [30, 3]), /array 'labels' has shape \[30, 3\], expected \[N, 2\]/],
      ['dtype', 'images', (z) => (z.dtype = '<i4'), /array 'images' holds int32, expected uint8/],
      ['ts-dtype', 'timestamps', (z) => (z.dtype = '<f8'), /array 'timestamps' holds float64, expected int64/],
      ['chunks', 'images', (z) => (z.chunks = [0, H, 4 * SEQ]), /array 'images' has chunks \[0, 48, 80\]: .*positive whole numbers/],
      ['chunk-rank', 'images', (z) => (z.chunks = [1, H]), /array 'images' has chunks \[1, 48\]: .*one per dimension/],
      ['codec', 'images', (z) => (z.compressor = { id: 'lzma' }), /array 'images' is compressed with "lzma"; .*zlib, gzip or none/],
    ];
    for (const [label, name, edit, message] of cases) {
      const copy = zarrWith(label, name, edit);
      await refuses(loadImagesFromStorage(copy, { indices: [] }), copy, message);
    }
  });

  it('Zarr: a chunk file too small for what it would decode to, and a broken chunk, name the file', async () => {
    // The chunks are zlib-compressed; with no compressor each file would have to hold all 3840 bytes.
    const stored = zarrWith('stored', 'images', (z) => (z.compressor = null));
    await refuses(loadImagesFromStorage(stored, { indices: [2] }), join(stored, 'images', '2.0.0'), /holds \d+ bytes, too few for a chunk of 3840 bytes \(compressor none\)/);
    const broken = zarrWith('broken', 'images', () => {});
    writeFileSync(join(broken, 'images', '3.0.0'), 'not zlib at all');
    await refuses(loadImagesFromStorage(broken, { indices: [3] }), broken, /array 'images', rows 3\.\.3: .*the store is damaged there/);
  });

  it('Zarr: metadata without a usable height', async () => {
    const copy = join(dir, 'declared-meta.zarr');
    cpSync(zarrDir, copy, { recursive: true });
    editJson(join(copy, '.zattrs'), (m) => (m.height = -48));
    await refuses(loadImagesFromStorage(copy, { indices: [] }), copy, /its metadata has no usable height \(-48\)/);
  });

  it('NPZ: a .npy header claiming 4 GB fails at once, without allocating it', async () => {
    for (const [label, shape] of [['rows', [1118482, H, 4 * SEQ]], ['row', [30, 65536, 65536]]] as const) {
      const p = join(dir, `declared-4gb-${label}.npz`);
      await rewriteNpzMember(npz, p, 'images.npy', (d) => withNpyShape(d, [...shape]));
      for (const indices of [[], [0]]) {
        const r = loadInChild(p, indices);
        assert.equal(r.code, 'ERR_OHLC_STORAGE', r.message);
        assert.match(r.message, new RegExp(`${p.replace(/[.]/g, '\\.')}: images\\.npy declares shape \\[${shape.join(', ')}\\] of uint8 \\(\\d+ bytes\\), more than the \\d+ bytes its member holds`));
        assert.ok(r.peakMiB < 400, `peak memory ${r.peakMiB.toFixed(0)} MiB`);
        assert.ok(r.ms < 5000, `took ${r.ms} ms`);
      }
    }
  });

  it('NPZ: a member claiming more bytes than its compressed data can inflate to', async () => {
    const p = join(dir, 'declared-member.npz');
    await rewriteNpzMember(npz, p, 'images.npy', (d) => d); // yazl's plain (not ZIP64) size fields
    patchZipUncompressedSize(p, 'images.npy', 0xf0000000);
    await refuses(loadImagesFromStorage(p, { indices: [] }), p, /member images\.npy claims 4026531840 bytes, more than its \d+ compressed bytes can inflate to/);
  });

  it('NPZ: shapes of the right size that disagree with the metadata', async () => {
    const p = join(dir, 'declared-transposed.npz');
    await rewriteNpzMember(npz, p, 'images.npy', (d) => withNpyShape(d, [30, 4 * SEQ, H]));
    await refuses(loadImagesFromStorage(p, { indices: [] }), p, /array 'images' has shape \[30, 80, 48\], expected \[N, 48, 80\] \(height and width in its metadata\)/);
  });

  const H5_DAMAGE = `
import h5py, json, numpy as np, shutil, sys
src, dst, mode = sys.argv[1:4]
shutil.copy(src, dst)
with h5py.File(dst, 'r+') as f:
    del f['images']
    if mode == 'wide':
        f.create_dataset('images', data=np.zeros((30, ${H}, ${4 * SEQ + 1}), np.uint8))
    else:  # 4 GB declared, no chunk written
        f.create_dataset('images', shape=(1118482, ${H}, ${4 * SEQ}), chunks=(1, ${H}, ${4 * SEQ}), dtype='u1', compression='gzip')
print(json.dumps({}))
`;

  it('HDF5: an images dataset whose shape disagrees with the metadata, or that declares 4 GB it does not hold', async (t) => {
    if (!findPython()) return t.skip('no python3 with h5py');
    const wide = join(dir, 'declared-wide.h5');
    runPython(H5_DAMAGE, [h5, wide, 'wide']);
    await refuses(loadImagesFromStorage(wide, { indices: [] }), wide, /array 'images' has shape \[30, 48, 81\], expected \[N, 48, 80\]/);
    const huge = join(dir, 'declared-huge.h5');
    runPython(H5_DAMAGE, [h5, huge, 'huge']);
    const r = loadInChild(huge, [0]);
    assert.equal(r.code, 'ERR_OHLC_STORAGE', r.message);
    assert.match(r.message, /declared-huge\.h5: dataset images declares shape \[1118482, 48, 80\] of uint8 \(4294970880 bytes\), more than the \d+ bytes the file holds for it/);
    assert.ok(r.peakMiB < 400, `peak memory ${r.peakMiB.toFixed(0)} MiB`);
  });

  it('the CLI inspect exits 1 (not by a signal), quickly, naming the file', async (t) => {
    const files = [join(dir, 'declared-4gb-rows.npz'), join(dir, 'declared-negative.zarr')];
    if (findPython()) files.push(join(dir, 'declared-huge.h5'), join(dir, 'declared-wide.h5'));
    for (const file of files) {
      if (!existsSync(file)) return t.skip('run with the tests above');
      const started = Date.now();
      const r = runCli(['inspect', file, '--png', join(dir, 'declared.png')], dir);
      assert.equal(r.status, 1, `${file}: ${r.stderr}`);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.ok(Date.now() - started < 5000, `${file}: took ${Date.now() - started} ms`);
    }
  });
});

// Opening a FIFO blocks until something writes to it; a socket or a device never ends. Each test
// has a timeout and every FIFO is released after, so code that opens one fails instead of hanging.
describe('storage: only regular files, and folders where one is expected, are opened', () => {
  const f = fixture(6, 9);
  let zarrDir: string;
  let pngDir: string;
  const fifos: string[] = [];
  const fifo = (path: string) => {
    rmSync(path, { recursive: true, force: true });
    fifos.push(makeFifo(path));
    return path;
  };
  before(async () => {
    zarrDir = (await writeAll(join(dir, 'special-src'), 'zarr', f, { zarrFormat: 2 })).files[0];
    pngDir = (await writeAll(join(dir, 'special-src'), 'png', f)).files[0];
  });
  after(() => fifos.forEach(releaseFifo));

  /** Fails with ERR_OHLC_STORAGE within a second, naming `file` and what it is. */
  async function refusesPromptly(load: Promise<unknown>, file: string, message: RegExp): Promise<void> {
    const started = Date.now();
    await assert.rejects(load, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_STORAGE', err.message);
      assert.ok(err.message.includes(file), `names ${file}: ${err.message}`);
      assert.match(err.message, message);
      return true;
    });
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  }

  it('a FIFO, a socket or a device given as an HDF5 or NPZ file', { timeout: 10_000 }, async (t) => {
    if (!hasCommand('mkfifo')) return t.skip('no mkfifo');
    const h5 = fifo(join(dir, 'pipe.h5'));
    await refusesPromptly(loadImagesFromStorage(h5), h5, /^Dataset file \S+ is a FIFO \(named pipe\), not a regular file$/);
    const npz = fifo(join(dir, 'pipe.npz'));
    await refusesPromptly(loadImagesFromStorage(npz), npz, /is a FIFO \(named pipe\), not a regular file/);
    await refusesPromptly(loadImagesFromStorage('/dev/null', 'hdf5'), '/dev/null', /is a character device, not a regular file/);
    const sock = join(dir, 'sock.npz');
    const server = await makeSocket(sock);
    try {
      await refusesPromptly(loadImagesFromStorage(sock), sock, /is a socket, not a regular file/);
    } finally {
      server.close();
    }
  });

  it('a FIFO where a Zarr store, its metadata or a chunk should be', { timeout: 10_000 }, async (t) => {
    if (!hasCommand('mkfifo')) return t.skip('no mkfifo');
    const store = fifo(join(dir, 'pipe.zarr'));
    await refusesPromptly(loadImagesFromStorage(store), store, /Zarr store \S+ is a FIFO \(named pipe\), not a directory/);
    for (const member of ['.zattrs', join('images', '.zarray'), join('sequences', '.zattrs'), join('images', '2.0.0')]) {
      const copy = join(dir, `special-${member.replace(/\W+/g, '-')}.zarr`);
      cpSync(zarrDir, copy, { recursive: true });
      const file = fifo(join(copy, member));
      await refusesPromptly(loadImagesFromStorage(copy, { indices: [2] }), file, /is a FIFO \(named pipe\), not a regular file/);
    }
  });

  it("a FIFO where a picture folder's metadata.json, arrays.npz or a picture should be", { timeout: 10_000 }, async (t) => {
    if (!hasCommand('mkfifo')) return t.skip('no mkfifo');
    for (const member of ['metadata.json', 'arrays.npz', '000000003.png']) {
      const copy = join(dir, `special-${member.replace(/\W+/g, '-')}`);
      cpSync(pngDir, copy, { recursive: true });
      const file = fifo(join(copy, member));
      await refusesPromptly(loadImagesFromStorage(copy, 'png', { indices: [3] }), file, /is a FIFO \(named pipe\), not a regular file/);
    }
  });

  it('the CLI inspect of a FIFO exits 1 at once, naming it', { timeout: 20_000 }, (t) => {
    if (!hasCommand('mkfifo')) return t.skip('no mkfifo');
    const h5 = fifo(join(dir, 'cli-pipe.h5'));
    const started = Date.now();
    const r = runCli(['inspect', h5], dir, {}, 10_000);
    assert.equal(r.signal, null, 'not killed');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cli-pipe\.h5 is a FIFO \(named pipe\), not a regular file/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });
});

describe('storage: bad arguments', () => {
  const f = fixture(4, 7);
  const ok = { seqLen: SEQ, height: H };
  it('createDatasetWriter names each bad option', async () => {
    const p = join(dir, 'args.h5');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...ok, format: 'tiff' }, /for format but received "tiff"/],
      [{ ...ok, mode: 'many' }, /for mode but received "many"/],
      [{ ...ok, imagesPerFile: 0 }, /integer >= 1 for imagesPerFile but received 0/],
      [{ ...ok, seqLen: 0 }, /for seqLen but received 0/],
      [{ ...ok, height: 1 }, /for height but received 1/],
      [{ ...ok, dtype: 'int16' }, /for dtype/],
      [{ ...ok, horizons: [0] }, /for horizons\[0\] but received 0/],
      [{ ...ok, horizons: 5 }, /array of positive integers for horizons/],
      [{ ...ok, compression: 13 }, /between 1 and 12 for compression but received 13/],
      [{ ...ok, compression: 'zstd' }, /for compression but received "zstd"/],
      [{ ...ok, quality: 101 }, /for quality/],
      [{ ...ok, metadata: 'x' }, /an object for metadata/],
      [{ ...ok, colour: 1 }, /options\.colour/],
    ];
    for (const [options, message] of cases) await assert.rejects(createDatasetWriter(p, options as never), message);
    await assert.rejects(createDatasetWriter(42 as never, ok), /non-empty string for path but received 42/);
    assert.equal(existsSync(p), false);
  });

  it('append names each bad batch field, and the writer stays usable', async () => {
    const w = await createDatasetWriter(join(dir, 'append-args.h5'), { ...ok, horizons: [1] });
    const base = { candles: f.candles, starts: f.starts, timestamps: f.timestamps, labels: new Int8Array(4), returns: new Float64Array(4) };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, timestamps: [1, 2] }, /Float64Array or BigInt64Array of ms since the epoch for batch\.timestamps/],
      [{ ...base, timestamps: new Float64Array([1.5, 2, 3, 4]) }, /integer number of ms for batch\.timestamps\[0\] but received 1\.5/],
      [{ ...base, starts: Int32Array.from([0, 1, 2]) }, /4 starts \(one per timestamp\) for batch\.starts/],
      [{ ...base, starts: Int32Array.from([0, 1, 2, 1000]) }, /start between 0 and \d+ for batch\.starts\[3\] but received 1000/],
      [{ ...base, labels: new Int8Array(3) }, /Int8Array of 4 elements \(count x 1 horizons\) for batch\.labels/],
      [{ ...base, returns: undefined }, /for batch\.returns/],
      [{ timestamps: f.timestamps, labels: base.labels, returns: base.returns }, /images \(with sequences\) or candles \(with starts\) for batch\.images/],
      [{ ...base, candles: undefined, images: new Uint8Array(10), sequences: new Float64Array(4 * SEQ * 4) }, /4 images of 48x80 .* for batch\.images but received Uint8Array\(10\)/],
      [{ ...base, candles: undefined, images: new Float32Array(4 * PIXELS), sequences: new Float64Array(4 * SEQ * 4) }, /a Uint8Array \(dtype uint8\) for batch\.images/],
      [{ ...base, candles: undefined, starts: undefined, images: new Uint8Array(4 * PIXELS) }, /for batch\.sequences but received undefined/],
      [{ ...base, candles: undefined }, /the candles the starts refer to for batch\.candles/],
      [{ ...base, extra: 1 }, /batch\.extra/],
    ];
    for (const [batch, message] of cases) await assert.rejects(w.append(batch as never), message);
    await w.append(base);
    const { count } = await w.close();
    assert.equal(count, 4);
  });
});
