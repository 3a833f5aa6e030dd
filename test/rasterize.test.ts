// rasterize / rasterizeAsync against the spec: the worked example, an independent TS reference on
// thousands of random windows, every bad argument, abort, and event-loop responsiveness.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rasterize, rasterizeAsync } from '../ts/index.js';
import { referenceImage } from './helpers/reference.js';
import { randomWalk, rng, type Columns } from './helpers/random.js';

function cols(rows: number[][]): Columns {
  return {
    open: Float64Array.from(rows.map((r) => r[0])),
    high: Float64Array.from(rows.map((r) => r[1])),
    low: Float64Array.from(rows.map((r) => r[2])),
    close: Float64Array.from(rows.map((r) => r[3])),
  };
}

function firstDifference(a: Uint8Array, b: Uint8Array, width: number): string | null {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `pixel ${i} (row ${Math.floor(i / width)}, column ${i % width}): ${a[i]} vs ${b[i]}`;
  }
  return null;
}

describe('rasterize: IMAGE.md worked example', () => {
  it('draws L=2, H=5 exactly as the spec shows', () => {
    const r = rasterize(cols([[10, 12, 9, 11], [11, 13, 10, 10]]), { seqLen: 2, height: 5 });
    const expected = [
      '1 1 1 1 0 1 1 1',
      '0 1 1 1 0 1 1 1',
      '0 1 0 1 0 0 1 1',
      '0 0 1 1 0 1 0 1',
      '0 1 1 1 1 1 1 1',
    ];
    assert.equal(r.count, 1);
    assert.equal(r.width, 8);
    assert.equal(r.height, 5);
    assert.ok(r.images instanceof Uint8Array);
    for (let y = 0; y < 5; y++) assert.equal(Array.from(r.images.subarray(y * 8, y * 8 + 8)).join(' '), expected[y]);
  });

  it('puts a flat window on row (H-1) div 2', () => {
    for (const height of [2, 3, 4, 5, 500, 501]) {
      const r = rasterize(cols([[7, 7, 7, 7], [7, 7, 7, 7], [7, 7, 7, 7]]), { seqLen: 3, height });
      const mid = Math.trunc((height - 1) / 2);
      for (let y = 0; y < height; y++) {
        const row = Array.from(r.images.subarray(y * 12, y * 12 + 12)).join('');
        assert.equal(row, y === mid ? '000100010001' : '111111111111', `height ${height} row ${y}`);
      }
    }
  });

  it('stores float32 as 0.0/1.0 with the same pixels', () => {
    const c = cols([[10, 12, 9, 11], [11, 13, 10, 10]]);
    const u8 = rasterize(c, { seqLen: 2, height: 5 });
    const f32 = rasterize(c, { seqLen: 2, height: 5, dtype: 'float32' });
    assert.ok(f32.images instanceof Float32Array);
    assert.deepEqual(Array.from(f32.images), Array.from(u8.images));
  });
});

