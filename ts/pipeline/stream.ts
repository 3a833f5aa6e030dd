// One segment of a build, month by month: each month's candles joined to what the previous month
// left over (the candles the next windows still need), its windows decided, then everything but
// that carry dropped. A long month (a month of 1s candles is 2.7 M) is taken in pieces of
// PIECE_CANDLES, each joined to the carry and planned alone, so what a chunk copies and plans stays
// small too. Memory holds one month's columns (plus a piece) whatever the length of the series, and
// the windows, skips and labels are exactly those of the series planned at once.
import type { Candles, CandleSource } from '../data/types.js';
import type { Segment, MonthSpan } from './segments.js';
import { releaseKlineColumns } from '../data/parse.js';
import { planChunk, type ChunkPlan, type TimedCandles } from './windows.js';

/** The columns a chunk keeps (open time and prices; volume for layouts that draw it). */
const FIELDS = ['openTime', 'open', 'high', 'low', 'close', 'volume'] as const;

type Columns = TimedCandles & { openTime: Float64Array; volume: Float64Array };

/** The most candles of a month one chunk takes (a 1m month, 44,640, is one chunk). */
export const PIECE_CANDLES = 1 << 19;

export interface Chunk {
  segment: Segment;
  month: MonthSpan;
  /** The carry of the chunk before, this month (or a piece of it), and (last chunk) the head of the month after. */
  candles: Columns;
  plan: ChunkPlan;
  /** Candles first seen in this chunk (not carried over), and gaps among or before them. */
  newCandles: number;
  newGaps: number;
  /** The month's archives and row counts, on its first chunk (empty on the other pieces). */
  sources: CandleSource[];
  /** Rows the data layer dropped or flagged in this month. */
  rows: { malformed: number; outsidePeriod: number; outsideRange: number; duplicates: number; conflicts: number };
}

export interface StreamSettings {
  seqLen: number;
  stride: number;
  skipGaps: boolean;
  /** The largest label horizon, in candles. */
  lookahead: number;
  /** Candles a window needs before its first (the moving average of a layout that draws one). */
  lookback: number;
  /** The most candles of a month a chunk takes (PIECE_CANDLES; tests use small ones). */
  pieceCandles?: number;
}

const NO_ROWS: Chunk['rows'] = { malformed: 0, outsidePeriod: 0, outsideRange: 0, duplicates: 0, conflicts: 0 };

function empty(intervalMs: number | null): Columns {
  return { openTime: new Float64Array(0), open: new Float64Array(0), high: new Float64Array(0), low: new Float64Array(0), close: new Float64Array(0), volume: new Float64Array(0), intervalMs };
}

/** a's candles [from, a.length) followed by b's [0, take), in new arrays. */
function join(a: Columns, from: number, b: Columns | Candles, take = b.openTime.length): Columns {
  const keep = a.openTime.length - from;
  const out = empty(a.intervalMs ?? b.intervalMs);
  for (const f of FIELDS) {
    const col = new Float64Array(keep + take);
    col.set(a[f].subarray(from), 0);
    col.set((b[f] as Float64Array).subarray(0, take), keep);
    out[f] = col;
  }
  out.intervalMs = b.intervalMs ?? a.intervalMs;
  return out;
}

/** Candles [from, to) of a month, as views (no copy). */
function piece(c: Candles, from: number, to: number): Columns {
  const out = empty(c.intervalMs);
  for (const f of FIELDS) out[f] = (c[f] as Float64Array).subarray(from, to);
  return out;
}

function gapsIn(c: Columns, breaks: Uint32Array, from: number): number {
  const n = c.openTime.length;
  return n === 0 ? 0 : breaks[n - 1] - breaks[Math.max(0, from - 1)];
}

/**
 * The chunks of a segment, in order. `load` returns a month's candles (cached, verified, parsed),
 * which are the generator's to keep: it frees their columns (`release`, by default
 * releaseKlineColumns) once their chunks are made.
 */
