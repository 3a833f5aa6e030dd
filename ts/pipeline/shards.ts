// A build cut into N shards that separate processes (or Kubernetes pods) build on their own: the
// build's segments (per symbol, runs of months) become units of one (symbol, month), and the units,
// in the build's own order, are cut into N contiguous runs of about equal expected image counts.
// The cut depends on the config (and a universe's membership) alone, so every shard computes the
// same plan. A shard's piece of a symbol's run reads across its edges what the whole run would
// have there (the history before, the head after: ts/pipeline/stream.ts), so the shards' outputs
// laid end to end are exactly the single build.
import { basename, dirname, join } from 'node:path';
import { intervalMs } from '../data/binance.js';
import { ConfigError } from '../errors.js';
import type { PipelineConfig } from '../config/schema.js';
import { EXTENSION, stemOf, type StorageFormat } from '../storage/formats.js';
import { MAX_SHARDS } from '../limits.js';
import type { Segment } from './segments.js';

/** Which shard of how many a process builds. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** One symbol's consecutive months inside one shard. */
export interface ShardPart {
  symbol: string;
  symbol_index: number;
  /** First and last month ('YYYY-MM') whose windows (by their first candle) the shard draws. */
  from: string;
  to: string;
  expected_images: number;
}

export interface Shard {
  index: number;
  expected_images: number;
  parts: ShardPart[];
}

export interface ShardPlan {
  count: number;
  expected_images: number;
  shards: Shard[];
}

/** The environment variable Kubernetes sets in each pod of an Indexed Job. */
export const COMPLETION_INDEX_VARIABLE = 'JOB_COMPLETION_INDEX';

function checkCount(count: number, flag: string): void {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new ConfigError(flag, [`${flag} takes a number of shards from 1 to ${MAX_SHARDS}, got ${count}`]);
  }
}

/** `--shards N`. */
export function parseShardCount(text: string, flag = '--shards'): number {
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(flag, [`${flag} takes a number of shards (1, 2, ...), got ${JSON.stringify(text)}`]);
  const count = Number(text);
  checkCount(count, flag);
  return count;
}

/**
 * `--shard I/N` (I from 0 to N-1), or `--shard auto/N`: I from JOB_COMPLETION_INDEX, as in a pod of
 * a Kubernetes Indexed Job.
 */
export function parseShardArg(text: string, env: NodeJS.ProcessEnv = process.env): ShardSpec {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ConfigError('--shard', [`--shard takes I/N (shard I of N, from 0) or auto/N (I from ${COMPLETION_INDEX_VARIABLE}), got ${JSON.stringify(text)}`]);
  const count = Number(m[2]);
  checkCount(count, '--shard');
  let index: number;
  if (m[1] === 'auto') {
    const raw = env[COMPLETION_INDEX_VARIABLE];
    if (raw === undefined || raw === '') throw new ConfigError('--shard', [`--shard auto/${count} takes the shard from ${COMPLETION_INDEX_VARIABLE} (set by Kubernetes in an Indexed Job), which is not set; give --shard I/${count} instead`]);
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError('--shard', [`--shard auto/${count}: ${COMPLETION_INDEX_VARIABLE} is ${JSON.stringify(raw)}, not a shard number`]);
    index = Number(raw);
  } else index = Number(m[1]);
  if (index >= count) throw new ConfigError('--shard', [`--shard ${m[1] === 'auto' ? `auto/${count} (${COMPLETION_INDEX_VARIABLE}=${index})` : text.trim()}: shards are numbered 0 to ${count - 1}`]);
  return { index, count };
}

/** A shard is one single-mode dataset: batch sets and per-split files are not cut into shards. */
export function checkShardable(config: PipelineConfig): void {
  if (config.image.storage.mode !== 'single') throw new ConfigError('image.storage.mode', [`--shard builds one file per shard: image.storage.mode must be single, not ${config.image.storage.mode}`]);
  if (config.splits && config.image.storage.split_files) throw new ConfigError('image.storage.split_files', ['--shard builds one file per shard: image.storage.split_files must be false (the split array says each window\'s split)']);
}

/** About how many windows one month of a segment gives (what the cut balances). */
function monthImages(segment: Segment, month: number, config: PipelineConfig): number {
  const m = segment.months[month];
  const step = intervalMs(config.data.interval) ?? 30.44 * 86_400_000;
  const candles = Math.floor((m.end - m.start) / step);
  const history = month > 0 || segment.history ? 0 : config.image.seq_len - 1;
  return Math.max(0, Math.floor(Math.max(0, candles - history) / config.image.stride));
}

interface Unit {
  segment: number;
  month: number;
  images: number;
}

