// The writer's fused path (candle windows encoded straight from their bars, never drawn) against
// the path that draws and then encodes the pixels (OHLC_IMAGE_ENCODER=geometry / =pixels; the
// writer's own choice goes by image size, and most images here are small): the same windows
// of every kind go into HDF5, Zarr and NPZ both ways, and the arrays the stock readers (h5py,
// zarr, numpy) and the package's loader read back must equal each other and rasterize()'s images.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDatasetWriter, loadImagesFromStorage, rasterize, type StorageFormat } from '../ts/index.js';
import { findPython, runPython } from './helpers/python.js';
import { randomWalk, rng, type Columns } from './helpers/random.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ohlc-geometry-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Family {
  name: string;
  seqLen: number;
  height: number;
  count: number;
  candles: (rand: () => number, n: number) => Columns;
}

function flat(n: number, price: number): Columns {
  const col = () => new Float64Array(n).fill(price);
  return { open: col(), high: col(), low: col(), close: col() };
}

// Prices a few ulps apart: the window's range is tiny but not zero.
function oneUlp(rand: () => number, n: number): Columns {
  const c = flat(n, 1234.5678);
  const up = (v: number, k: number) => {
    const b = new Float64Array([v]);
    const u = new BigInt64Array(b.buffer);
    u[0] += BigInt(k);
    return b[0];
  };
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * 3);
    c.low[i] = up(c.low[i], k);
    c.open[i] = up(c.low[i], Math.floor(rand() * 2));
    c.close[i] = up(c.low[i], Math.floor(rand() * 2));
    c.high[i] = up(c.low[i], 2 + Math.floor(rand() * 2));
  }
  return c;
}

// Every candle somewhere in 1e-300..1e300: a window's range spans most of the doubles.
function extreme(rand: () => number, n: number): Columns {
  const c = flat(n, 1);
  for (let i = 0; i < n; i++) {
    const p = 10 ** (rand() * 600 - 300);
    c.high[i] = p * (1 + rand());
    c.low[i] = p / (1 + rand());
    c.open[i] = c.low[i] + (c.high[i] - c.low[i]) * rand();
    c.close[i] = c.low[i] + (c.high[i] - c.low[i]) * rand();
  }
  return c;
}

// Opens and closes outside high-low, and candles with high < low.
function malformed(rand: () => number, n: number): Columns {
  const c = randomWalk(n, rand, 50, 0.03);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.2) c.open[i] = c.high[i] * (1 + rand() * 0.05);
    else if (r < 0.4) c.close[i] = c.low[i] * (1 - rand() * 0.05);
    else if (r < 0.5) [c.high[i], c.low[i]] = [c.low[i], c.high[i]];
  }
  return c;
}

const FAMILIES: Family[] = [
  { name: 'random walk', seqLen: 40, height: 96, count: 70, candles: (r, n) => randomWalk(n, r) },
  { name: 'flat', seqLen: 30, height: 50, count: 20, candles: (_, n) => flat(n, 7.25) },
  { name: 'one-ulp', seqLen: 25, height: 64, count: 30, candles: oneUlp },
  { name: 'extreme range', seqLen: 20, height: 200, count: 30, candles: extreme },
  { name: 'huge prices', seqLen: 20, height: 120, count: 30, candles: (r, n) => randomWalk(n, r, 1e300, 0.5) },
  { name: 'seqLen 1', seqLen: 1, height: 33, count: 40, candles: (r, n) => randomWalk(n, r) },
  { name: 'height 2', seqLen: 17, height: 2, count: 40, candles: (r, n) => randomWalk(n, r) },
  { name: 'height 4000', seqLen: 6, height: 4000, count: 6, candles: (r, n) => randomWalk(n, r, 100, 0.05) },
  { name: 'malformed candles', seqLen: 30, height: 80, count: 50, candles: malformed },
];

// 'zarr3': Zarr format 3 (gzip members in shards), read by the package's loader only (the stock
// zarr here is zarr-python 2); 'zarr' is format 2, read by zarr-python too.
const FORMATS = ['hdf5', 'zarr', 'zarr3', 'npz'] as const;
const EXT: Record<string, string> = { hdf5: 'h5', zarr: 'zarr', zarr3: 'zarr', npz: 'npz' };

interface JkxOptions {
  volume: boolean;
  ma: number;
  maOk?: Uint8Array;
}

type ImageEncoder = 'geometry' | 'pixels' | 'auto';

