// Streaming a series month by month decides exactly the windows, skips and labels of planning
// it at once (the pipeline's memory no longer grows with the series), on random series with
// gaps, unusable prices, strides, horizons, history and a lookahead month.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Candles } from '../ts/data/types.js';
import type { MonthSpan, Segment } from '../ts/pipeline/segments.js';
import { segmentChunks } from '../ts/pipeline/stream.js';
import { labelWindows, planWindows } from '../ts/pipeline/windows.js';
import { randomWalk, rng } from './helpers/random.js';

const STEP = 60_000;

/** A series with gaps (missing minutes) and a few unusable prices, and its cut into "months". */
function fixture(seed: number) {
  const rand = rng(seed);
  const n = 300 + Math.floor(rand() * 900);
  const walk = randomWalk(n, rand);
  const openTime = new Float64Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += STEP * (rand() < 0.02 ? 2 + Math.floor(rand() * 3) : 1);
    openTime[i] = t;
  }
  for (let k = 0; k < 3; k++) if (rand() < 0.5) walk.low[Math.floor(rand() * n)] = rand() < 0.5 ? NaN : 0;
  const volume = Float64Array.from({ length: n }, () => rand() * 10);
  // Month edges in time, between candles.
  const edges = [0];
  for (let e = 1; e < 4 + Math.floor(rand() * 8); e++) edges.push(Math.floor((t * e) / 12 + rand() * STEP) + 1);
  edges.sort((a, b) => a - b);
  edges.push(t + 1);
  return { candles: { ...walk, openTime, volume, intervalMs: STEP }, edges, rand };
}

function spanOf(i: number, edges: number[]): MonthSpan {
  return { month: `m${i}`, start: edges[i], end: edges[i + 1], startDate: '', endDate: '' };
}

function loader(c: ReturnType<typeof fixture>['candles']) {
  return async (span: MonthSpan): Promise<Candles> => {
    let a = 0;
    while (a < c.openTime.length && c.openTime[a] < span.start) a++;
    let b = a;
    while (b < c.openTime.length && c.openTime[b] < span.end) b++;
    const cut = (x: Float64Array) => x.slice(a, b);
    return {
      openTime: cut(c.openTime), open: cut(c.open), high: cut(c.high), low: cut(c.low), close: cut(c.close), volume: cut(c.volume),
      symbol: 'X', interval: '1m', market: 'spot', intervalMs: STEP, length: b - a, gaps: [], sources: [], duplicates: 0, conflicts: 0, skippedRows: 0, outOfPeriod: 0, outOfRange: 0, notPublished: [],
    } as unknown as Candles;
  };
}

describe('streaming a series month by month', () => {
  it('decides the windows, skips and labels of the whole series, each exactly once', async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const { candles, edges, rand } = fixture(seed);
      const seqLen = 1 + Math.floor(rand() * 40);
      const stride = 1 + Math.floor(rand() * 4);
      const skipGaps = rand() < 0.8;
      const horizons = rand() < 0.3 ? [] : [1, 1 + Math.floor(rand() * 30)];
      const lookahead = horizons.length ? Math.max(...horizons) : 0;
      const months = Array.from({ length: edges.length - 1 }, (_, i) => spanOf(i, edges));
      const segment: Segment = { symbol: 'X', symbolIndex: 0, months, history: null, lookahead: null };

      const whole = planWindows(candles, seqLen, stride, skipGaps);
      const wholeLabels = labelWindows(candles, whole.breaks, whole.starts, seqLen, horizons);

      // Whole months, and months cut into pieces (down to one candle a chunk), as a month of 1s candles is.
      for (const pieceCandles of [undefined, 1 + (seed % 37)]) {
        const starts: number[] = [];
        const labels: number[] = [];
        const returns: number[] = [];
        const skipped = { gap: 0, invalid_price: 0 };
        let considered = 0;
        let newCandles = 0;
        for await (const chunk of segmentChunks(segment, loader(candles), { seqLen, stride, skipGaps, lookahead, lookback: 0, pieceCandles })) {
          newCandles += chunk.newCandles;
          const l = labelWindows(chunk.candles, chunk.plan.breaks, chunk.plan.starts, seqLen, horizons);
          // Global position of each start: find its candle by open time in the whole series.
          chunk.plan.starts.forEach((s) => starts.push(candles.openTime.indexOf(chunk.candles.openTime[s])));
          labels.push(...l.labels);
          returns.push(...l.returns);
          skipped.gap += chunk.plan.skipped.gap;
          skipped.invalid_price += chunk.plan.skipped.invalid_price;
          considered += chunk.plan.considered;
        }
        const why = `seed ${seed} (seqLen ${seqLen}, stride ${stride}, skipGaps ${skipGaps}, horizons ${horizons.join(',')}, ${months.length} months, pieces of ${pieceCandles ?? 'a month'})`;
        assert.deepEqual(starts, Array.from(whole.starts), why);
        assert.deepEqual(skipped, whole.skipped, why);
        assert.equal(considered, whole.considered, why);
        assert.deepEqual(labels, Array.from(wholeLabels.labels), why);
        assert.deepEqual(returns, Array.from(wholeLabels.returns), why);
        assert.equal(newCandles, candles.openTime.length, why);
      }
    }
  });

  it('a segment that starts later takes its history from the month before, and its last windows run into the month after', async () => {
    for (let seed = 200; seed < 260; seed++) {
      const { candles, edges, rand } = fixture(seed);
      if (edges.length < 5) continue;
      const seqLen = 2 + Math.floor(rand() * 20);
      const horizons = [1 + Math.floor(rand() * 10)];
      const spans = Array.from({ length: edges.length - 1 }, (_, i) => spanOf(i, edges));
      const [a, b] = [1, spans.length - 2];
      const segment: Segment = { symbol: 'X', symbolIndex: 0, months: spans.slice(a, b), history: spans[a - 1], lookahead: spans[b] };
      const whole = planWindows(candles, seqLen, 1, true);
      const wholeLabels = labelWindows(candles, whole.breaks, whole.starts, seqLen, horizons);
      // The windows whose first candle lies in the segment's months, as the whole series decides them.
      const expected: number[] = [];
      const expectedLabels: number[] = [];
      whole.starts.forEach((s, i) => {
        const t = candles.openTime[s];
        if (t >= spans[a].start && t < spans[b - 1].end) {
          expected.push(s);
          expectedLabels.push(wholeLabels.labels[i]);
        }
      });
      for (const pieceCandles of [undefined, 1 + (seed % 23)]) {
        const got: number[] = [];
        const gotLabels: number[] = [];
        for await (const chunk of segmentChunks(segment, loader(candles), { seqLen, stride: 1, skipGaps: true, lookahead: horizons[0], lookback: 0, pieceCandles })) {
          chunk.plan.starts.forEach((s) => got.push(candles.openTime.indexOf(chunk.candles.openTime[s])));
          gotLabels.push(...labelWindows(chunk.candles, chunk.plan.breaks, chunk.plan.starts, seqLen, horizons).labels);
        }
        assert.deepEqual(got, expected, `seed ${seed}, pieces of ${pieceCandles ?? 'a month'}`);
        assert.deepEqual(gotLabels, expectedLabels, `seed ${seed}, pieces of ${pieceCandles ?? 'a month'}`);
      }
    }
  });
});
