// The pipeline behind `ohlc-native build`: candles (downloaded and cached, or synthetic) ->
// windows (gaps and unusable prices skipped and counted, labels computed) -> storage. The writer
// is opened with the chosen device's rasterizer and draws the candle windows itself, so there is
// one loop whatever the device, and no image batch is ever held in JS.
import { cacheArchives, downloadCryptoData } from '../data/download.js';
import { intervalMs } from '../data/binance.js';
import type { Candles, CandleSource, DataLogger, DataProgress } from '../data/types.js';
import { ConfigError, ErrorCode, isAbortError, OhlcError, throwIfAborted } from '../errors.js';
import { configSha256 } from '../config/hash.js';
import { pathBytes } from '../util/files.js';
import { decideReplace, outputPath } from './output.js';
import { cudaUnavailableReason, describeDevice, resolveDevice, type ResolvedDevice } from '../images/device.js';
import type { PipelineLogger } from '../log/logger.js';
import { downloadOptionsFrom } from '../config/data-options.js';
import type { PipelineConfig } from '../config/schema.js';
import type { MonthSpan, Segment } from './segments.js';
import { buildRange, memberMonths, monthLogger, selectionSegments, selectSymbols } from './selection.js';
import { checkShardable, planShards, shardOutputPath, shardSegments, type ShardSpec } from './shards.js';
import { shardState } from './shard-files.js';
import { decideSplits, describeSplits, emptySplitReason, resolveSplits, SPLIT_NAMES, type SplitRule } from './splits.js';
import { segmentChunks, type Chunk } from './stream.js';
import { BuildTargets, describeBalance, targetPaths } from './targets.js';
import { manifestCore, withOutputs, writeManifest } from './manifest.js';
import { batchOutputPath, singleOutputPath } from '../storage/formats.js';
import { JKX_SKIP_REASONS, layoutOfConfig, screenWindows } from './screen.js';
import { historyCandles } from '../images/layout.js';
import { labelWindows, type SkipReason } from './windows.js';

export interface PipelineProgress {
  phase: 'download' | 'parse' | 'symbols' | 'images';
  done: number;
  total: number;
  /** What the phase is on now (the symbol being drawn). */
  detail?: string;
}

export interface BuildOptions {
  config: PipelineConfig;
  /** Output path (file, or stem in batch mode); default under paths.processed_data. */
  out?: string;
  /** Replace a dataset at the output path even when it was built from another config. */
  force?: boolean;
  log: PipelineLogger;
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  /** The clock for which archives exist yet (tests). */
  now?: Date | number;
  /** Build only this shard of the work (ts/pipeline/shards.ts), into its own file. */
  shard?: ShardSpec;
}

export interface BuildSummary {
  /** Absolute paths of the files written. */
  outputs: string[];
  images: number;
  /** Windows skipped, by reason. */
  skipped: Record<string, number>;
  seconds: number;
  imagesPerSecond: number;
  candles: number;
  windows: number;
  gaps: number;
  archives: number;
  synthetic: boolean;
  device: string;
  logFile: string | null;
  /** Bytes the outputs take on disk. */
  bytes: number;
  /** The manifest beside each dataset, and each dataset's content digest. */
  manifests: string[];
  contentSha256: string[];
  /** Outputs of an earlier build of this name that this one replaced or removed. */
  replaced: string[];
  /** The dataset's symbols, in symbol_index order. */
  symbols: string[];
  /** Symbols left out (data.on_symbol_error: skip), and why. */
  skippedSymbols: Array<{ symbol: string; reason: string }>;
  /** jkx with a line: images drawn without it (history cut by a gap or the start of the data). */
  maUnavailable?: number;
  /** With splits: per split, the images and the share of labels that say up, per horizon. */
  splits?: Record<string, { images: number; up: Record<string, number | null> }>;
  /** A shard's build: which one, and whether it was found complete already (and so not built again). */
  shard?: { index: number; count: number; alreadyComplete: boolean };
}