describe('rasterize: native vs TypeScript reference on random windows', () => {
  const cases: Array<{ name: string; make: (rand: () => number) => { c: Columns; seqLen: number; height: number } }> = [
    { name: 'random walks, L=100, H=500', make: (r) => ({ c: randomWalk(400, r), seqLen: 100, height: 500 }) },
    { name: 'random walks, small L and H', make: (r) => ({ c: randomWalk(60, r, 50, 0.05), seqLen: 1 + Math.floor(r() * 8), height: 2 + Math.floor(r() * 6) }) },
    { name: 'seqLen 1', make: (r) => ({ c: randomWalk(50, r), seqLen: 1, height: 2 + Math.floor(r() * 100) }) },
    { name: 'height 2', make: (r) => ({ c: randomWalk(80, r), seqLen: 20, height: 2 }) },
    { name: 'large height', make: (r) => ({ c: randomWalk(40, r), seqLen: 10, height: 4000 }) },
    {
      name: 'flat and nearly flat windows',
      make: (r) => {
        const n = 40;
        const base = 1 + r() * 1000;
        const c = randomWalk(n, r);
        for (let i = 0; i < n; i++) {
          // Either exactly flat or one ulp apart: the rounding rule decides every row.
          const wobble = r() < 0.5 ? 0 : base * Number.EPSILON * Math.floor(r() * 3);
          c.open[i] = base;
          c.high[i] = base + wobble;
          c.low[i] = base;
          c.close[i] = r() < 0.5 ? base : base + wobble;
        }
        return { c, seqLen: 8, height: 2 + Math.floor(r() * 50) };
      },
    },
    {
      name: 'extreme ranges',
      make: (r) => {
        const n = 30;
        const c = randomWalk(n, r);
        const scale = [1e-300, 1e-9, 1, 1e9, 1e300][Math.floor(r() * 5)];
        for (const f of ['open', 'high', 'low', 'close'] as const) for (let i = 0; i < n; i++) c[f][i] *= scale;
        if (r() < 0.5) c.high[Math.floor(r() * n)] = 1.7976931348623157e308;
        if (r() < 0.5) c.low[Math.floor(r() * n)] = Number.MIN_VALUE;
        return { c, seqLen: 10, height: 2 + Math.floor(r() * 1000) };
      },
    },
    {
      name: 'malformed candles (open > high, high < low)',
      make: (r) => {
        const n = 40;
        const c = randomWalk(n, r);
        for (let i = 0; i < n; i++) {
          if (r() < 0.3) [c.high[i], c.low[i]] = [c.low[i], c.high[i]];
          if (r() < 0.3) c.open[i] = c.high[i] * (1 + r() * 0.1);
          if (r() < 0.3) c.close[i] = c.low[i] * (1 - r() * 0.1);
        }
        return { c, seqLen: 12, height: 2 + Math.floor(r() * 200) };
      },
    },
  ];

  for (const tc of cases) {
    it(tc.name, () => {
      let windows = 0;
      for (let seed = 1; windows < 1500; seed++) {
        const rand = rng(seed * 7919 + tc.name.length);
        const { c, seqLen, height } = tc.make(rand);
        const r = rasterize(c, { seqLen, height, threads: 1 + (seed % 2) });
        const per = height * 4 * seqLen;
        for (let w = 0; w < r.count; w++) {
          const ref = referenceImage(c, w, seqLen, height);
          assert.ok(ref, `seed ${seed} window ${w} should be valid`);
          const diff = firstDifference(r.images.subarray(w * per, (w + 1) * per), ref, 4 * seqLen);
          assert.equal(diff, null, `${tc.name}, seed ${seed}, window ${w}: ${diff}`);
        }
        windows += r.count;
      }
    });
  }

  it('honours stride and explicit starts (every integer typed array kind)', () => {
    const rand = rng(42);
    const c = randomWalk(300, rand);
    const seqLen = 16;
    const height = 64;
    const per = height * 4 * seqLen;
    const strided = rasterize(c, { seqLen, height, stride: 7 });
    assert.equal(strided.count, Math.floor((300 - seqLen) / 7) + 1);
    for (let w = 0; w < strided.count; w++) {
      assert.deepEqual(strided.images.subarray(w * per, (w + 1) * per), referenceImage(c, w * 7, seqLen, height));
    }
    const starts = [284, 0, 13, 13, 200];
    for (const make of [
      (a: number[]) => Int32Array.from(a),
      (a: number[]) => Uint32Array.from(a),
      (a: number[]) => Uint16Array.from(a),
      (a: number[]) => BigInt64Array.from(a.map(BigInt)),
      (a: number[]) => BigUint64Array.from(a.map(BigInt)),
    ]) {
      const r = rasterize(c, { seqLen, height, starts: make(starts) });
      assert.equal(r.count, starts.length);
      starts.forEach((s, w) => assert.deepEqual(r.images.subarray(w * per, (w + 1) * per), referenceImage(c, s, seqLen, height)));
    }
  });

  it('fills a reused out buffer and returns a view of the images written', () => {
    const c = randomWalk(50, rng(5));
    const out = new Uint8Array(10 * 8 * 40).fill(7);
    const r = rasterize(c, { seqLen: 10, height: 8, starts: Int32Array.from([3, 4]), out });
    assert.equal(r.images.buffer, out.buffer);
    assert.equal(r.images.length, 2 * 8 * 40);
    assert.deepEqual(r.images.subarray(0, 320), referenceImage(c, 3, 10, 8));
    assert.equal(out[2 * 320], 7, 'pixels past the images are untouched');
  });

  it('gives the same pixels with 1 thread, all threads, sync and async', async () => {
    const c = randomWalk(3000, rng(9));
    const opts = { seqLen: 50, height: 120, stride: 3 };
    const a = rasterize(c, { ...opts, threads: 1 });
    const b = rasterize(c, { ...opts, threads: 0 });
    const d = await rasterizeAsync(c, opts);
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.images, d.images);
  });

  it('returns no images when the series is shorter than seqLen', () => {
    const r = rasterize(randomWalk(5, rng(1)), { seqLen: 6, height: 10 });
    assert.equal(r.count, 0);
    assert.equal(r.images.length, 0);
  });
});

