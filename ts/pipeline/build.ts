// The pipeline behind `ohlc-native build`: candles (downloaded and cached, or synthetic) ->
// windows (gaps and unusable prices skipped and counted, labels computed) -> storage. The writer
// is opened with the chosen device's rasterizer and draws the candle windows itself, so there is
// one loop whatever the device, and no image batch is ever held in JS.
import { downloadCryptoData } from '../data/download.js';
import type { Candles } from '../data/types.js';
import { ErrorCode, isAbortError, OhlcError, throwIfAborted } from '../errors.js';
import { configSha256 } from '../config/hash.js';
import { pathBytes } from '../util/files.js';
import { decideReplace, outputPath } from './output.js';
import { cudaUnavailableReason, describeDevice, resolveDevice, type ResolvedDevice } from '../images/device.js';
import type { PipelineLogger } from '../log/logger.js';
import { createDatasetWriter } from '../storage/writer.js';
import { downloadOptionsFrom } from '../config/data-options.js';
import type { PipelineConfig } from '../config/schema.js';
import { labelWindows, planWindows } from './windows.js';

export interface PipelineProgress {
  phase: 'download' | 'parse' | 'images';
  done: number;
  total: number;
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
  /** Outputs of an earlier build of this name that this one replaced or removed. */
  replaced: string[];
}

function chooseDevice(config: PipelineConfig, log: PipelineLogger): ResolvedDevice {
  const device = resolveDevice(config.runtime.device, 'runtime.device');
  const reason = cudaUnavailableReason();
  if (config.runtime.device === 'auto' && reason) log.info('No usable GPU, using the CPU', { reason });
  log.info(`Image generator initialized with: ${describeDevice(device, config.runtime.threads)}`);
  return device;
}

async function loadCandles(config: PipelineConfig, options: BuildOptions): Promise<Candles> {
  const { log, signal } = options;
  const d = config.data;
  const t0 = performance.now();
  log.info(`Loading ${d.symbol} ${d.interval} candles ${d.start_date}..${d.end_date} (${d.source === 'sample' ? 'synthetic sample, offline' : `${d.market}, ${d.base_url}`})`, {
    cacheDir: config.paths.raw_data,
  });
  const candles = await downloadCryptoData(
    downloadOptionsFrom(config, {
      signal,
      logger: log,
      now: options.now,
      onProgress: (p) => options.onProgress?.({ phase: p.phase, done: p.done, total: p.total }),
    }),
  );
  const cached = candles.sources.filter((s) => s.cached).length;
  log.info(`Loaded ${candles.length} candles from ${candles.sources.length} archives`, {
    seconds: +((performance.now() - t0) / 1000).toFixed(3),
    cached,
    downloaded: candles.sources.length - cached,
    gaps: candles.gaps.length,
    missingCandles: candles.gaps.reduce((a, g) => a + g.missing, 0),
    duplicates: candles.duplicates,
    conflicts: candles.conflicts,
    skippedRows: candles.skippedRows,
  });
  return candles;
}

