// The TypeScript reference of the jkx layout (test/helpers/reference-jkx.ts) against the contract:
// the worked example of docs/IMAGE-JKX.md exactly, and Pillow drawing the same windows the way
// the authors' renderer does (test/helpers/pillow_jkx.py) on thousands of random windows, so
// that the spec's Bresenham is checked against Pillow's own line8.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jkxReferenceImage, jkxReferenceMovingAverage, roundHalfEven, type JkxRefStatus, type JkxRefWindow } from './helpers/reference-jkx.js';
import { rng } from './helpers/random.js';

const PYTHON = '/usr/bin/python3';
const PILLOW_SCRIPT = fileURLToPath(new URL('./helpers/pillow_jkx.py', import.meta.url));
const JKX_CHECK = fileURLToPath(new URL('../build/jkx_check', import.meta.url));

// A copy of the worked example of docs/IMAGE-JKX.md (L = 5, H = 32, volume strip, MA 5).
const EXAMPLE = {
  history: [9.8, 10.1, 9.9, 10.3],
  // open, high, low, close, volume
  bars: [
    [10.0, 10.8, 9.7, 10.5, 120],
    [10.6, 10.9, 10.1, 10.2, 80],
    [10.2, 11.0, 10.0, 10.8, 200],
    [10.9, 11.5, 10.7, 11.2, 0],
    [11.3, 11.6, 10.9, 11.0, 150],
  ],
  pictures: `
with MA 5          without MA
.............#.    .............#.
..........#..#.    ..........#..#.
..........#..#.    ..........#..#.
..........#..#.    ..........#..#.
..........#.##.    ..........#.##.
..........##.#.    ..........##.#.
..........#..#.    ..........#..#.
..........#..#.    ..........#..#.
.......#..#..##    .......#..#..##
....#..#.##..#.    ....#..#.##..#.
.#..#..##.#....    .#..#..##.#....
.#..#..#..#..#.    .#..#..#..#....
.#..#..#...##..    .#..#..#.......
.#.##..#..#....    .#.##..#.......
.##.#..#.#.....    .##.#..#.......
.#..#..##......    .#..#..#.......
.#..#..#.......    .#..#..#.......
.#..####.......    .#..#..#.......
.#.#####.......    .#..####.......
.##.#..#.......    .#..#..#.......
##.....#.......    ##.....#.......
.#.............    .#.............
.#.............    .#.............
.#.............    .#.............
.#.............    .#.............
...............    ...............
.......#.......    .......#.......
.......#.......    .......#.......
.#.....#.....#.    .#.....#.....#.
.#.....#.....#.    .#.....#.....#.
.#..#..#.....#.    .#..#..#.....#.
.#..#..#..#..#.    .#..#..#..#..#.
`,
};

/** The two pictures of the example as 0/255 bytes. */
function examplePictures(): [Uint8Array, Uint8Array] {
  const rows = EXAMPLE.pictures.trim().split('\n').slice(1);
  assert.equal(rows.length, 32);
  const parse = (from: number) =>
    Uint8Array.from(rows.flatMap((r) => Array.from(r.slice(from, from + 15), (ch) => (ch === '#' ? 255 : 0))));
  return [parse(0), parse(19)];
}

function exampleWindow(withHistory: boolean): JkxRefWindow {
  const col = (f: number) => EXAMPLE.bars.map((b) => b[f]);
  return { open: col(0), high: col(1), low: col(2), close: col(3), volume: col(4), history: withHistory ? EXAMPLE.history : null };
}

function ascii(img: Uint8Array, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < img.length / width; r++) out.push(Array.from(img.subarray(r * width, (r + 1) * width), (v) => (v ? '#' : '.')).join(''));
  return out.join('\n');
}