async function write(path: string, variant: (typeof FORMATS)[number], f: Family, dtype: 'uint8' | 'float32', c: Columns, starts: Int32Array, encoder: ImageEncoder, jkx?: JkxOptions) {
  if (encoder === 'auto') delete process.env.OHLC_IMAGE_ENCODER;
  else process.env.OHLC_IMAGE_ENCODER = encoder;
  try {
    const format: StorageFormat = variant === 'zarr3' ? 'zarr' : variant;
    const zarrFormat = variant === 'zarr3' ? 3 : 2;
    const layout = jkx ? { layout: 'jkx' as const, volume: jkx.volume, ma: jkx.ma } : {};
    const w = await createDatasetWriter(path, { format, ...(format === 'zarr' ? { zarrFormat } : {}), seqLen: f.seqLen, height: f.height, dtype, threads: 2, ...layout, metadata: { symbol: 'TESTUSDT', interval: '1m', stride: 1 } });
    // Uneven appends, so slices and chunk boundaries fall in different places.
    const cuts = [0, 1, Math.floor(starts.length / 3), starts.length];
    for (let k = 0; k + 1 < cuts.length; k++) {
      const part = starts.subarray(cuts[k], cuts[k + 1]);
      const timestamps = Float64Array.from(part, (s) => 1_600_000_000_000 + s * 60_000);
      const maOk = jkx?.maOk?.subarray(cuts[k], cuts[k + 1]);
      await w.append({ candles: c, starts: part, timestamps, ...(maOk ? { maOk } : {}) });
    }
    return await w.close();
  } finally {
    delete process.env.OHLC_IMAGE_ENCODER;
  }
}

// Reads both files' images with the stock reader and compares them with each other and with the
// raw reference; reports the stored bytes of the images of each.
const COMPARE = `
import sys, json, os, numpy as np
fmt, fused, old, ref, dtype, n, h, w = sys.argv[1:9]
shape = (int(n), int(h), int(w))
want = np.fromfile(ref, dtype=dtype).reshape(shape)
def load(p):
    if fmt == 'hdf5':
        import h5py
        with h5py.File(p, 'r') as f:
            d = f['images']
            return d[...], sum(d.id.get_chunk_info(i).size for i in range(d.id.get_num_chunks()))
    if fmt == 'zarr':
        import zarr
        a = zarr.open(p, mode='r')['images']
        size = sum(os.path.getsize(os.path.join(p, 'images', k)) for k in os.listdir(os.path.join(p, 'images')) if not k.startswith('.'))
        return a[...], size
    import zipfile
    with zipfile.ZipFile(p) as z:
        size = z.getinfo('images.npy').compress_size
    return np.load(p)['images'], size
a, sa = load(fused)
b, sb = load(old)
print(json.dumps({'fused_equal': bool(a.dtype == want.dtype and a.shape == want.shape and np.array_equal(a, want)),
                  'old_equal': bool(b.dtype == want.dtype and b.shape == want.shape and np.array_equal(b, want)),
                  'fused_bytes': int(sa), 'old_bytes': int(sb)}))
`;

