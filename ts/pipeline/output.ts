// Where a build writes, and whether it may replace what is there. A build replaces its own
// earlier output (a dataset with the same config hash); a dataset built from another config only
// with `force` (--force, or image.storage.overwrite: true); anything that is not a dataset of this
// package never (the writer refuses it). All of it is decided before any download starts.
import { statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ConfigError, ErrorCode, OhlcError } from '../errors.js';
import type { PipelineConfig } from '../config/schema.js';
import { EXTENSION, formatFromExtension, type StorageFormat } from '../storage/formats.js';
import { existingOutputs } from '../storage/outputs.js';
import { sha256Hex } from '../util/hash.js';

/** The default dataset name: the series, the window shape, and every setting that is not the default. */
export function defaultOutputName(config: PipelineConfig): string {
  const d = config.data;
  const i = config.image;
  const parts = [symbolsPart(config), d.interval, d.start_date, d.end_date];
  if (d.market !== 'spot') parts.push(d.market);
  parts.push(`L${i.seq_len}`, `H${i.resolution.height}`);
  if (i.layout === 'jkx') parts.push(`jkx${i.volume ? '' : '-novol'}${i.ma === i.seq_len ? '' : `-ma${i.ma}`}`);
  if (i.stride !== 1) parts.push(`S${i.stride}`);
  if (i.dtype !== 'uint8') parts.push(i.dtype);
  if (!i.skip_gaps) parts.push('gaps');
  if (config.labels.horizons.length > 0) parts.push(`h${config.labels.horizons.join('-')}`);
  if (d.source === 'sample') parts.push('synthetic');
  return parts.join('_');
}

/** The symbols part of a name: the symbol, a short list, or what a universe is. */
function symbolsPart(config: PipelineConfig): string {
  const d = config.data;
  if (d.universe) return `${d.universe.top ? `top${d.universe.top}` : 'all'}-${d.universe.quote}`;
  const list = d.symbols ?? [d.symbol ?? ''];
  if (list.length <= 3) return list.join('-');
  return `${list.length}symbols-${sha256Hex(list.join(',')).slice(0, 8)}`;
}

/**
 * The output path: the default name under paths.processed_data; `--out` as given (its suffix must
 * agree with the format); or, when `--out` is a folder that is not a dataset (it names no format),
 * the default name inside it.
 */
export function outputPath(config: PipelineConfig, out: string | undefined): string {
  const format = config.image.storage.format;
  if (out === undefined) return join(config.paths.processed_data, defaultOutputName(config));
  const named = formatFromExtension(out);
  if (!named && (out.endsWith(sep) || statSync(out, { throwIfNoEntry: false })?.isDirectory())) return join(out, defaultOutputName(config));
  if (named && named !== format) {
    throw new ConfigError('--out', [`--out ${out} names a ${named} output, but image.storage.format is ${format}: end --out in ${EXTENSION[format]} (or give no suffix), or set the format you meant`]);
  }
  return out;
}

export interface ReplaceDecision {
  /** Whether the writer may replace an existing dataset. */
  overwrite: boolean;
  /** The existing outputs of ours that this build replaces. */
  replaces: string[];
}

/** Throws unless the build may replace the datasets of ours at `path`; foreign files are the writer's refusal. */
export async function decideReplace(path: string, format: StorageFormat, configHash: string, force: boolean): Promise<ReplaceDecision> {
  const { single, batch } = await existingOutputs(path, format);
  const ours = [single, ...batch].filter((o) => o.kind === 'dataset');
  const foreign = [single, ...batch].find((o) => o.kind === 'other');
  if (foreign && foreign.kind === 'other') {
    throw new OhlcError(ErrorCode.exists, `${foreign.path} exists and is ${foreign.what}; it is never replaced (choose another --out or paths.processed_data)`);
  }
  if (!force) {
    for (const o of ours) {
      const theirs = o.metadata.config_sha256;
      if (theirs !== configHash) {
        const what = typeof theirs === 'string' ? `another configuration (config sha256 ${theirs.slice(0, 12)}…, this one ${configHash.slice(0, 12)}…)` : 'a configuration it does not record';
        throw new OhlcError(
          ErrorCode.exists,
          `${o.path} holds a dataset built from ${what}; pass --force (or set image.storage.overwrite: true) to replace it, or choose another --out`,
        );
      }
    }
  }
  return { overwrite: ours.length > 0, replaces: ours.map((o) => o.path) };
}
