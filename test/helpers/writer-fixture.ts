// Windows to hand a dataset writer in tests: a seeded random walk, window starts, timestamps,
// random labels with returns of the same sign (NaN where unknown), the images rasterize draws of
// them, and the [count, L, 4] sequences a caller storing its own images passes.
import { rasterize } from '../../ts/index.js';
import { randomWalk, rng, type Columns } from './random.js';

export interface WriterFixture {
  candles: Columns;
  starts: Int32Array;
  timestamps: Float64Array;
  labels: Int8Array;
  returns: Float64Array;
  images: Uint8Array;
  sequences: Float64Array;
}

export interface FixtureShape {
  seqLen: number;
  height: number;
  horizons: readonly number[];
  /** The start of window i (default i: stride 1). */
  startOf?: (i: number) => number;
  /** Open time of the first candle, ms UTC. */
  epoch?: number;
}

export function writerFixture(count: number, seed: number, shape: FixtureShape): WriterFixture {
  const { seqLen, height, horizons } = shape;
  const rand = rng(seed);
  const starts = Int32Array.from({ length: count }, (_, i) => (shape.startOf ? shape.startOf(i) : i));
  const candles = randomWalk(Math.max(0, ...starts) + seqLen, rand);
  const epoch = shape.epoch ?? 1_600_000_000_000;
  const timestamps = Float64Array.from(starts, (s) => epoch + (s + seqLen - 1) * 60_000);
  const labels = Int8Array.from({ length: count * horizons.length }, () => Math.floor(rand() * 3) - 1);
  const returns = Float64Array.from(labels, (l) => (l < 0 ? NaN : l === 1 ? rand() / 10 : -rand() / 10));
  const { images } = rasterize(candles, { seqLen, height, starts });
  const sequences = new Float64Array(count * seqLen * 4);
  starts.forEach((s, i) => {
    for (let j = 0; j < seqLen; j++) sequences.set([candles.open[s + j], candles.high[s + j], candles.low[s + j], candles.close[s + j]], (i * seqLen + j) * 4);
  });
  return { candles, starts, timestamps, labels, returns, images: images as Uint8Array, sequences };
}
