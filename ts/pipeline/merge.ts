// `ohlc-native merge`: the shards of a build (ts/pipeline/shards.ts) presented as one HDF5 dataset
// without copying. Every shard 0..N-1 must be there, complete (file and manifest agreeing) and of
// one config; then a master file is written whose datasets are HDF5 virtual datasets mapping the
// shards' rows in order (native/storage/hdf5_virtual.cpp), by paths relative to the master's
// folder, with the shards' metadata merged (sums of counts, one symbol table, one source list).
import { mkdir, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { PipelineConfig } from '../config/schema.js';
import { configSha256 } from '../config/hash.js';
import { ErrorCode, OhlcError, ConfigError } from '../errors.js';
import { writeVirtualHdf5 } from '../storage/virtual.js';
import { singleOutputPath, stemOf } from '../storage/formats.js';
import { setDigest } from '../storage/writer.js';
import { removeQuietly, temporaryPath, writeFileAtomic } from '../util/files.js';
import { buildInfo } from '../info.js';
import { manifestPath, type Manifest } from './manifest.js';
import { decideReplace, outputPath } from './output.js';
import { parseShardOutput, shardOutputPath } from './shards.js';
import { shardState } from './shard-files.js';
import { describeBalance, type SplitBalance, type SymbolIndexEntry } from './targets.js';

export interface MergeOptions {
  /** The build's config: its shards are found beside its output, and must carry its hash. */
  config?: PipelineConfig;
  /** The config's --out, where its shards were written (as given to build --out). */
  buildOut?: string;
  /** The master file (default: the single build's output name, beside the shards). */
  out?: string;
  /** Shard files given by name instead of found from the config. */
  files?: string[];
  force?: boolean;
  signal?: AbortSignal;
}

export interface MergeSummary {
  master: string;
  manifest: string;
  shards: string[];
  images: number;
  rowsPerShard: number[];
  datasets: string[];
}

const shardsError = (message: string) => new OhlcError(ErrorCode.shards, message);

/** The shard files of a dataset stem found in its folder, and how many shards they say there are. */
async function findShards(stem: string): Promise<{ count: number; files: string[] }> {
  const dir = dirname(stem);
  const names = await readdir(dir).catch(() => [] as string[]);
  const counts = new Set<number>();
  for (const name of names) {
    const parsed = parseShardOutput(join(dir, name), 'hdf5');
    if (parsed && parsed.stem === stem && name.endsWith('.h5')) counts.add(parsed.count);
  }
  if (counts.size === 0) throw shardsError(`no shard of ${basename(stem)} in ${dir} (${basename(stem)}.shard-IIIII-of-NNNNN.h5): build them with ohlc-native build --shard I/N first`);
  if (counts.size > 1) throw shardsError(`${dir} holds shards of ${basename(stem)} from builds into different numbers of shards (${[...counts].sort((a, b) => a - b).join(', ')}): remove the other set, or name the shard files to merge`);
  const count = [...counts][0];
  return { count, files: Array.from({ length: count }, (_, i) => shardOutputPath(stem, 'hdf5', { index: i, count })) };
}

/** The shards as given on the command line: names of one set, in shard order. */
function givenShards(files: string[]): { count: number; files: string[]; stem: string } {
  const parsed = files.map((f) => {
    const p = parseShardOutput(resolve(f), 'hdf5');
    if (!p || !f.endsWith('.h5')) throw new ConfigError('SHARD_FILES', [`${f} is not a shard file's name (<name>.shard-IIIII-of-NNNNN.h5)`]);
    return { ...p, file: resolve(f) };
  });
  const { stem, count } = parsed[0];
  for (const p of parsed) {
    if (p.stem !== stem || p.count !== count) throw shardsError(`${p.file} is not a shard of the same build as ${parsed[0].file} (another name or number of shards)`);
  }
  const byIndex = new Map(parsed.map((p) => [p.index, p.file]));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw shardsError(`shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${count} ${missing.length === 1 ? 'is' : 'are'} not among the files given (${shardOutputPath(stem, 'hdf5', { index: missing[0], count })}): every shard 0..${count - 1} is needed`);
  return { count, stem, files: Array.from({ length: count }, (_, i) => byIndex.get(i)!) };
}

function sumCounts(into: Record<string, number>, add: unknown): void {
  if (!add || typeof add !== 'object') return;
  for (const [k, v] of Object.entries(add as Record<string, unknown>)) if (typeof v === 'number') into[k] = (into[k] ?? 0) + v;
}

/** One symbol table over the shards: each shard's entries moved by the rows before it, a symbol cut by a shard edge joined again. */
function mergeSymbolTables(tables: SymbolIndexEntry[][], rows: number[]): SymbolIndexEntry[] {
  const out: SymbolIndexEntry[] = [];
  let offset = 0;
  tables.forEach((table, k) => {
    for (const e of table) {
      const last = out.at(-1);
      if (last && last.symbol === e.symbol && last.first + last.count === offset + e.first) {
        last.count += e.count;
        last.last_time = e.last_time ?? last.last_time;
      } else out.push({ ...e, first: offset + e.first });
    }
    offset += rows[k];
  });
  return out;
}

/** The metadata of the master: the first shard's, with every per-shard count summed over all of them. */
function mergedMetadata(metas: Record<string, unknown>[], rows: number[], shardNames: string[]): Record<string, unknown> {
  const { shard: _shard, manifest: _manifest, created_at: _created, ...base } = metas[0];
  const sources = new Map<string, unknown>();
  const skipped: Record<string, number> = {};
  const skippedRows: Record<string, number> = {};
  const skippedSymbols = new Map<string, unknown>();
  let maUnavailable: number | null = null;
  for (const m of metas) {
    for (const s of (m.sources as Array<{ name: string }> | undefined) ?? []) if (!sources.has(s.name)) sources.set(s.name, s);
    sumCounts(skipped, m.skipped);
    sumCounts(skippedRows, m.skipped_rows);
    for (const s of (m.skipped_symbols as Array<{ symbol: string }> | undefined) ?? []) if (!skippedSymbols.has(s.symbol)) skippedSymbols.set(s.symbol, s);
    if (typeof m.ma_unavailable === 'number') maUnavailable = (maUnavailable ?? 0) + m.ma_unavailable;
  }
  const out: Record<string, unknown> = {
    ...base,
    created_at: new Date().toISOString(),
    generator: `${buildInfo().name} ${buildInfo().version}`,
    sources: [...sources.values()],
    skipped,
    skipped_rows: skippedRows,
    shards: { count: metas.length, files: shardNames, images: rows },
  };
  if (maUnavailable !== null) out.ma_unavailable = maUnavailable;
  if (base.symbol_table !== undefined) {
    out.symbol_table = mergeSymbolTables(metas.map((m) => (m.symbol_table as SymbolIndexEntry[]) ?? []), rows);
    out.skipped_symbols = [...skippedSymbols.values()];
  }
  const balances = metas.map((m) => (m.shard as { balance?: SplitBalance[] } | undefined)?.balance);
  if (base.split_balance !== undefined && balances.every((b) => b)) {
    const horizons = (base.horizons as number[]) ?? [];
    const total = balances[0]!.map((_, k) => ({
      images: balances.reduce((n, b) => n + b![k].images, 0),
      known: horizons.map((_, j) => balances.reduce((n, b) => n + b![k].known[j], 0)),
      up: horizons.map((_, j) => balances.reduce((n, b) => n + b![k].up[j], 0)),
    }));
    out.split_balance = describeBalance(total, horizons);
  }
  return out;
}

export async function mergeShards(options: MergeOptions): Promise<MergeSummary> {
  const configHash = options.config ? configSha256(options.config) : null;
  if (options.config && options.config.image.storage.format !== 'hdf5') {
    throw new ConfigError('image.storage.format', [`merge writes an HDF5 master over HDF5 shards; image.storage.format is ${options.config.image.storage.format}`]);
  }
  let set: { count: number; files: string[]; stem: string };
  if (options.files && options.files.length > 0) set = givenShards(options.files);
  else if (options.config) {
    const stem = resolve(stemOf(outputPath(options.config, options.buildOut), 'hdf5'));
    set = { stem, ...(await findShards(stem)) };
  } else throw new ConfigError('--config', ['merge needs the build\'s config (--config) or the shard files to merge']);

  // Every shard present, complete, and of one config, before anything is written.
  const states = await Promise.all(set.files.map((f, index) => shardState(f, 'hdf5', configHash, { index, count: set.count })));
  const metas: Record<string, unknown>[] = [];
  const manifests: Manifest[] = [];
  for (const [index, s] of states.entries()) {
    const name = `shard ${index} of ${set.count}`;
    if (s.state === 'missing') throw shardsError(`${name} is missing: ${s.path} does not exist (build it with ohlc-native build --shard ${index}/${set.count})`);
    if (s.state === 'incomplete') throw shardsError(`${name} is incomplete: ${s.path}: ${s.why}; build it again with ohlc-native build --shard ${index}/${set.count}`);
    if (s.state === 'mismatch') throw shardsError(`${name} does not belong to this build: ${s.path}: ${s.why}`);
    metas.push(s.metadata);
    manifests.push(s.manifestData);
  }
  const first = metas[0];
  for (const [index, m] of metas.entries()) {
    if (m.config_sha256 !== first.config_sha256) {
      throw shardsError(`shard ${index} of ${set.count} (${set.files[index]}) was built from another configuration than shard 0 (config sha256 ${String(m.config_sha256).slice(0, 12)}… against ${String(first.config_sha256).slice(0, 12)}…)`);
    }
    if (JSON.stringify(m.symbols ?? m.symbol) !== JSON.stringify(first.symbols ?? first.symbol)) {
      throw shardsError(`shard ${index} of ${set.count} (${set.files[index]}) lists other symbols than shard 0 (a universe resolved differently): build the shards again from one listing`);
    }
  }

  const master = resolve(options.out ?? singleOutputPath(set.stem, 'hdf5'));
  const masterDir = dirname(master);
  // A master of this config is replaced; anything else at that name only with --force, never a foreign file.
  await decideReplace(master, 'hdf5', String(first.config_sha256), options.force === true);
  await mkdir(masterDir, { recursive: true });
  const stored = set.files.map((f) => relative(masterDir, f));
  // The rows each shard holds come from the files themselves (native), the metadata from them too.
  const temp = temporaryPath(master);
  const rowsGuess = manifests.map((m) => (typeof m.counts?.images === 'number' ? m.counts.images : 0));
  const meta = mergedMetadata(metas, rowsGuess, stored);
  const inputs = new Map<string, Manifest['inputs'][number]>();
  for (const m of manifests) for (const i of m.inputs) if (!inputs.has(i.name)) inputs.set(i.name, i);
  const counts: Record<string, unknown> = { images: rowsGuess.reduce((a, b) => a + b, 0), skipped: meta.skipped, skipped_rows: meta.skipped_rows, shards: set.count };
  const manifestDir = dirname(manifestPath(master, 'hdf5'));
  const digests = manifests.map((m) => ({ contentSha256: m.content_sha256, arrays: m.outputs[0].arrays }));
  const manifest: Manifest = {
    ...manifests[0],
    created_at: meta.created_at as string,
    inputs: [...inputs.values()],
    counts,
    outputs: set.files.map((f, k) => ({ file: relative(manifestDir, f), bytes: manifests[k].outputs[0].bytes, content_sha256: digests[k].contentSha256, arrays: digests[k].arrays })),
    content_sha256: setDigest(digests),
  };
  // The metadata's copy has no sizes (as a build's): a file cannot know its own.
  const embedded = { ...manifest, outputs: manifest.outputs.map(({ bytes: _bytes, ...o }) => o) };
  let result: Awaited<ReturnType<typeof writeVirtualHdf5>>;
  try {
    result = await writeVirtualHdf5(temp, set.files.map((f, k) => ({ openPath: f, storedPath: stored[k] })), { ...meta, manifest: embedded }, options.signal).catch((err: Error) => {
      throw Object.assign(err, { message: `merge into ${master}: ${err.message}` });
    });
    if (result.rowsPerSource.some((n, k) => n !== rowsGuess[k])) {
      const k = result.rowsPerSource.findIndex((n, i) => n !== rowsGuess[i]);
      throw shardsError(`shard ${k} of ${set.count} (${set.files[k]}) holds ${result.rowsPerSource[k]} images, but its manifest says ${rowsGuess[k]}: build it again`);
    }
    await rename(temp, master);
  } catch (err) {
    await removeQuietly(temp);
    throw err;
  }
  const sidecar = manifestPath(master, 'hdf5');
  await writeFileAtomic(sidecar, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'), { durable: true });
  return { master, manifest: sidecar, shards: set.files, images: result.rows, rowsPerShard: result.rowsPerSource, datasets: result.datasets };
}
