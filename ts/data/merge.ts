// Joins per-archive columns into one series: kept within the requested span, sorted by open
// time (stable), exact duplicates dropped, same-time rows with other values dropped as conflicts
// (the first one wins), and the gaps the interval implies.
import type { Gap, KlineColumns } from './types.js';
import { monthsBetween } from './dates.js';

export type { KlineColumns } from './types.js';

export interface MergedKlines extends KlineColumns {
  duplicates: number;
  conflicts: number;
  /** Rows outside [start, end), dropped. */
  outOfRange: number;
}

const FIELDS = ['openTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume'] as const;

function sameRow(c: KlineColumns, i: number, j: number): boolean {
  return (
    c.open[i] === c.open[j] && c.high[i] === c.high[j] && c.low[i] === c.low[j] && c.close[i] === c.close[j] && c.volume[i] === c.volume[j] && c.quoteVolume[i] === c.quoteVolume[j]
  );
}

function allocate(n: number): KlineColumns {
  const f = () => new Float64Array(n);
  return { openTime: f(), open: f(), high: f(), low: f(), close: f(), volume: f(), quoteVolume: f() };
}

function slice(c: KlineColumns, n: number): KlineColumns {
  if (n === c.openTime.length) return c;
  const out = {} as KlineColumns;
  for (const f of FIELDS) out[f] = c[f].slice(0, n);
  return out;
}

function copyRow(from: KlineColumns, i: number, to: KlineColumns, n: number): void {
  to.openTime[n] = from.openTime[i];
  to.open[n] = from.open[i];
  to.high[n] = from.high[i];
  to.low[n] = from.low[i];
  to.close[n] = from.close[i];
  to.volume[n] = from.volume[i];
  to.quoteVolume[n] = from.quoteVolume[i];
}

function insideRange(t: Float64Array, start: number, end: number): number {
  let inside = 0;
  for (let i = 0; i < t.length; i++) inside += t[i] >= start && t[i] < end ? 1 : 0;
  return inside;
}

function concatInRange(parts: readonly KlineColumns[], start: number, end: number): { columns: KlineColumns; outOfRange: number } {
  // One archive wholly inside (a month of a monthly build): its columns as they are, not copied
  // (a month of 1s candles is 150 MB of columns).
  if (parts.length === 1 && insideRange(parts[0].openTime, start, end) === parts[0].openTime.length) {
    const columns = {} as KlineColumns;
    for (const f of FIELDS) columns[f] = parts[0][f];
    return { columns, outOfRange: 0 };
  }
  let total = 0;
  for (const p of parts) total += p.openTime.length;
  const columns = allocate(total);
  let n = 0;
  for (const p of parts) {
    const t = p.openTime;
    const inside = insideRange(t, start, end);
    if (inside === t.length) {
      for (const f of FIELDS) columns[f].set(p[f], n);
      n += inside;
    } else {
      for (let i = 0; i < t.length; i++) if (t[i] >= start && t[i] < end) copyRow(p, i, columns, n++);
    }
  }
  return { columns: slice(columns, n), outOfRange: total - n };
}

/** Row order sorted by open time; rows with equal times keep their input order. */
function sortedOrder(t: Float64Array): Uint32Array | null {
  let sorted = true;
  for (let i = 1; i < t.length && sorted; i++) sorted = t[i - 1] <= t[i];
  if (sorted) return null;
  const order = new Uint32Array(t.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => t[a] - t[b] || a - b);
  return order;
}

function strictlyIncreasing(t: Float64Array): boolean {
  for (let i = 1; i < t.length; i++) if (!(t[i - 1] < t[i])) return false;
  return true;
}

export function mergeKlines(parts: readonly KlineColumns[], start: number, end: number): MergedKlines {
  const { columns: c, outOfRange } = concatInRange(parts, start, end);
  const order = sortedOrder(c.openTime);
  if (order === null && strictlyIncreasing(c.openTime)) return { ...c, duplicates: 0, conflicts: 0, outOfRange };
  const out = allocate(c.openTime.length);
  let n = 0;
  let duplicates = 0;
  let conflicts = 0;
  let kept = -1; // source index of the last row kept
  for (let k = 0; k < c.openTime.length; k++) {
    const i = order ? order[k] : k;
    if (kept >= 0 && c.openTime[i] === c.openTime[kept]) {
      if (sameRow(c, i, kept)) duplicates++;
      else conflicts++;
      continue;
    }
    copyRow(c, i, out, n++);
    kept = i;
  }
  return { ...slice(out, n), duplicates, conflicts, outOfRange };
}

/**
 * Runs of missing candles in a sorted, unique series: fixed-length intervals by arithmetic,
 * 'monthly' (intervalMs null) by calendar months.
 */
export function computeGaps(openTime: Float64Array, intervalMs: number | null): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 1; i < openTime.length; i++) {
    const from = openTime[i - 1];
    const to = openTime[i];
    const missing = missingBetween(from, to, intervalMs);
    if (missing > 0) gaps.push({ from, to, missing });
  }
  return gaps;
}

/** Candles expected strictly between open times `from` and `to`. */
export function missingBetween(from: number, to: number, intervalMs: number | null): number {
  const steps = intervalMs === null ? monthsBetween(from, to) : Math.round((to - from) / intervalMs);
  return Math.max(0, steps - 1);
}