/**
 * The split of a build's segments into `count` shards: contiguous runs of (symbol, month) units in
 * the build's order, each shard taking units up to about an equal share of what is left.
 */
export function planShards(segments: readonly Segment[], config: PipelineConfig, count: number, flag = '--shards'): ShardPlan {
  checkCount(count, flag);
  const units: Unit[] = segments.flatMap((s, segment) => s.months.map((_, month) => ({ segment, month, images: monthImages(s, month, config) })));
  if (units.length < count) {
    throw new ConfigError(flag, [`${flag} ${count}: the build has only ${units.length} (symbol, month) unit${units.length === 1 ? '' : 's'} to share out; ask for at most ${units.length} shards`]);
  }
  const total = units.reduce((n, u) => n + u.images, 0);
  // The smallest largest shard (what the Job's wall time waits for), found by bisection on it.
  let lo = Math.max(0, ...units.map((u) => u.images));
  let hi = Math.max(lo, total);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (cut(units, count, mid).every((p) => p.load <= mid)) hi = mid;
    else lo = mid + 1;
  }
  const shards: Shard[] = cut(units, count, lo).map((p, index) => ({ index, expected_images: p.load, parts: partsOf(p.units, segments) }));
  return { count, expected_images: total, shards };
}

/**
 * Units cut in order into `count` runs of at most `capacity` images where possible: each run takes
 * units while they fit, keeping one unit for each run still to come; the last takes the rest.
 */
function cut(units: Unit[], count: number, capacity: number): Array<{ units: Unit[]; load: number }> {
  const runs: Array<{ units: Unit[]; load: number }> = [];
  let at = 0;
  for (let k = 0; k < count; k++) {
    const run = { units: [] as Unit[], load: 0 };
    while (at < units.length && (k === count - 1 || (units.length - at > count - k - 1 && (run.units.length === 0 || run.load + units[at].images <= capacity)))) {
      run.units.push(units[at]);
      run.load += units[at++].images;
    }
    runs.push(run);
  }
  return runs;
}

function partsOf(units: Unit[], segments: readonly Segment[]): ShardPart[] {
  const parts: ShardPart[] = [];
  let prev: Unit | null = null;
  for (const u of units) {
    const s = segments[u.segment];
    const last = parts.at(-1);
    if (last && prev && prev.segment === u.segment && prev.month + 1 === u.month) {
      last.to = s.months[u.month].month;
      last.expected_images += u.images;
    } else parts.push({ symbol: s.symbol, symbol_index: s.symbolIndex, from: s.months[u.month].month, to: s.months[u.month].month, expected_images: u.images });
    prev = u;
  }
  return parts;
}

/**
 * The segments shard `index` builds: its parts as segments, each reading across its edges what
 * the whole run reads there (the run's earlier months for history and the stride grid, its later
 * months for the last windows and their labels).
 */
export function shardSegments(segments: readonly Segment[], shard: Shard): Segment[] {
  const out: Segment[] = [];
  for (const part of shard.parts) {
    const s = segments.find((x) => x.symbol === part.symbol && x.months.some((m) => m.month === part.from))!;
    const a = s.months.findIndex((m) => m.month === part.from);
    const b = s.months.findIndex((m) => m.month === part.to);
    const last = s.months.length - 1;
    if (a === 0 && b === last) {
      out.push(s);
      continue;
    }
    out.push({
      symbol: s.symbol,
      symbolIndex: s.symbolIndex,
      months: s.months.slice(a, b + 1),
      history: s.history,
      lookahead: b < last ? s.months[b + 1] : s.lookahead,
      ...(a > 0 ? { earlier: s.months.slice(0, a) } : {}),
      ...(b < last ? { later: [...s.months.slice(b + 2), ...(s.lookahead ? [s.lookahead] : [])] } : {}),
    });
  }
  return out;
}

const SHARD_NAME = /^(.*)\.shard-(\d{5})-of-(\d{5})$/;

/** Where shard `index` of `count` writes: `<stem>.shard-IIIII-of-NNNNN<suffix>`. */
export function shardOutputPath(out: string, format: StorageFormat, shard: ShardSpec): string {
  return `${stemOf(out, format)}.shard-${String(shard.index).padStart(5, '0')}-of-${String(shard.count).padStart(5, '0')}${EXTENSION[format]}`;
}

/** For a shard's file name: its dataset's stem, index and count; null for any other name. */
export function parseShardOutput(path: string, format: StorageFormat): { stem: string; index: number; count: number } | null {
  const m = SHARD_NAME.exec(basename(stemOf(path, format)));
  return m ? { stem: join(dirname(path), m[1]), index: Number(m[2]), count: Number(m[3]) } : null;
}