describe('rasterize: invalid prices', () => {
  for (const [field, value] of [
    ['open', NaN],
    ['high', Infinity],
    ['low', 0],
    ['close', -1],
  ] as const) {
    it(`names the window, candle and field for ${field} = ${value}`, async () => {
      const c = randomWalk(40, rng(3));
      c[field][25] = value;
      const expectMsg = new RegExp(`^window 16 \\(candles 16\\.\\.25\\): candle 25 has ${field} = ${String(value)}; prices must be finite and > 0$`);
      assert.throws(() => rasterize(c, { seqLen: 10, height: 20 }), (e: Error & Record<string, unknown>) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, expectMsg);
        assert.equal(e.code, 'ERR_OHLC_INVALID_PRICE');
        assert.equal(e.window, 16);
        assert.equal(e.candle, 25);
        assert.equal(e.field, field);
        return true;
      });
      await assert.rejects(rasterizeAsync(c, { seqLen: 10, height: 20 }), (e: Error) => e instanceof RangeError && expectMsg.test(e.message));
      // Windows after the bad candle are fine.
      const r = rasterize(c, { seqLen: 10, height: 20, starts: Int32Array.from([26, 30]) });
      assert.equal(r.count, 2);
    });
  }

  it('reports the window number of the whole call when work is chunked', async () => {
    const c = randomWalk(2000, rng(8));
    c.close[1500] = NaN;
    // 64 MiB chunks of 200 KB images: window 1401 falls in a later chunk.
    await assert.rejects(rasterizeAsync(c, { seqLen: 100, height: 500 }), /^RangeError: window 1401 \(candles 1401\.\.1500\): candle 1500 has close = NaN/);
  });
});

