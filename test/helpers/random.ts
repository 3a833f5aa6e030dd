// Seeded random inputs for tests: reproducible from the seed printed on failure.

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Columns {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

/** A geometric random walk of n candles starting near `price`, with well-formed OHLC. */
export function randomWalk(n: number, rand: () => number, price = 100, vol = 0.01): Columns {
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  let p = price;
  for (let i = 0; i < n; i++) {
    const o = p;
    const c = o * Math.exp((rand() - 0.5) * 2 * vol);
    const h = Math.max(o, c) * (1 + rand() * vol);
    const l = Math.min(o, c) * (1 - rand() * vol);
    open[i] = o;
    high[i] = h;
    low[i] = l;
    close[i] = c;
    p = c;
  }
  return { open, high, low, close };
}