describe('jkx reference: the worked example of IMAGE-JKX.md', () => {
  const [withMa, withoutMa] = examplePictures();

  it('draws the picture with MA 5', () => {
    const r = jkxReferenceImage(exampleWindow(true), { height: 32, volume: true, ma: 5 });
    assert.equal(r.status, 'ok');
    assert.equal(ascii(r.image!, 15), ascii(withMa, 15));
  });

  it('draws the picture without the line when the history is absent, or without MA', () => {
    for (const [win, ma] of [[exampleWindow(false), 5], [exampleWindow(true), 0]] as const) {
      const r = jkxReferenceImage(win, { height: 32, volume: true, ma });
      assert.equal(r.status, 'ok');
      assert.equal(ascii(r.image!, 15), ascii(withoutMa, 15));
      assert.ok(Array.from(r.ma).every(Number.isNaN));
    }
  });

  it('computes the MA on closes scaled by the first close, summed left to right', () => {
    const ma = jkxReferenceMovingAverage(exampleWindow(true).close, EXAMPLE.history, 5)!;
    const s = [...EXAMPLE.history, ...EXAMPLE.bars.map((b) => b[3])].map((c) => c / 10.5);
    assert.equal(ma[0], (s[0] + s[1] + s[2] + s[3] + s[4]) / 5);
    assert.equal(ma[4], (s[4] + s[5] + s[6] + s[7] + s[8]) / 5);
  });

  it('rounds half to even', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999999999999996, 0.49999999999999994].map(roundHalfEven),
      [0, 2, 2, 4, -0, -2, -2, 2, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Against Pillow
// ---------------------------------------------------------------------------------------------
interface PillowWindow {
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[] | null;
  history: number[] | null;
  height: number;
  volume_strip: boolean;
  ma: number;
}

const hasPillow = spawnSync(PYTHON, ['-c', 'import PIL, PIL.Image, PIL.ImageDraw'], { encoding: 'utf8' }).status === 0;

/** JSON with NaN / Infinity literals (which Python's json reads) and -0 kept. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v !== 'number') return v;
    if (Number.isNaN(v)) return '__NaN__';
    if (v === Infinity) return '__Infinity__';
    if (v === -Infinity) return '__-Infinity__';
    if (Object.is(v, -0)) return '__-0.0__';
    return v;
  }).replace(/"__(NaN|Infinity|-Infinity|-0\.0)__"/g, '$1');
}

/** A random window of the kinds the contract cares about. */
function randomWindow(rand: () => number): { win: PillowWindow; kind: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const L = rand() < 0.7 ? pick([5, 20, 60] as const) : int(2, 120);
  const strip = rand() < 0.6;
  const hsel = rand();
  const height =
    hsel < 0.4 ? ({ 5: 32, 20: 64, 60: 96 } as Record<number, number>)[L] ?? 64
    : hsel < 0.55 ? (strip ? 5 : 2) + int(0, 2)
    : hsel < 0.95 ? int(strip ? 5 : 2, 200)
    : int(250, 400);
  const msel = rand();
  const ma = msel < 0.2 ? 0 : msel < 0.7 ? L : int(1, 2 * L);
  const n = L + Math.max(ma - 1, 0);
  const kind = pick(['walk', 'walk', 'walk', 'walk', 'malformed', 'ties', 'flat', 'ulps', 'extreme', 'invalid'] as const);

  const o: number[] = [];
  const h: number[] = [];
  const l: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  let p = 10 ** (rand() * 8 - 4);
  const vol = 10 ** (-4 + 3 * rand());
  for (let i = 0; i < n; i++) {
    const open = p;
    const close = open * Math.exp((rand() - 0.5) * 2 * vol);
    o.push(open);
    c.push(close);
    h.push(Math.max(open, close) * (1 + rand() * vol));
    l.push(Math.min(open, close) * (1 - rand() * vol));
    v.push(Math.floor(rand() * 1000) / 8);
    p = close;
  }
  const fields = [o, h, l, c];
  if (kind === 'malformed') {
    for (let i = 0; i < n; i++) {
      const u = int(0, 4);
      if (u === 0) [h[i], l[i]] = [l[i], h[i]];
      if (u === 1) o[i] = h[i] * (1 + rand());
      if (u === 2) c[i] = l[i] * rand() + 1e-9;
    }
  } else if (kind === 'ties') {
    // Quarters in [1, 5]: with a first close of 1 and hi - lo = 4, many values land on halves.
    for (let i = 0; i < n; i++) for (const f of fields) f[i] = 1 + 0.25 * int(0, 16);
    c[n - L] = 1;
    h[n - L] = 5;
    l[n - L] = 1;
    for (let i = 0; i < n; i++) v[i] = int(0, 4);
  } else if (kind === 'flat') {
    for (let i = 0; i < n; i++) for (const f of fields) f[i] = 3.75;
  } else if (kind === 'ulps') {
    const base = 10 ** (rand() * 10 - 5);
    const up = (x: number, k: number) => {
      const b = new Float64Array([x]);
      const u = new BigUint64Array(b.buffer);
      u[0] += BigInt(k);
      return b[0];
    };
    for (let i = 0; i < n; i++) for (const f of fields) f[i] = up(base, int(0, 2));
  } else if (kind === 'extreme') {
    for (let i = 0; i < n; i++) for (const f of fields) f[i] = 10 ** (rand() * 600 - 300);
  } else if (kind === 'invalid') {
    const bad = [NaN, Infinity, -Infinity, 0, -1];
    if (rand() < 0.3) v[int(0, n - 1)] = pick([NaN, Infinity, -1]);
    else pick(fields)[int(0, n - 1)] = pick(bad);
  }
  const vsel = rand();
  if (vsel < 0.1) v.fill(0);
  else if (vsel < 0.25) for (let i = 0; i < n; i++) if (rand() < 0.3) v[i] = 0;
  else if (vsel < 0.3) for (let i = 0; i < n; i++) v[i] = rand() < 0.5 ? 5e-324 * int(0, 3) : 0;

  const hist = n - L;
  const win: PillowWindow = {
    open: o.slice(hist),
    high: h.slice(hist),
    low: l.slice(hist),
    close: c.slice(hist),
    volume: strip ? v.slice(hist) : null,
    history: ma > 0 && rand() < 0.8 ? c.slice(0, hist) : null,
    height,
    volume_strip: strip,
    ma,
  };
  return { win, kind };
}

describe('jkx reference against Pillow', { skip: hasPillow ? false : `${PYTHON} cannot import PIL (Debian package python3-pil): Pillow comparison skipped` }, () => {
  it('draws the worked example as Pillow does', () => {
    const [withMa, withoutMa] = examplePictures();
    const win = (history: boolean): PillowWindow => {
      const w = exampleWindow(history);
      const list = (xs: ArrayLike<number>) => Array.from(xs);
      return { open: list(w.open), high: list(w.high), low: list(w.low), close: list(w.close), volume: list(w.volume!),
        history: w.history ? list(w.history) : null, height: 32, volume_strip: true, ma: 5 };
    };
    const out = runPillow([win(true), win(false)]);
    assert.equal(ascii(out.results[0].image!, 15), ascii(withMa, 15));
    assert.equal(ascii(out.results[1].image!, 15), ascii(withoutMa, 15));
  });

  it('equals Pillow on 2,200 random windows (L 5/20/60 and 2..120, volume and MA on and off)', () => {
    const seed = Number(process.env.JKX_SEED ?? 20230601);
    const rand = rng(seed);
    const cases = Array.from({ length: 2200 }, () => randomWindow(rand));
    const out = runPillow(cases.map((k) => k.win));
    assert.equal(out.results.length, cases.length);
    const count: Record<string, number> = {};
    let withLine = 0;
    for (let i = 0; i < cases.length; i++) {
      const { win, kind } = cases[i];
      const ref = jkxReferenceImage(win, { height: win.height, volume: win.volume_strip, ma: win.ma });
      const py = out.results[i];
      const where = () => `seed ${seed}, window ${i} (${kind}): ${toJson(win)}`;
      if (ref.status !== py.status) assert.fail(`status ${ref.status}, pillow ${py.status}, ${where()}`);
      count[ref.status] = (count[ref.status] ?? 0) + 1;
      if (ref.status !== 'ok') continue;
      if (win.ma > 0 && win.history) withLine++;
      const width = 3 * win.close.length;
      const diff = firstDifference(ref.image!, py.image!, width);
      if (diff !== null) assert.fail(`${diff}\n${where()}\nreference:\n${ascii(ref.image!, width)}\npillow:\n${ascii(py.image!, width)}`);
    }
    // The draw is varied enough to mean something.
    assert.ok(count.ok > 1600, JSON.stringify(count));
    assert.ok(withLine > 900, `only ${withLine} windows with the MA line`);
    for (const s of ['flat', 'invalid_price', 'invalid_volume', 'overflow'] as JkxRefStatus[]) assert.ok((count[s] ?? 0) > 0, `no ${s} window: ${JSON.stringify(count)}`);
  });
});

interface PillowOutput {
  pillow: string;
  results: { status: JkxRefStatus; image?: Uint8Array }[];
}

/** All windows through one Python process. */
function runPillow(windows: PillowWindow[]): PillowOutput {
  const r = spawnSync(PYTHON, [PILLOW_SCRIPT], { input: toJson({ windows }), encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`pillow_jkx.py failed (${r.status}): ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as { pillow: string; results: { status: JkxRefStatus; image?: string }[] };
  return {
    pillow: parsed.pillow,
    results: parsed.results.map((x) => ({ status: x.status, image: x.image === undefined ? undefined : new Uint8Array(Buffer.from(x.image, 'base64')) })),
  };
}

function firstDifference(a: Uint8Array, b: Uint8Array, width: number): string | null {
  if (a.length !== b.length) return `sizes ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `row ${Math.floor(i / width)}, column ${i % width}: reference ${a[i]}, pillow ${b[i]}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// The C++ kernel against this reference: jkx_check --emit prints random windows (its own
// generator: extreme, malformed, one-ulp, tie and invalid inputs included) with the images and
// MA values rasterize_jkx_cpu gave them.
// ---------------------------------------------------------------------------------------------
interface EmittedWindow extends Omit<PillowWindow, 'open' | 'high' | 'low' | 'close' | 'volume' | 'history'> {
  open: (number | string)[];
  high: (number | string)[];
  low: (number | string)[];
  close: (number | string)[];
  volume: (number | string)[] | null;
  history: (number | string)[] | null;
  status: JkxRefStatus;
  ma_values: (number | string)[];
  image: string;
}

/** Numbers JSON cannot hold come as strings. */
const numbers = (xs: (number | string)[]): number[] => xs.map((x) => (typeof x === 'number' ? x : x === '-0' ? -0 : Number(x)));
const sameDouble = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe('the C++ kernel against the jkx reference', { skip: existsSync(JKX_CHECK) ? false : `${JKX_CHECK} not built (npm ci builds it)` }, () => {
  it('gives the status, pixels and MA values of the reference on 1,500 windows of jkx_check --emit', () => {
    const r = spawnSync(JKX_CHECK, ['--emit', '1500', '--seed', '7'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { windows: EmittedWindow[] };
    assert.equal(doc.windows.length, 1500);
    let drawn = 0;
    doc.windows.forEach((e, i) => {
      const win: JkxRefWindow = {
        open: numbers(e.open), high: numbers(e.high), low: numbers(e.low), close: numbers(e.close),
        volume: e.volume && numbers(e.volume), history: e.history && numbers(e.history),
      };
      const ref = jkxReferenceImage(win, { height: e.height, volume: e.volume_strip, ma: e.ma });
      const where = () => `jkx_check --emit 1500 --seed 7, window ${i}: ${JSON.stringify(e).slice(0, 2000)}`;
      if (ref.status !== e.status) assert.fail(`status: C++ ${e.status}, reference ${ref.status}; ${where()}`);
      const ma = numbers(e.ma_values);
      for (let t = 0; t < ma.length; t++) if (!sameDouble(ma[t], ref.ma[t])) assert.fail(`MA[${t}]: C++ ${ma[t]}, reference ${ref.ma[t]}; ${where()}`);
      if (ref.status !== 'ok') return;
      drawn++;
      const width = 3 * win.close.length;
      const diff = firstDifference(ref.image!, new Uint8Array(Buffer.from(e.image, 'hex')), width);
      if (diff !== null) assert.fail(`${diff.replace('pillow', 'C++')}; ${where()}`);
    });
    assert.ok(drawn > 1000, `only ${drawn} windows drawn`);
  });
});