describe('rasterize: bad arguments', () => {
  const c = randomWalk(30, rng(2));
  const ok = { seqLen: 5, height: 10 };
  const cases: Array<[string, () => unknown, RegExp, ErrorConstructor]> = [
    ['candles not an object', () => rasterize(null as never, ok), /Expected an object for candles but received null/, TypeError],
    ['a field of the wrong type', () => rasterize({ ...c, high: [1, 2, 3] } as never, ok), /Expected a Float64Array for candles\.high but received an array of length 3/, TypeError],
    ['a Float32Array field', () => rasterize({ ...c, low: new Float32Array(30) } as never, ok), /Expected a Float64Array for candles\.low but received Float32Array\(30\)/, TypeError],
    ['mismatched lengths', () => rasterize({ ...c, close: new Float64Array(29) }, ok), /Expected a Float64Array of length 30 \(the length of candles\.open\) for candles\.close but received Float64Array\(29\)/, RangeError],
    ['seqLen 0', () => rasterize(c, { seqLen: 0, height: 10 }), /Expected an integer between 1 and 16777216 for seqLen but received 0/, RangeError],
    ['seqLen 2.5', () => rasterize(c, { seqLen: 2.5, height: 10 }), /for seqLen but received 2\.5/, RangeError],
    ['seqLen a string', () => rasterize(c, { seqLen: '5' as never, height: 10 }), /for seqLen but received "5"/, TypeError],
    ['height 1', () => rasterize(c, { seqLen: 5, height: 1 }), /Expected an integer between 2 and 16777216 for height but received 1/, RangeError],
    ['height missing', () => rasterize(c, { seqLen: 5 } as never), /for height but received undefined/, TypeError],
    ['stride 0', () => rasterize(c, { ...ok, stride: 0 }), /Expected an integer >= 1 for stride but received 0/, RangeError],
    ['stride NaN', () => rasterize(c, { ...ok, stride: NaN }), /for stride but received NaN/, RangeError],
    ['start past the end', () => rasterize(c, { ...ok, starts: Int32Array.from([0, 26]) }), /Expected a start between 0 and 25 \(candles - seqLen\) for starts\[1\] but received 26/, RangeError],
    ['negative start', () => rasterize(c, { ...ok, starts: Int32Array.from([-1]) }), /for starts\[0\] but received -1/, RangeError],
    ['starts as Float64Array', () => rasterize(c, { ...ok, starts: new Float64Array([1]) as never }), /Expected an integer typed array .* for starts but received Float64Array\(1\)/, TypeError],
    ['starts as a plain array', () => rasterize(c, { ...ok, starts: [1, 2] as never }), /for starts but received an array of length 2/, TypeError],
    ['dtype unknown', () => rasterize(c, { ...ok, dtype: 'int16' as never }), /Expected one of "uint8", "float32" for dtype but received "int16"/, RangeError],
    ['out too small', () => rasterize(c, { ...ok, out: new Uint8Array(10) }), /Expected a Uint8Array of at least 5200 elements \(26 images of 10x20\) for out but received Uint8Array\(10\)/, RangeError],
    ['out of the wrong type', () => rasterize(c, { ...ok, out: new Float32Array(5200) }), /Expected a Uint8Array \(dtype is uint8\) for out but received Float32Array\(5200\)/, TypeError],
    ['out Uint8Array for float32', () => rasterize(c, { ...ok, dtype: 'float32', out: new Uint8Array(5200 * 4) }), /Expected a Float32Array \(dtype is float32\) for out/, TypeError],
    ['threads negative', () => rasterize(c, { ...ok, threads: -1 }), /Expected an integer between 0 and 4096 for threads but received -1/, RangeError],
    ['device unknown', () => rasterize(c, { ...ok, device: 'tpu' as never }), /Expected one of "auto", "cpu", "cuda" for device but received "tpu"/, RangeError],
    ['a misspelt option', () => rasterize(c, { ...ok, seqlen: 5 } as never), /options\.seqlen/, TypeError],
    [
      'sizes whose byte count overflows',
      () => rasterize(randomWalk(100_000, rng(1)), { seqLen: 1000, height: 100_000 }),
      /sizes whose images fit one typed array/,
      RangeError,
    ],
  ];
  for (const [name, fn, message, Kind] of cases) {
    it(name, () => {
      assert.throws(fn, (e: Error) => {
        assert.ok(e instanceof Kind, `expected ${Kind.name}, got ${e.constructor.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it('rejects the async call with the same errors', async () => {
    await assert.rejects(rasterizeAsync(c, { seqLen: 0, height: 10 }), RangeError);
    await assert.rejects(rasterizeAsync(c, { ...ok, signal: 'stop' as never }), /Expected an AbortSignal for signal/);
    await assert.rejects(rasterizeAsync(c, { ...ok, onProgress: 5 as never }), /Expected a function for onProgress/);
  });

  it('rejects device cuda with the reason when no GPU is usable', async (t) => {
    const { buildInfo } = await import('../ts/index.js');
    if (buildInfo().cuda.available) return t.skip('a GPU is present');
    assert.throws(() => rasterize(c, { ...ok, device: 'cuda' }), /device 'cuda' was requested but no usable GPU is available: /);
  });
});

describe('rasterizeAsync: off the main thread', () => {
  // Heavy per-image arithmetic (many bars, 2 rows) so the work lasts long without much memory.
  const heavy = randomWalk(60_000, rng(11));
  const opts = { seqLen: 50_000, height: 2, threads: 1 };

  function sizedStarts(): Int32Array {
    const t0 = performance.now();
    rasterize(heavy, { ...opts, starts: new Int32Array(4) });
    const perImage = (performance.now() - t0) / 4;
    return new Int32Array(Math.max(8, Math.ceil(300 / Math.max(perImage, 0.05))));
  }

  it('keeps the event loop responsive while it runs', async () => {
    const starts = sizedStarts();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const t0 = performance.now();
    const p = rasterizeAsync(heavy, { ...opts, starts });
    await p;
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    assert.ok(elapsed > 50, `the job should be long enough to observe (${elapsed.toFixed(0)} ms)`);
    assert.ok(ticks >= 5, `timers fired ${ticks} times during ${elapsed.toFixed(0)} ms of async work`);

    // The same work synchronously starves the timer: the check above can fail.
    ticks = 0;
    const timer2 = setInterval(() => ticks++, 2);
    rasterize(heavy, { ...opts, starts });
    const during = ticks;
    clearInterval(timer2);
    assert.equal(during, 0);
  });

  it('rejects promptly with AbortError when the signal fires, and at once if already aborted', async () => {
    const starts = sizedStarts();
    const ac = new AbortController();
    const t0 = performance.now();
    const p = rasterizeAsync(heavy, { ...opts, starts, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user stop')), 20);
    await assert.rejects(p, (e: Error) => e.name === 'AbortError' && (e.cause as Error).message === 'user stop');
    const full = starts.length * 1; // images
    assert.ok(performance.now() - t0 < 1000, `abort took ${(performance.now() - t0).toFixed(0)} ms for ${full} images`);
    await assert.rejects(rasterizeAsync(heavy, { ...opts, starts, signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('reports progress up to the total', async () => {
    const c = randomWalk(3000, rng(4));
    const seen: number[] = [];
    const r = await rasterizeAsync(c, { seqLen: 100, height: 500, onProgress: (p) => seen.push(p.done) });
    assert.ok(seen.length >= 2, 'several chunks');
    assert.equal(seen.at(-1), r.count);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen);
  });
});