function chooseDevice(config: PipelineConfig, log: PipelineLogger): ResolvedDevice {
  const device = resolveDevice(config.runtime.device, 'runtime.device');
  const reason = cudaUnavailableReason();
  if (config.runtime.device === 'auto' && reason) log.info('No usable GPU, using the CPU', { reason });
  log.info(`Image generator initialized with: ${describeDevice(device, config.runtime.threads)}`);
  return device;
}

/** Download progress summed over the segments (fetched one after another). */
class DownloadProgress {
  private base = 0;
  constructor(private readonly report: ((p: PipelineProgress) => void) | undefined) {}
  segment(): (p: DataProgress) => void {
    const base = this.base;
    let total = 0;
    return (p) => {
      total = p.total;
      if (p.phase === 'download') this.report?.({ phase: 'download', done: base + p.done, total: base + p.total });
      this.base = base + total;
    };
  }
}

/** Archives of one segment into the cache, ahead of drawing it; null with the reason when they cannot be had. */
async function fetchSegment(config: PipelineConfig, segment: Segment, options: BuildOptions, progress: DownloadProgress, signal: AbortSignal | undefined): Promise<string | null> {
  const first = segment.history ?? segment.months[0];
  const last = segment.lookahead ?? segment.months[segment.months.length - 1];
  try {
    await cacheArchives(
      downloadOptionsFrom(config, { symbol: segment.symbol, startDate: first.startDate, endDate: last.endDate, signal, logger: monthLogger(options.log), now: options.now, onProgress: progress.segment(), ...memberMonths(config) }),
    );
    return null;
  } catch (err) {
    if (isAbortError(err) || config.data.on_symbol_error === 'fail') throw err;
    return (err as Error).message;
  }
}

