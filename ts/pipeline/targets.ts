// Where a build's windows go: one dataset (with a `split` array when splits are on), or one per
// split (image.storage.split_files). Keeps, per dataset, the per-symbol table and the label balance
// of each split, for the metadata and the summary.
import type { PipelineConfig } from '../config/schema.js';
import type { ResolvedDevice } from '../images/device.js';
import { stemOf } from '../storage/formats.js';
import { createDatasetWriter, type DatasetWriter, type FileDigest } from '../storage/writer.js';
import { SPLIT_NAMES } from './splits.js';
import type { TimedCandles } from './windows.js';

/** The output path of each dataset: one, or one per split. */
export function targetPaths(out: string, config: PipelineConfig): string[] {
  if (!config.splits || !config.image.storage.split_files) return [out];
  const stem = stemOf(out, config.image.storage.format);
  return SPLIT_NAMES.map((name) => `${stem}_${name}`);
}

export interface SymbolIndexEntry {
  symbol: string;
  first: number;
  count: number;
  first_time: number | null;
  last_time: number | null;
}

/** Per split: windows, and per horizon how many labels are known and how many say up. */
export interface SplitBalance {
  images: number;
  known: number[];
  up: number[];
}

/** Per split: images, and the share of known labels that say up, per horizon (null when none is known). */
export function describeBalance(balance: readonly SplitBalance[], horizons: readonly number[]): Record<string, { images: number; up: Record<string, number | null> }> {
  return Object.fromEntries(
    SPLIT_NAMES.map((name, k) => {
      const b = balance[k];
      return [name, { images: b.images, up: Object.fromEntries(horizons.map((h, j) => [String(h), b.known[j] ? +(b.up[j] / b.known[j]).toFixed(6) : null])) }];
    }),
  );
}

export interface Rows {
  candles: TimedCandles;
  starts: Float64Array;
  timestamps: Float64Array;
  labels: Int8Array;
  returns: Float64Array;
  symbol: string;
  symbolIndex: number;
  /** jkx with a line: per window, whether its moving-average history is there (no gap). */
  maOk: Uint8Array | null;
  /** The split of each window (null without splits). */
  split: Uint8Array | null;
}

interface Target {
  path: string;
  writer: DatasetWriter;
  count: number;
  index: Map<string, SymbolIndexEntry>;
}

/** A dataset about to be completed, as its metadata sees it. */
export interface ClosingTarget {
  path: string;
  index: SymbolIndexEntry[];
  split: number | null;
  digests: FileDigest[];
  images: number;
}

export interface ClosedTarget extends ClosingTarget {
  files: string[];
  removed: string[];
  contentSha256: string;
}

export interface TargetSettings {
  config: PipelineConfig;
  device: ResolvedDevice;
  overwrite: boolean;
  crossSection: boolean;
  metadata: Record<string, unknown>;
}

export class BuildTargets {
  readonly balance: SplitBalance[];
  private constructor(
    private readonly targets: Target[],
    private readonly horizons: number[],
    private readonly splitFiles: boolean,
    private readonly crossSection: boolean,
  ) {
    this.balance = SPLIT_NAMES.map(() => ({ images: 0, known: horizons.map(() => 0), up: horizons.map(() => 0) }));
  }

