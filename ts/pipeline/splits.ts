// Leakage-safe splits. Windows overlap and labels look ahead, so a window is assigned to the split
// of its first candle's time, and dropped (purged) when any candle it shows or its labels look at
// lies in another split, or when it starts within `embargo` bars after a boundary between splits.
// The boundaries are instants, the same for every symbol; blocks are assigned by seed and block
// number alone, so any machine or shard decides the same.
import { createHash } from 'node:crypto';
import { parseDateArg, DAY_MS } from '../data/dates.js';
import type { PipelineConfig } from '../config/schema.js';

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** A split rule resolved to instants (ms, UTC). */
export interface SplitRule {
  method: 'chronological' | 'blocks';
  /** chronological: train before b[0], validation before b[1], test after. */
  boundaries: number[];
  /** blocks: block length, the end of the in-sample period, the validation share and the seed. */
  blockMs: number;
  inSampleEnd: number;
  valFraction: number;
  seed: number;
  /** The range the blocks are counted from. */
  origin: number;
  embargoBars: number;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** '1d', '12h', '30m', '2w' as ms. */
export function parseBlock(text: string): number {
  const m = /^(\d+)([mhdw])$/.exec(text);
  if (!m || Number(m[1]) < 1) throw new RangeError(`not a block length: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** The end (exclusive) of an inclusive UTC date: train_end 2024-01-20 keeps all of that day. */
function endOf(date: string, key: string): number {
  return parseDateArg(key, date).end;
}

export function resolveSplits(config: PipelineConfig): SplitRule | null {
  const s = config.splits;
  if (!s) return null;
  const start = parseDateArg('start_date', config.data.start_date).start;
  const end = parseDateArg('end_date', config.data.end_date).end;
  const embargoBars = s.embargo ?? config.image.seq_len;
  const base = { blockMs: 0, inSampleEnd: Infinity, valFraction: 0, seed: 0, origin: start, embargoBars };
  if (s.method === 'chronological') {
    let boundaries: number[];
    if (s.fractions) {
      const [train, val] = s.fractions;
      boundaries = [start + Math.round((end - start) * train), start + Math.round((end - start) * (train + val))];
    } else {
      boundaries = [endOf(s.train_end!, 'splits.train_end'), endOf(s.val_end!, 'splits.val_end')];
    }
    return { ...base, method: 'chronological', boundaries };
  }
  return { ...base, method: 'blocks', boundaries: [], blockMs: parseBlock(s.block), inSampleEnd: endOf(s.in_sample_end!, 'splits.in_sample_end'), valFraction: s.val_fraction, seed: s.seed };
}

/** Whether block `k` goes to validation: a hash of seed and block number, compared with the share. */
function blockIsValidation(rule: SplitRule, k: number): boolean {
  const h = createHash('sha256').update(`${rule.seed}:${k}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < rule.valFraction;
}

/** The split (0 train, 1 val, 2 test) of the instant `t`. */
export function splitAt(rule: SplitRule, t: number): number {
  if (rule.method === 'chronological') return t < rule.boundaries[0] ? 0 : t < rule.boundaries[1] ? 1 : 2;
  if (t >= rule.inSampleEnd) return 2;
  return blockIsValidation(rule, Math.floor((t - rule.origin) / rule.blockMs)) ? 1 : 0;
}

/**
 * The instants b with from < b <= to where the split changes (the windows that ask span a few
 * hundred bars, so this walks few blocks).
 */
function boundariesIn(rule: SplitRule, from: number, to: number): number[] {
  if (rule.method === 'chronological') return rule.boundaries.filter((b) => b > from && b <= to);
  const out: number[] = [];
  for (let k = Math.floor((from - rule.origin) / rule.blockMs) + 1; ; k++) {
    const edge = rule.origin + k * rule.blockMs;
    if (edge > to || edge >= rule.inSampleEnd) break;
    if (splitAt(rule, edge - 1) !== splitAt(rule, edge)) out.push(edge);
  }
  const ise = rule.inSampleEnd;
  if (ise > from && ise <= to && splitAt(rule, ise - 1) !== 2) out.push(ise);
  return out;
}

/** The last boundary at or before `t` (within `lookback` ms), or null. */
function lastBoundary(rule: SplitRule, t: number, lookback: number): number | null {
  const found = boundariesIn(rule, t - lookback, t);
  return found.length ? found[found.length - 1] : null;
}

export interface SplitDecision {
  /** The split of each kept window. */
  split: Uint8Array;
  /** Which of the given windows are kept. */
  keep: Uint8Array;
  purged: number;
}

/**
 * Splits and purges windows starting at `starts` of a series with open times `openTime`:
 * `span` is the time from a window's first candle to the last one its labels look at.
 */
export function decideSplits(rule: SplitRule, openTime: Float64Array, starts: ArrayLike<number>, seqLen: number, lookahead: number, intervalMs: number | null): SplitDecision {
  const step = intervalMs ?? 31 * DAY_MS;
  const split = new Uint8Array(starts.length);
  const keep = new Uint8Array(starts.length);
  let purged = 0;
  for (let i = 0; i < starts.length; i++) {
    const first = openTime[starts[i]];
    const last = openTime[starts[i] + seqLen - 1] + lookahead * step;
    const s = splitAt(rule, first);
    // Purge: a boundary inside what the window shows or labels; embargo: one just before it.
    const crossed = boundariesIn(rule, first, last).length > 0;
    const embargoed = lastBoundary(rule, first, rule.embargoBars * step) !== null;
    if (crossed || embargoed) {
      purged++;
      continue;
    }
    split[i] = s;
    keep[i] = 1;
  }
  return { split, keep, purged };
}

/** The rule as the metadata records it. */
export function describeSplits(rule: SplitRule): Record<string, unknown> {
  const iso = (t: number) => new Date(t).toISOString();
  return rule.method === 'chronological'
    ? { method: rule.method, boundaries: rule.boundaries.map(iso), embargo_bars: rule.embargoBars }
    : { method: rule.method, block_ms: rule.blockMs, in_sample_end: iso(rule.inSampleEnd), val_fraction: rule.valFraction, seed: rule.seed, origin: iso(rule.origin), embargo_bars: rule.embargoBars };
}

/** The periods [from, to) of train, val and test under a rule (train and val share the in-sample period of blocks). */
function splitPeriods(rule: SplitRule): Array<[number, number]> {
  if (rule.method === 'chronological') return [[-Infinity, rule.boundaries[0]], [rule.boundaries[0], rule.boundaries[1]], [rule.boundaries[1], Infinity]];
  return [[-Infinity, rule.inSampleEnd], [-Infinity, rule.inSampleEnd], [rule.inSampleEnd, Infinity]];
}

/**
 * Why split `k` of a build over [start, end) holds no image, in the config's words: its period
 * misses the data (a boundary outside data.start_date..data.end_date), its share is 0, or every
 * window in it was purged.
 */
export function emptySplitReason(rule: SplitRule, k: number, range: { start: number; end: number }, config: PipelineConfig): string {
  const s = config.splits!;
  const d = config.data;
  const [from, to] = splitPeriods(rule)[k];
  const keys =
    s.method === 'blocks'
      ? 'splits.in_sample_end'
      : s.fractions
        ? 'splits.fractions'
        : ['splits.train_end', 'splits.train_end and splits.val_end', 'splits.val_end'][k];
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  if (to <= from) return `its period is empty (${keys})`;
  if (Math.max(from, range.start) >= Math.min(to, range.end)) {
    const period = from === -Infinity ? `through ${iso(to - 1)}` : to === Infinity ? `from ${iso(from)}` : `${iso(from)} through ${iso(to - 1)}`;
    return `its period (${period}, by ${keys}) lies outside the data, data.start_date ${d.start_date} to data.end_date ${d.end_date}`;
  }
  if (rule.method === 'blocks' && k === 1 && rule.valFraction === 0) return 'splits.val_fraction is 0';
  const window = `${config.image.seq_len} candles and ${Math.max(0, ...config.labels.horizons)} of labels, then splits.embargo ${rule.embargoBars} bars after each boundary`;
  return rule.method === 'blocks'
    ? `every window in it was purged: a splits.block of ${s.block} is too short for a window (${window})`
    : `every window in it was purged (a window crossing a boundary, or starting within ${rule.embargoBars} bars after one: splits.embargo)`;
}
