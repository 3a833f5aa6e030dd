// Which windows become images (docs/IMAGE.md "Windows over a series"), and their labels.
// Windows start on the stride grid 0, stride, 2*stride, ...; a window with an unusable price is
// skipped as `invalid_price`, one that crosses a missing candle as `gap` (unless gaps are kept).
import type { CandleColumns } from '../data/columns.js';
import { nextMonthStart } from '../data/dates.js';

/** Candles with their open times and the interval that says which follow each other. */
export type TimedCandles = CandleColumns & {
  openTime: Float64Array;
  /** Candle length in ms; null for calendar months ('1mo'). */
  intervalMs: number | null;
};

export type SkipReason = 'gap' | 'invalid_price';

export interface WindowPlan {
  /** Start candle of each kept window. */
  starts: Float64Array;
  /** breakPrefix of the series, for labelWindows. */
  breaks: Uint32Array;
  /** Windows on the stride grid, kept or not. */
  considered: number;
  skipped: Record<SkipReason, number>;
}

/** Open time of the candle after `t`: fixed intervals, or the next calendar month (UTC). */
function nextOpen(t: number, intervalMs: number | null): number {
  return intervalMs !== null ? t + intervalMs : nextMonthStart(t);
}

/** breaks[i] = steps j < i where candle j+1 does not directly follow candle j. */
export function breakPrefix(c: TimedCandles): Uint32Array {
  const n = c.openTime.length;
  const breaks = new Uint32Array(n + 1);
  for (let i = 0; i + 1 < n; i++) breaks[i + 1] = breaks[i] + (c.openTime[i + 1] === nextOpen(c.openTime[i], c.intervalMs) ? 0 : 1);
  if (n > 0) breaks[n] = breaks[n - 1];
  return breaks;
}

function usable(p: number): boolean {
  return p > 0 && p < Infinity;
}

/** invalid[i] = candles j < i with a price that is not finite and > 0. */
export function invalidPrefix(c: CandleColumns): Uint32Array {
  const n = c.open.length;
  const bad = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const ok = usable(c.open[i]) && usable(c.high[i]) && usable(c.low[i]) && usable(c.close[i]);
    bad[i + 1] = bad[i] + (ok ? 0 : 1);
  }
  return bad;
}

/**
 * Where a part of a series sits in the whole (the pipeline streams a symbol month by month): the
 * global index of its first candle (negative for history kept before the first window), the
 * first start still to decide, the bound on starts, and whether more candles follow.
 */
export interface ChunkBounds {
  /** Global index (on the stride grid's scale) of candle 0 of this chunk. */
  firstGlobal: number;
  /** The first global start not decided yet. */
  from: number;
  /** Starts at this local index or later are not this build's (a lookahead head). */
  startsBefore: number;
  /** More candles follow: a window whose labels need them waits for the next chunk. */
  more: boolean;
  /** The largest label horizon (what a window's labels look at past its end). */
  lookahead: number;
}

export interface ChunkPlan extends WindowPlan {
  /** The first global start not decided yet (where the next chunk takes over). */
  next: number;
}

/**
 * Windows of a chunk on the stride grid (global start ≡ 0 mod stride, counted from the segment's
 * first candle), each decided exactly once across the chunks of a segment: a window whose
 * labels need candles of the next chunk is left for it. The same windows, skips and labels as
 * planning the whole series at once.
 */
export function planChunk(c: TimedCandles, seqLen: number, stride: number, skipGaps: boolean, b: ChunkBounds): ChunkPlan {
  const n = c.openTime.length;
  const breaks = breakPrefix(c);
  const invalid = invalidPrefix(c);
  const skipped: Record<SkipReason, number> = { gap: 0, invalid_price: 0 };
  const starts: number[] = [];
  let considered = 0;
  let g = Math.max(b.from, 0);
  g += (stride - (g % stride)) % stride;
  for (; ; g += stride) {
    const s = g - b.firstGlobal;
    if (s >= b.startsBefore || s + seqLen > n) break;
    if (b.more && s + seqLen - 1 + b.lookahead > n - 1) break;
    considered++;
    if (invalid[s + seqLen] - invalid[s] > 0) skipped.invalid_price++;
    else if (skipGaps && breaks[s + seqLen - 1] - breaks[s] > 0) skipped.gap++;
    else starts.push(s);
  }
  return { starts: Float64Array.from(starts), breaks, considered, skipped, next: g };
}

/** The windows of a whole series (one chunk, nothing before or after it). */
export function planWindows(c: TimedCandles, seqLen: number, stride: number, skipGaps: boolean): WindowPlan {
  return planChunk(c, seqLen, stride, skipGaps, { firstGlobal: 0, from: 0, startsBefore: Infinity, more: false, lookahead: 0 });
}

export interface WindowLabels {
  timestamps: Float64Array;
  labels: Int8Array;
  returns: Float64Array;
}

/**
 * Timestamps and labels for windows starting at `starts` (IMAGE.md "Labels"): with e the last
 * candle, return_h = close[e+h] / close[e] - 1 and label 1 when it is > 0, else 0; -1 and NaN
 * where candle e+h does not exist, e..e+h are not contiguous, or close[e+h] is unusable.
 */
export function labelWindows(c: TimedCandles, breaks: Uint32Array, starts: ArrayLike<number>, seqLen: number, horizons: readonly number[]): WindowLabels {
  const count = starts.length;
  const k = horizons.length;
  const n = c.openTime.length;
  const timestamps = new Float64Array(count);
  const labels = new Int8Array(count * k);
  const returns = new Float64Array(count * k);
  for (let i = 0; i < count; i++) {
    const e = starts[i] + seqLen - 1;
    timestamps[i] = c.openTime[e];
    for (let j = 0; j < k; j++) {
      const t = e + horizons[j];
      if (t >= n || breaks[t] - breaks[e] > 0 || !usable(c.close[t])) {
        labels[i * k + j] = -1;
        returns[i * k + j] = NaN;
      } else {
        const r = c.close[t] / c.close[e] - 1;
        returns[i * k + j] = r;
        labels[i * k + j] = r > 0 ? 1 : 0;
      }
    }
  }
  return { timestamps, labels, returns };
}