export async function runBuild(options: BuildOptions): Promise<BuildSummary> {
  const { config, log, signal } = options;
  const started = performance.now();
  const configHash = configSha256(config);
  const out = outputPath(config, options.out);
  // Decided before anything is downloaded: a build that may not write there stops at once.
  const replace = await decideReplace(out, config.image.storage.format, configHash, options.force === true || config.image.storage.overwrite);
  const device = chooseDevice(config, log);
  const candles = await loadCandles(config, options);
  throwIfAborted(signal);

  const seqLen = config.image.seq_len;
  const height = config.image.resolution.height;
  const horizons = config.labels.horizons;
  if (candles.length < seqLen) {
    throw new OhlcError(ErrorCode.noData, `image.seq_len ${seqLen} is longer than the ${candles.length} candles of ${config.data.start_date}..${config.data.end_date}: no window fits; choose a shorter image.seq_len or a longer date range`);
  }
  const plan = planWindows(candles, seqLen, config.image.stride, config.image.skip_gaps);
  const count = plan.starts.length;
  log.info(`Planned ${count} images from ${plan.considered} windows`, { skipped: plan.skipped, stride: config.image.stride, seqLen, height });
  if (count === 0) {
    const why = Object.entries(plan.skipped).filter(([, n]) => n > 0).map(([reason, n]) => `${n} skipped for ${reason}`).join(', ');
    throw new OhlcError(ErrorCode.noData, `none of the ${plan.considered} windows of ${seqLen} candles can be drawn (${why}); nothing was written`);
  }
  if (replace.replaces.length > 0) log.info('Replacing the earlier output of this configuration', { outputs: replace.replaces });

  const synthetic = config.data.source === 'sample';
  const writer = await createDatasetWriter(out, {
    format: config.image.storage.format,
    mode: config.image.storage.mode,
    imagesPerFile: config.image.storage.images_per_file,
    seqLen,
    height,
    dtype: config.image.dtype,
    horizons,
    compression: config.image.storage.compression,
    quality: config.image.storage.quality,
    threads: config.runtime.threads,
    device,
    overwrite: replace.overwrite,
    metadata: {
      symbol: config.data.symbol,
      interval: config.data.interval,
      market: config.data.market,
      stride: config.image.stride,
      source: config.data.source,
      synthetic,
      start_date: config.data.start_date,
      end_date: config.data.end_date,
      config,
      config_sha256: configHash,
      sources: candles.sources.map((s) => ({ name: s.name, sha256: s.sha256, synthetic: s.synthetic })),
      skipped: plan.skipped,
      skipped_rows: { malformed: candles.skippedRows, outside_period: candles.outOfPeriod, outside_range: candles.outOfRange, duplicates: candles.duplicates, conflicts: candles.conflicts },
    },
  });
  log.info(`Writing ${config.image.storage.format} (${config.image.storage.mode}) to ${out}`, { compression: config.image.storage.compression });

  const batch = config.image.batch_size;
  const drawStarted = performance.now();
  let written = 0;
  try {
    options.onProgress?.({ phase: 'images', done: 0, total: count });
    for (let done = 0; done < count; ) {
      throwIfAborted(signal);
      const n = Math.min(batch, count - done);
      const starts = plan.starts.subarray(done, done + n);
      const { timestamps, labels, returns } = labelWindows(candles, plan.breaks, starts, seqLen, horizons);
      const rows = horizons.length > 0 ? { timestamps, labels, returns } : { timestamps };
      await writer.append({ candles, starts, ...rows }, { signal });
      done += n;
      written = done;
      options.onProgress?.({ phase: 'images', done, total: count });
    }
  } catch (err) {
    await writer.abort();
    if (isAbortError(err)) log.warn(`Interrupted after ${written.toLocaleString('en-US')} of ${count.toLocaleString('en-US')} images: the dataset in progress was removed, earlier outputs are as they were`);
    throw err;
  }
  const { files, removed } = await writer.close();
  const bytes = (await Promise.all(files.map(pathBytes))).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - started) / 1000;
  const drawSeconds = (performance.now() - drawStarted) / 1000;
  const summary: BuildSummary = {
    outputs: files,
    images: count,
    skipped: plan.skipped,
    seconds: +seconds.toFixed(3),
    imagesPerSecond: drawSeconds > 0 ? Math.round(count / drawSeconds) : 0,
    candles: candles.length,
    windows: plan.considered,
    gaps: candles.gaps.length,
    archives: candles.sources.length,
    synthetic,
    device: describeDevice(device, config.runtime.threads),
    logFile: log.file,
    bytes,
    replaced: [...new Set([...replace.replaces, ...removed])],
  };
  log.fileOnly('info', `Dataset written: ${count} images in ${files.length} file${files.length === 1 ? '' : 's'}`, {
    outputs: files,
    bytes,
    seconds: summary.seconds,
    imagesPerSecond: summary.imagesPerSecond,
    skipped: plan.skipped,
    replaced: summary.replaced,
  });
  return summary;
}