  static async open(paths: string[], s: TargetSettings): Promise<BuildTargets> {
    const { config } = s;
    const split = config.splits !== undefined;
    const targets: Target[] = [];
    try {
      for (const [k, path] of paths.entries()) {
        const writer = await createDatasetWriter(path, {
          format: config.image.storage.format,
          mode: config.image.storage.mode,
          imagesPerFile: config.image.storage.images_per_file,
          seqLen: config.image.seq_len,
          height: config.image.resolution.height,
          dtype: config.image.dtype,
          horizons: config.labels.horizons,
          compression: config.image.storage.compression,
          quality: config.image.storage.quality,
          zarrFormat: config.image.storage.zarr_format,
          zarrShardImages: config.image.storage.zarr_shard_images,
          threads: config.runtime.threads,
          device: s.device,
          overwrite: s.overwrite,
          arrays: { symbolIndex: s.crossSection, split },
          ...(config.image.layout === 'jkx' ? { layout: 'jkx', volume: config.image.volume, ma: config.image.ma } : {}),
          metadata: paths.length > 1 ? { ...s.metadata, split_file: SPLIT_NAMES[k] } : s.metadata,
        });
        targets.push({ path, writer, count: 0, index: new Map() });
      }
    } catch (err) {
      await Promise.all(targets.map((t) => t.writer.abort()));
      throw err;
    }
    return new BuildTargets(targets, config.labels.horizons, paths.length > 1, s.crossSection);
  }

  /** Appends windows, each to its split's dataset (or all to the one). */
  async append(rows: Rows, signal?: AbortSignal): Promise<void> {
    this.count(rows);
    if (!this.splitFiles) return this.write(this.targets[0], rows, null, signal);
    for (let k = 0; k < this.targets.length; k++) {
      const pick: number[] = [];
      rows.split!.forEach((v, i) => v === k && pick.push(i));
      if (pick.length > 0) await this.write(this.targets[k], rows, pick, signal);
    }
  }

  private count(rows: Rows): void {
    const k = this.horizons.length;
    for (let i = 0; i < rows.starts.length; i++) {
      const b = this.balance[rows.split ? rows.split[i] : 0];
      b.images++;
      for (let j = 0; j < k; j++) {
        const label = rows.labels[i * k + j];
        if (label >= 0) b.known[j]++;
        if (label === 1) b.up[j]++;
      }
    }
  }

  private async write(t: Target, rows: Rows, pick: number[] | null, signal?: AbortSignal): Promise<void> {
    const k = this.horizons.length;
    const take = <T extends Float64Array | Int8Array | Uint8Array>(a: T, per: number): T => {
      if (!pick) return a;
      const out = new (a.constructor as new (n: number) => T)(pick.length * per);
      pick.forEach((i, j) => out.set(a.subarray(i * per, (i + 1) * per), j * per));
      return out;
    };
    const starts = take(rows.starts, 1);
    const timestamps = take(rows.timestamps, 1);
    const labelRows = k > 0 ? { labels: take(rows.labels, k), returns: take(rows.returns, k) } : {};
    const n = starts.length;
    await t.writer.append(
      {
        candles: rows.candles,
        starts,
        timestamps,
        ...labelRows,
        symbolIndex: this.crossSection ? new Uint16Array(n).fill(rows.symbolIndex) : undefined,
        split: rows.split ? take(rows.split, 1) : undefined,
        ...(rows.maOk ? { maOk: take(rows.maOk, 1) } : {}),
      },
      { signal },
    );
    const entry = t.index.get(rows.symbol) ?? { symbol: rows.symbol, first: t.count, count: 0, first_time: null, last_time: null };
    entry.count += n;
    entry.first_time ??= timestamps[0];
    entry.last_time = timestamps[n - 1];
    t.index.set(rows.symbol, entry);
    t.count += n;
  }

  /**
   * Completes every dataset: `metadata` says what its last file's metadata adds (its symbol table,
   * split, and the manifest, made from the digests of its files).
   */
  async close(metadata: (target: ClosingTarget) => Record<string, unknown>): Promise<ClosedTarget[]> {
    const closed: ClosedTarget[] = [];
    for (const [k, t] of this.targets.entries()) {
      const r = await t.writer.close((last, earlier) => metadata({ path: t.path, index: [...t.index.values()], split: this.splitFiles ? k : null, digests: [...earlier, last], images: t.count }));
      closed.push({ path: t.path, files: r.files, removed: r.removed, digests: r.digests, contentSha256: r.contentSha256, images: t.count, index: [...t.index.values()], split: this.splitFiles ? k : null });
    }
    return closed;
  }

  async abort(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.writer.abort()));
  }
}