describe('writer: images encoded from geometry equal the drawn ones', { skip: findPython() ? false : 'no python3 with h5py, numpy and zarr' }, () => {
  let seed = 1;
  for (const dtype of ['uint8', 'float32'] as const) {
    for (const f of FAMILIES) {
      const s = seed++;
      it(`${f.name}, ${dtype} (seed ${s})`, async () => {
        const rand = rng(s);
        const n = f.count + f.seqLen + 3;
        const c = f.candles(rand, n);
        const starts = Int32Array.from({ length: f.count }, () => Math.floor(rand() * (n - f.seqLen + 1)));
        const { images } = rasterize(c, { seqLen: f.seqLen, height: f.height, starts, dtype });
        const ref = join(dir, `ref-${s}.bin`);
        writeFileSync(ref, new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
        for (const format of FORMATS) {
          const fused = join(dir, `fused-${s}.${EXT[format]}`);
          const old = join(dir, `old-${s}.${EXT[format]}`);
          const a = await write(fused, format, f, dtype, c, starts, 'geometry');
          const b = await write(old, format, f, dtype, c, starts, 'pixels');
          // Different streams (the fused path was taken), the same pixels.
          assert.notEqual(a.digests[0].arrays.images, b.digests[0].arrays.images, `${format}: both paths wrote the same streams`);
          if (format !== 'zarr3') {
            const r = runPython<{ fused_equal: boolean; old_equal: boolean; fused_bytes: number; old_bytes: number }>(COMPARE, [
              format, fused, old, ref, dtype, String(f.count), String(f.height), String(4 * f.seqLen),
            ]);
            assert.ok(r.fused_equal, `${format}: fused images differ from rasterize()`);
            assert.ok(r.old_equal, `${format}: drawn images differ from rasterize()`);
            // Smaller on the whole; a single tiny case may lose a few bytes to the block headers.
            assert.ok(r.fused_bytes <= r.old_bytes * 1.1 + 64, `${format}: ${r.fused_bytes} bytes fused against ${r.old_bytes}`);
          } else {
            const drawn = await loadImagesFromStorage(old);
            assert.ok(Buffer.from(drawn.images.buffer, drawn.images.byteOffset, drawn.images.byteLength).equals(Buffer.from(images.buffer, images.byteOffset, images.byteLength)), 'zarr3: drawn images differ');
          }
          const loaded = await loadImagesFromStorage(fused);
          assert.ok(Buffer.from(loaded.images.buffer, loaded.images.byteOffset, loaded.images.byteLength).equals(Buffer.from(images.buffer, images.byteOffset, images.byteLength)), `${format}: the loader's images differ`);
          rmSync(fused, { recursive: true, force: true });
          rmSync(old, { recursive: true, force: true });
        }
        rmSync(ref);
      });
    }
  }
});

// The jkx layout (docs/IMAGE-JKX.md: 255 on 0, volume strip, moving-average line) from its ink
// runs: every family both ways, against rasterize().
interface JkxFamily extends Family {
  volume: boolean;
  ma: number;
  // Per window: its MA history usable (else cut, as by a gap).
  maOk?: (rand: () => number) => number;
}

function withVolume(c: Columns, rand: () => number, zeros: number): Columns & { volume: Float64Array } {
  const n = c.open.length;
  return { ...c, volume: Float64Array.from({ length: n }, () => (rand() < zeros ? 0 : rand() * 1e4)) };
}

const JKX_FAMILIES: JkxFamily[] = [
  { name: 'jkx 5x32, volume, MA 5', seqLen: 5, height: 32, count: 60, volume: true, ma: 5, candles: (r, n) => randomWalk(n, r) },
  { name: 'jkx 20x64, volume, MA 20, history cut', seqLen: 20, height: 64, count: 60, volume: true, ma: 20, candles: (r, n) => randomWalk(n, r), maOk: (r) => (r() < 0.3 ? 0 : 1) },
  { name: 'jkx 60x96, volume, MA 60', seqLen: 60, height: 96, count: 20, volume: true, ma: 60, candles: (r, n) => randomWalk(n, r, 100, 0.03) },
  { name: 'jkx 30x200, no volume, MA 10', seqLen: 30, height: 200, count: 20, volume: false, ma: 10, candles: (r, n) => randomWalk(n, r, 100, 0.05) },
  { name: 'jkx 20x64, volume, no MA, zero volumes', seqLen: 20, height: 64, count: 40, volume: true, ma: 0, candles: (r, n) => randomWalk(n, r) },
  { name: 'jkx 12x40, malformed candles', seqLen: 12, height: 40, count: 40, volume: true, ma: 12, candles: malformed },
  { name: 'jkx 8x700, tall', seqLen: 8, height: 700, count: 8, volume: true, ma: 8, candles: (r, n) => randomWalk(n, r, 100, 0.05) },
];

describe('writer: jkx images encoded from their ink runs equal the drawn ones', { skip: findPython() ? false : 'no python3 with h5py, numpy and zarr' }, () => {
  let seed = 101;
  for (const dtype of ['uint8', 'float32'] as const) {
    for (const f of JKX_FAMILIES) {
      const s = seed++;
      it(`${f.name}, ${dtype} (seed ${s})`, async () => {
        const rand = rng(s);
        const history = f.ma > 0 ? f.ma - 1 : 0;
        const n = f.count + f.seqLen + history + 3;
        const c = withVolume(f.candles(rand, n), rand, f.name.includes('zero volumes') ? 0.5 : 0.05);
        // Most windows have their history; a few start too early for it (no line).
        const starts = Int32Array.from({ length: f.count }, () => Math.floor(rand() * (n - f.seqLen + 1)));
        const maOk = f.maOk ? Uint8Array.from(starts, () => f.maOk!(rand)) : undefined;
        const opts = { seqLen: f.seqLen, height: f.height, layout: 'jkx' as const, volume: f.volume, ma: f.ma, starts, dtype, ...(maOk ? { maOk } : {}) };
        const { images } = rasterize(c, opts);
        const ref = join(dir, `ref-${s}.bin`);
        writeFileSync(ref, new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
        const jkx = { volume: f.volume, ma: f.ma, maOk };
        for (const format of FORMATS) {
          const fused = join(dir, `fused-${s}.${EXT[format]}`);
          const old = join(dir, `old-${s}.${EXT[format]}`);
          const a = await write(fused, format, f, dtype, c, starts, 'geometry', jkx);
          const b = await write(old, format, f, dtype, c, starts, 'pixels', jkx);
          assert.notEqual(a.digests[0].arrays.images, b.digests[0].arrays.images, `${format}: both paths wrote the same streams`);
          if (format !== 'zarr3') {
            const r = runPython<{ fused_equal: boolean; old_equal: boolean; fused_bytes: number; old_bytes: number }>(COMPARE, [
              format, fused, old, ref, dtype, String(f.count), String(f.height), String(3 * f.seqLen),
            ]);
            assert.ok(r.fused_equal, `${format}: fused images differ from rasterize()`);
            assert.ok(r.old_equal, `${format}: drawn images differ from rasterize()`);
            assert.ok(r.fused_bytes <= r.old_bytes * 1.1 + 64, `${format}: ${r.fused_bytes} bytes fused against ${r.old_bytes}`);
          }
          const loaded = await loadImagesFromStorage(fused);
          assert.ok(Buffer.from(loaded.images.buffer, loaded.images.byteOffset, loaded.images.byteLength).equals(Buffer.from(images.buffer, images.byteOffset, images.byteLength)), `${format}: the loader's images differ`);
          rmSync(fused, { recursive: true, force: true });
          rmSync(old, { recursive: true, force: true });
        }
        rmSync(ref);
      });
    }
  }
});

describe('writer: the image encoder setting', () => {
  it('refuses an OHLC_IMAGE_ENCODER it does not know, naming the variable', async () => {
    process.env.OHLC_IMAGE_ENCODER = 'fastest';
    try {
      await assert.rejects(
        createDatasetWriter(join(dir, 'refused.h5'), { seqLen: 5, height: 32 }),
        /OHLC_IMAGE_ENCODER must be geometry, pixels or auto, not 'fastest'/,
      );
    } finally {
      delete process.env.OHLC_IMAGE_ENCODER;
    }
    assert.equal(existsSync(join(dir, 'refused.h5')), false, 'no file left behind');
  });

  it('chooses by size: default-layout images under 64 KiB drawn, larger ones from geometry; jkx drawn', async () => {
    const rand = rng(7);
    const c = randomWalk(400, rand);
    const starts = Int32Array.from({ length: 12 }, (_, i) => i * 20);
    // 100x64 uint8: 25,600 bytes; 100x200 float32: 320,000 bytes.
    for (const [height, dtype, expected] of [[64, 'uint8', 'pixels'], [200, 'float32', 'geometry']] as const) {
      const f: Family = { name: 'size', seqLen: 100, height, count: starts.length, candles: () => c };
      const digest = async (encoder: ImageEncoder) => {
        const path = join(dir, `choice-${height}-${encoder}.h5`);
        const done = await write(path, 'hdf5', f, dtype, c, starts, encoder);
        rmSync(path, { force: true });
        return done.digests[0].arrays.images;
      };
      const [auto, geometry, pixels] = [await digest('auto'), await digest('geometry'), await digest('pixels')];
      assert.notEqual(geometry, pixels, 'the two encoders write different streams');
      assert.equal(auto, expected === 'pixels' ? pixels : geometry, `${100 * 4 * height * (dtype === 'uint8' ? 1 : 4)} bytes an image: ${expected}`);
    }
    // jkx 60x96 float32 (69,120 bytes): drawn all the same.
    const v = withVolume(randomWalk(400, rand), rand, 0.05);
    const f: Family = { name: 'jkx size', seqLen: 60, height: 96, count: starts.length, candles: () => v };
    const jkx = { volume: true, ma: 60 };
    const digest = async (encoder: ImageEncoder) => {
      const path = join(dir, `choice-jkx-${encoder}.h5`);
      const done = await write(path, 'hdf5', f, 'float32', v, starts, encoder, jkx);
      rmSync(path, { force: true });
      return done.digests[0].arrays.images;
    };
    const [auto, geometry, pixels] = [await digest('auto'), await digest('geometry'), await digest('pixels')];
    assert.notEqual(geometry, pixels);
    assert.equal(auto, pixels, 'jkx: drawn');
  });
});