export async function runBuild(options: BuildOptions): Promise<BuildSummary> {
  const { config, log, signal } = options;
  const started = performance.now();
  const configHash = configSha256(config);
  const format = config.image.storage.format;
  const shard = options.shard;
  if (shard) checkShardable(config);
  const out = shard ? shardOutputPath(outputPath(config, options.out), format, shard) : outputPath(config, options.out);
  if (shard) {
    // A retried pod does no work twice: a shard whose complete output matches this config stands.
    const found = await shardState(out, format, configHash, shard);
    if (found.state === 'complete') {
      log.info(`Shard ${shard.index}/${shard.count} is already complete in ${out} (config sha256 ${configHash.slice(0, 12)}…): skipping it`, { output: out, manifest: found.manifest });
      return completeShardSummary(out, found.images, found.manifest, found.contentSha256, shard, config, started, log);
    }
  }
  // Decided before anything is downloaded: a build that may not write there stops at once.
  const paths = targetPaths(out, config);
  const force = options.force === true || config.image.storage.overwrite;
  const decisions = await Promise.all(paths.map((p) => decideReplace(p, config.image.storage.format, configHash, force)));
  const replace = { overwrite: decisions.some((r) => r.overwrite), replaces: decisions.flatMap((r) => r.replaces) };
  const rule = resolveSplits(config);
  const device = chooseDevice(config, log);
  const selection = await selectSymbols(config, options);
  const allSegments = selectionSegments(config, selection);
  const shardPlan = shard ? planShards(allSegments, config, shard.count, '--shard').shards[shard.index] : null;
  const segments = shardPlan ? shardSegments(allSegments, shardPlan) : allSegments;
  if (shardPlan) log.info(`Shard ${shard!.index}/${shard!.count}: ${shardPlan.parts.map((p) => `${p.symbol} ${p.from}..${p.to}`).join(', ')} (about ${shardPlan.expected_images.toLocaleString('en-US')} images)`, { parts: shardPlan.parts });
  const seqLen = config.image.seq_len;
  const height = config.image.resolution.height;
  const horizons = config.labels.horizons;
  const lookahead = horizons.length > 0 ? Math.max(...horizons) : 0;
  const synthetic = config.data.source === 'sample';
  const d = config.data;
  log.info(
    `Loading ${selection.symbols.length === 1 ? selection.symbols[0] : `${selection.symbols.length} symbols`} ${d.interval} candles ${d.start_date}..${d.end_date} (${synthetic ? 'synthetic sample, offline' : `${d.market}, ${d.base_url}`})`,
    { cacheDir: config.paths.raw_data, symbols: selection.symbols.length, segments: segments.length },
  );
  if (replace.replaces.length > 0) log.info('Replacing the earlier output of this configuration', { outputs: replace.replaces });

  const load = (symbol: string) => (span: MonthSpan): Promise<Candles> =>
    downloadCryptoData(downloadOptionsFrom(config, { symbol, startDate: span.startDate, endDate: span.endDate, signal, logger: monthLogger(log), now: options.now, ...memberMonths(config) }));
  // One segment's archives are fetched while the one before is drawn.
  const downloads = new DownloadProgress(options.onProgress);
  const fetches = new Map<number, Promise<string | null>>();
  const fetch = (i: number) => {
    if (i < segments.length && !fetches.has(i)) fetches.set(i, fetchSegment(config, segments[i], options, downloads, signal));
    return fetches.get(i);
  };

  // The first symbol's archives before any output exists: a build that cannot get its data
  // leaves nothing behind (not even an empty folder).
  await fetch(0);

  const targets = await BuildTargets.open(paths, {
    config,
    device,
    overwrite: replace.overwrite,
    crossSection: selection.crossSection,
    metadata: {
      ...(selection.crossSection ? { symbols: selection.symbols } : { symbol: selection.symbols[0] }),
      interval: d.interval,
      market: d.market,
      stride: config.image.stride,
      source: d.source,
      synthetic,
      start_date: d.start_date,
      end_date: d.end_date,
      config,
      config_sha256: configHash,
      ...(rule ? { splits: describeSplits(rule) } : {}),
      ...(selection.universe ? { universe: selection.universe } : {}),
    },
  });
  log.info(`Writing ${config.image.storage.format} (${config.image.storage.mode}) to ${paths.join(', ')}`, { compression: config.image.storage.compression });

  const jkx = config.image.layout === 'jkx';
  const skipped: Record<string, number> = { gap: 0, invalid_price: 0, ...(jkx ? Object.fromEntries(JKX_SKIP_REASONS.map((r) => [r, 0])) : {}), ...(rule ? { purged: 0 } : {}) };
  // jkx with a line: windows drawn without it (history cut by a gap or the start of the data).
  let maUnavailable = 0;
  const rowsSkipped = { malformed: 0, outside_period: 0, outside_range: 0, duplicates: 0, conflicts: 0 };
  const sources: CandleSource[] = [];
  const skippedSymbols: Array<{ symbol: string; reason: string }> = [];
  let images = 0;
  let candleCount = 0;
  let maxSymbolCandles = 0;
  let considered = 0;
  let gaps = 0;
  const expected = segments.reduce((n, s) => n + expectedWindows(s, config), 0);
  const drawStarted = performance.now();

  try {
    options.onProgress?.({ phase: 'images', done: 0, total: expected });
    let symbolsDone = 0;
    for (let i = 0; i < segments.length; i++) {
      throwIfAborted(signal);
      const segment = segments[i];
      const problem = await fetch(i)!;
      void fetch(i + 1)?.catch(() => undefined);
      if (problem !== null) {
        log.warn(`Leaving out ${segment.symbol}: its archives cannot be had (data.on_symbol_error: skip)`, { symbol: segment.symbol, reason: problem });
        if (!skippedSymbols.some((s) => s.symbol === segment.symbol)) skippedSymbols.push({ symbol: segment.symbol, reason: problem });
        continue;
      }
      options.onProgress?.({ phase: 'symbols', done: symbolsDone, total: selection.symbols.length, detail: segment.symbol });
      let symbolCandles = 0;
      let symbolArchives = 0;
      for await (const chunk of segmentChunks(segment, load(segment.symbol), { seqLen, stride: config.image.stride, skipGaps: config.image.skip_gaps, lookahead, lookback: historyCandles(layoutOfConfig(config)) })) {
        symbolCandles += chunk.newCandles;
        candleCount += chunk.newCandles;
        gaps += chunk.newGaps;
        considered += chunk.plan.considered;
        for (const [reason, n] of Object.entries(chunk.plan.skipped)) skipped[reason as SkipReason] += n;
        sources.push(...chunk.sources);
        symbolArchives += chunk.sources.length;
        rowsSkipped.malformed += chunk.rows.malformed;
        rowsSkipped.outside_period += chunk.rows.outsidePeriod;
        rowsSkipped.outside_range += chunk.rows.outsideRange;
        rowsSkipped.duplicates += chunk.rows.duplicates;
        rowsSkipped.conflicts += chunk.rows.conflicts;
        const written = await writeChunk(chunk, images, { targets, config, horizons, seqLen, lookahead, rule, signal, onProgress: (done) => options.onProgress?.({ phase: 'images', done, total: Math.max(expected, done) }) });
        if (rule) skipped.purged += written.purged;
        for (const [reason, n] of Object.entries(written.skipped)) skipped[reason] += n;
        maUnavailable += written.maUnavailable;
        images = written.images;
      }
      maxSymbolCandles = Math.max(maxSymbolCandles, symbolCandles);
      log.info(`Loaded ${symbolCandles} candles from ${symbolArchives} archives (${segment.symbol})`, { symbol: segment.symbol, months: segment.months.length });
      if (i + 1 === segments.length || segments[i + 1].symbol !== segment.symbol) symbolsDone++;
    }
    options.onProgress?.({ phase: 'symbols', done: symbolsDone, total: selection.symbols.length });
    options.onProgress?.({ phase: 'images', done: images, total: images });
    // A shard may have nothing to draw (its months all gaps, say) while the build has: it is an
    // empty part of the whole, written as such so the merge finds every shard.
    if (images === 0 && shard) log.warn(`Shard ${shard.index}/${shard.count} has no image to draw: it is written empty`, { skipped, skippedSymbols });
    else if (images === 0) throw nothingToDraw(config, maxSymbolCandles, considered, skipped, skippedSymbols);
  } catch (err) {
    await targets.abort();
    if (isAbortError(err)) log.warn(`Interrupted after ${images.toLocaleString('en-US')} images (about ${expected.toLocaleString('en-US')} planned): the dataset in progress was removed, earlier outputs are as they were`);
    throw err;
  } finally {
    await Promise.allSettled(fetches.values());
  }
  // A few windows after the start of the data or a gap lack the line's history; all or most of
  // them means image.ma asks for more history than the data has.
  // A shard sees only its part of the range, so these two warnings speak of the whole build only.
  if (!shard && jkx && config.image.ma > 0 && maUnavailable * 2 > images) {
    log.warn(`${maUnavailable.toLocaleString('en-US')} of ${images.toLocaleString('en-US')} images were drawn without their moving-average line: image.ma ${config.image.ma} needs ${config.image.ma - 1} candles before each window, and the data (or the stretch between gaps) is too short for most windows`, { maUnavailable, images, ma: config.image.ma });
  }
  log.info(`Planned ${images} images from ${considered} windows`, { skipped, stride: config.image.stride, seqLen, height, ...(jkx && config.image.ma > 0 ? { maUnavailable } : {}) });
  const balance = splitBalance(targets, horizons, rule);
  if (rule && !shard) {
    SPLIT_NAMES.forEach((name, k) => {
      if (targets.balance[k].images === 0) log.warn(`The ${name} split holds no image: ${emptySplitReason(rule, k, buildRange(config), config)}`, { split: name });
    });
  }
  const deviceName = describeDevice(device, config.runtime.threads);
  const cores = new Map<string, ReturnType<typeof manifestCore>>();
  const coreOf = (path: string, t: { images: number; split: number | null }) => {
    let core = cores.get(path);
    if (!core) {
      const bySplit = rule ? (t.split !== null ? { [SPLIT_NAMES[t.split]]: t.images } : Object.fromEntries(SPLIT_NAMES.map((n, k) => [n, targets.balance[k].images]))) : undefined;
      const counts = {
        images: t.images,
        ...(bySplit ? { by_split: bySplit } : {}),
        skipped,
        skipped_rows: rowsSkipped,
        ...(jkx && config.image.ma > 0 ? { ma_unavailable: maUnavailable } : {}),
        ...(skippedSymbols.length ? { skipped_symbols: skippedSymbols } : {}),
      };
      core = manifestCore({ config, configHash, device: deviceName, sources, counts, output: path });
      cores.set(path, core);
    }
    return core;
  };
  const batchFiles = (path: string, n: number) => (config.image.storage.mode === 'batch' ? Array.from({ length: n }, (_, i) => batchOutputPath(path, format, i)) : [singleOutputPath(path, format)]);
  const closed = await targets.close((t) => ({
    sources: sources.map((s) => ({ name: s.name, sha256: s.sha256, synthetic: s.synthetic })),
    skipped,
    skipped_rows: rowsSkipped,
    ...(jkx && config.image.ma > 0 ? { ma_unavailable: maUnavailable } : {}),
    ...(selection.crossSection ? { symbol_table: t.index, skipped_symbols: skippedSymbols } : {}),
    ...(balance ? { split_balance: balance } : {}),
    // What merge needs to put the shards together: the plan's part, and the split counts unrounded.
    ...(shard && shardPlan ? { shard: { index: shard.index, count: shard.count, parts: shardPlan.parts, balance: targets.balance } } : {}),
    manifest: withOutputs(coreOf(t.path, t), t.path, format, batchFiles(t.path, t.digests.length), t.digests),
  }));
  const files = closed.flatMap((t) => t.files);
  const removed = closed.flatMap((t) => t.removed);
  const manifests: string[] = [];
  for (const t of closed) manifests.push(await writeManifest(withOutputs(coreOf(t.path, t), t.path, format, t.files, t.digests), t.path, format));
  const bytes = (await Promise.all(files.map(pathBytes))).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - started) / 1000;
  const drawSeconds = (performance.now() - drawStarted) / 1000;
  const summary: BuildSummary = {
    outputs: files,
    images,
    skipped,
    seconds: +seconds.toFixed(3),
    imagesPerSecond: drawSeconds > 0 ? Math.round(images / drawSeconds) : 0,
    candles: candleCount,
    windows: considered,
    gaps,
    archives: sources.length,
    synthetic,
    device: deviceName,
    logFile: log.file,
    bytes,
    manifests,
    contentSha256: closed.map((t) => t.contentSha256),
    replaced: [...new Set([...replace.replaces, ...removed])],
    symbols: selection.symbols,
    skippedSymbols,
    ...(jkx && config.image.ma > 0 ? { maUnavailable } : {}),
    ...(balance ? { splits: balance } : {}),
    ...(shard ? { shard: { ...shard, alreadyComplete: false } } : {}),
  };
  log.fileOnly('info', `Dataset written: ${images} images in ${files.length} file${files.length === 1 ? '' : 's'}`, {
    outputs: files,
    bytes,
    seconds: summary.seconds,
    imagesPerSecond: summary.imagesPerSecond,
    skipped,
    skippedSymbols,
    replaced: summary.replaced,
  });
  return summary;
}

