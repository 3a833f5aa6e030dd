// An independent TypeScript rendering of docs/IMAGE.md, written from the spec (not from the C++),
// that the native and CUDA outputs are compared against pixel for pixel.

export interface RefCandles {
  open: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
}

export function referenceRow(p: number, hi: number, lo: number, height: number): number {
  if (hi === lo) return Math.trunc((height - 1) / 2);
  return Math.floor(((hi - p) / (hi - lo)) * (height - 1) + 0.5);
}

/** One image of the window starting at `start`, as 0/1 numbers; null when a price is unusable. */
export function referenceImage(c: RefCandles, start: number, seqLen: number, height: number): Uint8Array | null {
  const width = 4 * seqLen;
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = start; j < start + seqLen; j++) {
    for (const p of [c.open[j], c.high[j], c.low[j], c.close[j]]) {
      if (!(Number.isFinite(p) && p > 0)) return null;
      lo = Math.min(lo, p);
      hi = Math.max(hi, p);
    }
  }
  const img = new Uint8Array(height * width).fill(1);
  for (let b = 0; b < seqLen; b++) {
    const j = start + b;
    const rh = referenceRow(c.high[j], hi, lo, height);
    const rl = referenceRow(c.low[j], hi, lo, height);
    for (let r = Math.min(rh, rl); r <= Math.max(rh, rl); r++) img[r * width + 4 * b] = 0;
    img[referenceRow(c.open[j], hi, lo, height) * width + 4 * b + 1] = 0;
    img[referenceRow(c.close[j], hi, lo, height) * width + 4 * b + 2] = 0;
  }
  return img;
}
