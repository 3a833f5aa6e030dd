// An independent TypeScript rendering of the jkx layout (docs/IMAGE-JKX.md), written from the
// spec (not from the C++), that native and CUDA outputs can be compared against pixel for pixel,
// and that test/jkx-reference.test.ts checks against the worked example and against Pillow.

export interface JkxRefWindow {
  open: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
  /** Needed when the volume strip is on. */
  volume?: ArrayLike<number> | null;
  /** The k - 1 closes before the window, oldest first; null when they are not all there. */
  history: ArrayLike<number> | null;
}

export interface JkxRefOptions {
  height: number;
  volume: boolean;
  /** Moving-average length k; 0 for no line. */
  ma: number;
}

export type JkxRefStatus = 'ok' | 'invalid_price' | 'invalid_volume' | 'flat' | 'overflow';

export interface JkxRefResult {
  status: JkxRefStatus;
  /** H rows of 3L columns, row 0 at the top, 0 or 255; null unless status is 'ok'. */
  image: Uint8Array | null;
  /** The L MA values of a drawn window, NaN everywhere when the line is not drawn. */
  ma: Float64Array;
}

/** Round half to even, exactly, for any finite double. */
export function roundHalfEven(x: number): number {
  let r = Math.round(x); // half up; r - x is exact for these magnitudes
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

const usablePrice = (p: number): boolean => Number.isFinite(p) && p > 0;
const usableVolume = (v: number): boolean => Number.isFinite(v) && v >= 0;

/**
 * MA[t] = (s[t-k+1] + ... + s[t]) / k over the closes divided by the window's first close,
 * summed left to right (indices before 0 reach into `history`); null without a line.
 */
export function jkxReferenceMovingAverage(
  close: ArrayLike<number>,
  history: ArrayLike<number> | null,
  k: number,
): Float64Array | null {
  if (k <= 0 || history === null) return null;
  if (history.length !== k - 1) throw new Error(`history must hold k - 1 = ${k - 1} closes`);
  const c0 = close[0];
  const scaled = (t: number): number => (t < 0 ? history[k - 1 + t] : close[t]) / c0;
  const ma = new Float64Array(close.length);
  for (let t = 0; t < close.length; t++) {
    let sum = scaled(t - k + 1);
    for (let q = t - k + 2; q <= t; q++) sum += scaled(q);
    ma[t] = sum / k;
  }
  return ma;
}

/** Draws one window, or says why it cannot be drawn. */
export function jkxReferenceImage(win: JkxRefWindow, opts: JkxRefOptions): JkxRefResult {
  const L = win.close.length;
  const H = opts.height;
  const W = 3 * L;
  const noMa = new Float64Array(L).fill(NaN);
  const fail = (status: JkxRefStatus): JkxRefResult => ({ status, image: null, ma: noMa });
  const line = opts.ma > 0 && win.history !== null;

  if (line) for (let i = 0; i < win.history!.length; i++) if (!usablePrice(win.history![i])) return fail('invalid_price');
  for (let i = 0; i < L; i++) {
    for (const p of [win.open[i], win.high[i], win.low[i], win.close[i]]) if (!usablePrice(p)) return fail('invalid_price');
    if (opts.volume && !usableVolume(win.volume![i])) return fail('invalid_volume');
  }

  // 1. Scaling, 2. the moving average.
  const c0 = win.close[0];
  const o = Array.from({ length: L }, (_, i) => win.open[i] / c0);
  const h = Array.from({ length: L }, (_, i) => win.high[i] / c0);
  const l = Array.from({ length: L }, (_, i) => win.low[i] / c0);
  const c = Array.from({ length: L }, (_, i) => win.close[i] / c0);
  const ma = line ? jkxReferenceMovingAverage(win.close, win.history, opts.ma)! : null;

  // 4. Price rows.
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of ma ? [o, h, l, c, Array.from(ma)] : [o, h, l, c]) {
    for (const v of values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!Number.isFinite(hi)) return fail('overflow');
  if (hi === lo) return fail('flat');
  const Hv = opts.volume ? Math.floor(H / 5) : 0;
  const Hp = opts.volume ? H - Hv - 1 : H;
  const ppu = (Hp - 1.0) / (hi - lo);
  const y = (p: number): number => roundHalfEven((p - lo) * ppu);

  const img = new Uint8Array(H * W);
  const plot = (x: number, row: number): void => {
    if (x < 0 || x >= W || row < 0 || row >= H) throw new Error(`pixel (${x}, ${row}) outside the image`);
    img[row * W + x] = 255;
  };
  const plotPrice = (x: number, yy: number): void => plot(x, Hp - 1 - yy);

  // 5. Bars.
  for (let i = 0; i < L; i++) {
    const x = 3 * i + 1;
    const yl = y(l[i]);
    const yh = y(h[i]);
    for (let r = Math.min(yl, yh); r <= Math.max(yl, yh); r++) plotPrice(x, r);
    plotPrice(x - 1, y(o[i]));
    plotPrice(x, y(o[i]));
    plotPrice(x + 1, y(c[i]));
  }

  // 6. Moving-average line: Bresenham as Pillow's line8, then the end point.
  if (ma) {
    for (let i = 0; i + 1 < L; i++) {
      const x0 = 3 * i + 1;
      const x1 = x0 + 3;
      const y0 = y(ma[i]);
      const y1 = y(ma[i + 1]);
      const dx = x1 - x0;
      const dy = Math.abs(y1 - y0);
      const sy = y1 >= y0 ? 1 : -1;
      let xx = x0;
      let yy = y0;
      if (dy === 0) {
        for (let q = 0; q < 3; q++) plotPrice(x0 + q, yy);
      } else if (dx > dy) {
        let e = 2 * dy - dx;
        for (let n = 0; n < dx; n++) {
          plotPrice(xx, yy);
          if (e >= 0) {
            yy += sy;
            e -= 2 * dx;
          }
          e += 2 * dy;
          xx += 1;
        }
      } else {
        let e = 2 * dx - dy;
        for (let n = 0; n < dy; n++) {
          plotPrice(xx, yy);
          if (e >= 0) {
            xx += 1;
            e -= 2 * dy;
          }
          e += 2 * dx;
          yy += sy;
        }
      }
      plotPrice(x1, y1);
    }
  }

  // 7. Volume strip.
  if (opts.volume) {
    let vmax = 0;
    for (let i = 0; i < L; i++) vmax = Math.max(vmax, win.volume![i]);
    if (vmax !== 0) {
      const ppv = Hv / vmax;
      for (let i = 0; i < L; i++) {
        const raw = win.volume![i] * ppv;
        // Only when Hv / vmax overflows (vmax subnormal): +inf is the full strip, 0 * inf is 0.
        const n = Number.isNaN(raw) ? 0 : Math.min(roundHalfEven(Math.min(raw, Hv + 1)), Hv);
        for (let u = 0; u < Math.max(n, 1); u++) plot(3 * i + 1, H - 1 - u);
      }
    }
  }
  return { status: 'ok', image: img, ma: ma ?? noMa };
}