/** The summary of a shard found complete: what its manifest says, nothing built. */
async function completeShardSummary(out: string, images: number, manifest: string, contentSha256: string, shard: ShardSpec, config: PipelineConfig, started: number, log: PipelineLogger): Promise<BuildSummary> {
  return {
    outputs: [out],
    images,
    skipped: {},
    seconds: +((performance.now() - started) / 1000).toFixed(3),
    imagesPerSecond: 0,
    candles: 0,
    windows: 0,
    gaps: 0,
    archives: 0,
    synthetic: config.data.source === 'sample',
    device: 'none (already complete)',
    logFile: log.file,
    bytes: await pathBytes(out),
    manifests: [manifest],
    contentSha256: [contentSha256],
    replaced: [],
    symbols: [],
    skippedSymbols: [],
    shard: { ...shard, alreadyComplete: true },
  };
}

/** About how many windows a segment has (the progress bar's total before the candles are known). */
function expectedWindows(segment: Segment, config: PipelineConfig): number {
  const span = segment.months.reduce((n, m) => n + (m.end - m.start), 0);
  const step = intervalMs(config.data.interval) ?? 30.44 * 86_400_000;
  return Math.max(0, Math.floor((Math.floor(span / step) - (segment.history ? 0 : config.image.seq_len - 1)) / config.image.stride));
}