export async function* segmentChunks(segment: Segment, load: (span: MonthSpan) => Promise<Candles>, s: StreamSettings, release: (month: Candles) => void = releaseKlineColumns): AsyncGenerator<Chunk> {
  const back = s.seqLen - 1 + s.lookback;
  let carry = empty(null);
  // Global index of the segment's first candle on the run's stride grid (0 but for a shard's piece).
  let gridStart = 0;
  if (segment.earlier && segment.earlier.length > 0) ({ carry, gridStart } = await pieceHistory(segment, load, back, s.stride, release));
  else if (segment.history) {
    // Only the month's last candles: the history of the first windows.
    const before = await load(segment.history);
    const all = join(empty(before.intervalMs), 0, before);
    release(before);
    carry = join(all, Math.max(0, all.openTime.length - back), empty(all.intervalMs), 0);
  }
  // Global index of carry[0] on the segment's stride grid: its first member candle is gridStart.
  let firstGlobal = gridStart - carry.openTime.length;
  let from = gridStart;
  const pieceCandles = s.pieceCandles ?? PIECE_CANDLES;
  // The month being cut into chunks. Dropped before the next one loads: a generator keeps its
  // locals alive across awaits, and two months of 1s candles are 300 MB.
  let candles: Candles | null = null;
  for (let i = 0; i < segment.months.length; i++) {
    const month = segment.months[i];
    candles = null;
    candles = await load(month);
    const n = candles.openTime.length;
    const pieces = Math.max(1, Math.ceil(n / pieceCandles));
    for (let p = 0; p < pieces; p++) {
      const carried = carry.openTime.length;
      const newCandles = Math.min(n, (p + 1) * pieceCandles) - p * pieceCandles;
      let series = join(carry, 0, piece(candles, p * pieceCandles, p * pieceCandles + newCandles));
      const last = i === segment.months.length - 1 && p === pieces - 1;
      let startsBefore = Infinity;
      if (last && segment.lookahead) {
        // The last windows may run into the next month, and their labels past them.
        // A shard's piece reads on into `later` months while the head is short (a short or gappy month).
        startsBefore = series.openTime.length;
        const need = s.seqLen - 1 + s.lookahead;
        for (const span of [segment.lookahead, ...(segment.later ?? [])]) {
          const after = await load(span);
          const got = series.openTime.length - startsBefore;
          series = join(series, 0, after, Math.min(after.openTime.length, need - got));
          release(after);
          if (series.openTime.length - startsBefore >= need) break;
        }
      }
      const plan = planChunk(series, s.seqLen, s.stride, s.skipGaps, { firstGlobal, from, startsBefore, more: !last, lookahead: s.lookahead });
      yield {
        segment,
        month,
        candles: series,
        plan,
        newCandles,
        newGaps: gapsIn(series, plan.breaks, carried) - (Number.isFinite(startsBefore) ? gapsIn(series, plan.breaks, startsBefore) : 0),
        sources: p === 0 ? candles.sources : [],
        rows: p === 0 ? { malformed: candles.skippedRows, outsidePeriod: candles.outOfPeriod, outsideRange: candles.outOfRange, duplicates: candles.duplicates, conflicts: candles.conflicts } : NO_ROWS,
      };
      // Keep what the undecided windows (and their history) still need; drop the rest.
      const keepFrom = Math.min(series.openTime.length, Math.max(0, plan.next - firstGlobal - s.lookback));
      carry = join(series, keepFrom, empty(series.intervalMs), 0);
      firstGlobal += keepFrom;
      from = plan.next;
    }
    // Every chunk holds copies (the carry and the pieces are joined into new arrays): the month's
    // own columns go now, before the next month is parsed.
    release(candles);
  }
}

/**
 * The carry before a shard's piece of a run: the last `back` candles of the run's earlier months
 * (and of the month before the run, when those are short), exactly what the whole run would hold
 * there; and the global index of the piece's first candle, which only a stride > 1 needs (then
 * every earlier month is read to count its candles).
 */
async function pieceHistory(segment: Segment, load: (span: MonthSpan) => Promise<Candles>, back: number, stride: number, release: (month: Candles) => void): Promise<{ carry: Columns; gridStart: number }> {
  const earlier = segment.earlier!;
  const parts: Candles[] = [];
  let held = 0;
  let gridStart = 0;
  for (let i = earlier.length - 1; i >= 0; i--) {
    const c = await load(earlier[i]);
    gridStart += c.openTime.length;
    if (held < back) parts.unshift(c);
    else release(c);
    held += c.openTime.length;
    if (held >= back && stride === 1) break;
  }
  if (held < back && segment.history) parts.unshift(await load(segment.history));
  let all = empty(parts[0]?.intervalMs ?? null);
  for (const p of parts) {
    all = join(all, 0, p);
    release(p);
  }
  return { carry: join(all, Math.max(0, all.openTime.length - back), empty(all.intervalMs), 0), gridStart: stride === 1 ? 0 : gridStart };
}