interface WriteContext {
  targets: BuildTargets;
  config: PipelineConfig;
  horizons: number[];
  seqLen: number;
  lookahead: number;
  rule: SplitRule | null;
  signal?: AbortSignal;
  onProgress: (done: number) => void;
}

interface Written {
  images: number;
  purged: number;
  /** Windows the layout cannot draw, by reason (jkx), and windows drawn without their MA line. */
  skipped: Record<string, number>;
  maUnavailable: number;
}

/** Appends a chunk's windows (screened by the layout, split and purged first) in batches of image.batch_size. */
async function writeChunk(chunk: Chunk, before: number, w: WriteContext): Promise<Written> {
  const { breaks } = chunk.plan;
  const screened = await screenWindows(chunk.candles, breaks, chunk.plan.starts, w.config, w.signal);
  let { starts, maOk } = screened;
  let split: Uint8Array | null = null;
  let purged = 0;
  if (w.rule) {
    const decided = decideSplits(w.rule, chunk.candles.openTime, starts, w.seqLen, w.lookahead, chunk.candles.intervalMs);
    const kept: number[] = [];
    const splits: number[] = [];
    const keptOk: number[] = [];
    decided.keep.forEach((k, i) => {
      if (k) {
        kept.push(starts[i]);
        splits.push(decided.split[i]);
        if (maOk) keptOk.push(maOk[i]);
      }
    });
    starts = Float64Array.from(kept);
    split = Uint8Array.from(splits);
    if (maOk) maOk = Uint8Array.from(keptOk);
    purged = decided.purged;
  }
  const batch = w.config.image.batch_size;
  let done = before;
  for (let at = 0; at < starts.length; at += batch) {
    throwIfAborted(w.signal);
    const to = Math.min(starts.length, at + batch);
    const part = starts.subarray(at, to);
    const { timestamps, labels, returns } = labelWindows(chunk.candles, breaks, part, w.seqLen, w.horizons);
    await w.targets.append(
      { candles: chunk.candles, starts: part, timestamps, labels, returns, symbol: chunk.segment.symbol, symbolIndex: chunk.segment.symbolIndex, split: split?.subarray(at, to) ?? null, maOk: maOk?.subarray(at, to) ?? null },
      w.signal,
    );
    done += part.length;
    w.onProgress(done);
  }
  return { images: done, purged, skipped: screened.skipped, maUnavailable: screened.maUnavailable };
}

/** Per split: images, and the share of known labels that say up, per horizon (null when none is known). */
function splitBalance(targets: BuildTargets, horizons: number[], rule: SplitRule | null): BuildSummary['splits'] | null {
  return rule ? describeBalance(targets.balance, horizons) : null;
}

/** Why a build has no image at all, in the user's words. */
function nothingToDraw(config: PipelineConfig, maxCandles: number, considered: number, skipped: Record<string, number>, skippedSymbols: Array<{ symbol: string }>): OhlcError {
  const seqLen = config.image.seq_len;
  const d = config.data;
  if (skippedSymbols.length > 0 && maxCandles === 0) return new OhlcError(ErrorCode.noData, `every symbol was left out (data.on_symbol_error: skip): ${skippedSymbols.map((s) => s.symbol).join(', ')}; nothing was written`);
  if (maxCandles < seqLen) {
    return new OhlcError(ErrorCode.noData, `image.seq_len ${seqLen} is longer than the ${maxCandles} candles of ${d.start_date}..${d.end_date}: no window fits; choose a shorter image.seq_len or a longer date range`);
  }
  const why = Object.entries(skipped).filter(([, n]) => n > 0).map(([reason, n]) => `${n} skipped for ${reason}`).join(', ');
  const s = config.splits;
  const purgeHint = s && skipped.purged > 0
    ? `; a purged window crosses a split boundary or starts within splits.embargo (${s.embargo ?? seqLen} bars) after one${s.method === 'blocks' ? `: a shorter splits.embargo or a longer splits.block (${s.block}) keeps some` : ': a shorter splits.embargo keeps some'}`
    : '';
  return new OhlcError(ErrorCode.noData, `none of the ${considered} windows of ${seqLen} candles can be drawn (${why})${purgeHint}; nothing was written`);
}
