// downloadCryptoData: Binance Vision kline archives (or synthetic ones) -> one sorted,
// de-duplicated columnar series with its gaps. Archives come from the cache when there and
// intact, else from the mirror; each is parsed on a worker thread as soon as it is in. The
// SeriesLoader is also what the universe (universe.ts) ranks symbols with: there a missing archive
// means "not trading then" instead of an error.
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { abortError, ErrorCode, OhlcError, throwIfAborted, type ErrorCodeValue } from '../errors.js';
import { redactUrl } from '../util/url.js';
import { intervalMs } from './binance.js';
import { downloadArchive, expectedRows, readCachedArchive, type ArchiveContext, type ObtainedArchive } from './archive.js';
import { ArchiveCache } from './cache.js';
import { DAY_MS, formatDay } from './dates.js';
import { Limiter } from './limit.js';
import { computeGaps, mergeKlines, missingBetween } from './merge.js';
import { resolveDownloadOptions, type ResolvedDownload } from './options.js';
import { parseKlinesCsvAsync, parseKlinesMemberAsync, type ParsedKlines } from './parse.js';
import { planArchives, type ArchivePlan, type DayUnit, type MonthUnit, type PlanUnit } from './plan.js';
import { writeResolvedSample } from './sample.js';
import type { CandleSource, Candles, DataProgress, DownloadOptions, Gap } from './types.js';

/** A daily archive this recent may simply not be published yet. */
const DAILY_PUBLISH_LAG_MS = 2 * DAY_MS;
/** Monthly archives can lag weeks; with no daily fallback (3d, 1w, 1mo) a month this recent may be missing. */
const MONTHLY_PUBLISH_LAG_MS = 31 * DAY_MS;

/**
 * Archives in hand at once: the fetch concurrency (requests are bounded on their own, by the HTTP
 * limiter), but never fewer than can be inflated and parsed side by side, so that a cached re-run
 * uses the cores whatever `concurrency` says. Capped by the libuv threadpool, where file reads and
 * the native work run.
 */
export function archiveSlots(concurrency: number): number {
  const threadpool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(concurrency, Math.min(availableParallelism(), threadpool));
}

interface LoadedArchive {
  source: CandleSource;
  klines: ParsedKlines;
  /** Rows whose open time lies outside the archive's own day or month. */
  outOfPeriod: number;
}

interface Unpublished {
  name: string;
  start: number;
  end: number;
}

export interface UnitResult {
  archives: LoadedArchive[];
  unpublished: Unpublished[];
  /** Archives that do not exist (HTTP 404), with policy 'absent'. */
  absent: string[];
}

/** A missing archive, named by its (redacted) URL; `also` adds what else was tried. */
export function notFoundError(url: string, synthetic = false, also = ''): OhlcError {
  const shown = redactUrl(url);
  const err = synthetic
    ? new OhlcError(
        ErrorCode.notFound,
        `${shown} does not exist in the synthetic sample (as an HTTP 404 would say): its symbol does not trade then there. The sample's symbols, ` +
          'like real ones, have no archives before they were listed or after they were delisted; choose other dates or another symbol.',
      )
    : new OhlcError(
        ErrorCode.notFound,
        `${shown} does not exist (HTTP 404)${also}. Check the symbol, interval, market and dates (there are no archives before a symbol ` +
          'was listed or after it was delisted); archives already in cacheDir are used without the network; or point baseUrl at a mirror that has it.',
      );
  (err as OhlcError & { url: string }).url = shown;
  return err;
}

export class ProgressReporter {
  private downloaded = 0;
  private parsed = 0;
  private downloadTotal: number;
  private parseTotal: number;

  constructor(private readonly report: ((p: DataProgress) => void) | undefined, total: number) {
    this.downloadTotal = total;
    this.parseTotal = total;
  }

  /** A monthly archive replaced by `days` daily ones. */
  split(days: number): void {
    this.downloadTotal += days - 1;
    this.parseTotal += days - 1;
  }

  obtained(file: string): void {
    this.report?.({ phase: 'download', done: ++this.downloaded, total: this.downloadTotal, file });
  }

  missing(file: string): void {
    this.parseTotal--;
    this.obtained(file);
  }

  parsedOne(file: string): void {
    this.report?.({ phase: 'parse', done: ++this.parsed, total: this.parseTotal, file });
  }
}

/** Like Promise.all, but waits for every task before throwing the first failure. */
async function settleAll<T>(tasks: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** What a missing archive (HTTP 404, or no synthetic archive) means: an error (a series), or no data then (a universe member). */
export type NotFoundPolicy = 'error' | 'absent';

export class SeriesLoader {
  constructor(
    private readonly o: Pick<ResolvedDownload, 'interval' | 'logger' | 'onMalformedRow' | 'term'>,
    private readonly ctx: ArchiveContext,
    private readonly plan: Pick<ArchivePlan, 'today'>,
    private readonly progress: ProgressReporter,
    private readonly signal: AbortSignal,
    private readonly synthetic: boolean,
    private readonly notFound: NotFoundPolicy = 'error',
    /** Only make sure each archive is in the cache (verified); parse nothing. */
    private readonly fetchOnly = false,
  ) {}

  load(unit: PlanUnit): Promise<UnitResult> {
    return unit.kind === 'day' ? this.loadDay(unit) : this.loadMonth(unit);
  }

  private async loadMonth(unit: MonthUnit): Promise<UnitResult> {
    const { archive: ref } = unit;
    if (this.fetchOnly && (await this.ctx.cache.has(ref))) return this.inCache(ref.name);
    const cached = await readCachedArchive(ref, this.ctx);
    if (cached) return { archives: [await this.parse(cached, unit)], unpublished: [], absent: [] };
    // A month that fell back to its days before: when they are all cached, no network at all.
    if (unit.days.length > 0 && (await this.allCached(unit.days))) {
      this.o.logger.info('using the cached daily archives of a month without a cached monthly archive', { month: ref.period });
      return this.loadDays(unit);
    }
    const got = await downloadArchive(ref, this.ctx);
    if (got.status === 'ok') return { archives: [await this.parse(got.archive, unit)], unpublished: [], absent: [] };
    // The sample writes every archive a symbol has: none means it does not trade then, and its days have none either.
    if (unit.days.length > 0 && !this.synthetic) {
      this.o.logger.info('monthly archive not published yet; falling back to daily archives', { file: ref.name, url: got.url, days: unit.days.length });
      try {
        return await this.loadDays(unit);
      } catch (err) {
        // Neither the month nor its days: the month is what the user asked for, so name it.
        if ((err as { code?: string }).code === ErrorCode.notFound) throw notFoundError(got.url, false, `, and neither do its daily archives: ${redactUrl(String((err as { url?: string }).url))} does not exist (HTTP 404)`);
        throw err;
      }
    }
    if (unit.end > this.plan.today - MONTHLY_PUBLISH_LAG_MS && !this.synthetic) {
      this.o.logger.warn('monthly archive not published yet; its month is reported as a gap', { file: ref.name, url: got.url });
      this.progress.missing(ref.name);
      return { archives: [], unpublished: [{ name: ref.name, start: unit.start, end: unit.end }], absent: [] };
    }
    return this.missing(ref.name, got.url);
  }

  private missing(name: string, url: string): UnitResult {
    if (this.notFound === 'error') throw notFoundError(url, this.synthetic);
    this.o.logger.debug('no such archive: not trading then', { file: name, url });
    this.progress.missing(name);
    return { archives: [], unpublished: [], absent: [name] };
  }

  private async allCached(days: DayUnit[]): Promise<boolean> {
    const present = await Promise.all(days.map((d) => this.ctx.cache.has(d.archive)));
    return present.every(Boolean);
  }

  private async loadDays(unit: MonthUnit): Promise<UnitResult> {
    this.progress.split(unit.days.length);
    const results = await settleAll(unit.days.map((d) => this.loadDay(d)));
    return { archives: results.flatMap((r) => r.archives), unpublished: results.flatMap((r) => r.unpublished), absent: results.flatMap((r) => r.absent) };
  }

  private async loadDay(unit: DayUnit): Promise<UnitResult> {
    const { archive: ref } = unit;
    if (this.fetchOnly && (await this.ctx.cache.has(ref))) return this.inCache(ref.name);
    const cached = await readCachedArchive(ref, this.ctx);
    if (cached) return { archives: [await this.parse(cached, unit)], unpublished: [], absent: [] };
    const got = await downloadArchive(ref, this.ctx);
    if (got.status === 'ok') return { archives: [await this.parse(got.archive, unit)], unpublished: [], absent: [] };
    if (unit.start >= this.plan.today - DAILY_PUBLISH_LAG_MS && !this.synthetic) {
      this.o.logger.warn('daily archive not published yet; its day is reported as a gap', { file: ref.name, url: got.url });
      this.progress.missing(ref.name);
      return { archives: [], unpublished: [{ name: ref.name, start: unit.start, end: unit.end }], absent: [] };
    }
    return this.missing(ref.name, got.url);
  }

  /** fetchOnly: an archive already in the cache (checked when it is read for real). */
  private inCache(name: string): UnitResult {
    this.progress.obtained(name);
    this.progress.parsedOne(name);
    return { archives: [], unpublished: [], absent: [] };
  }

  private async parse(archive: ObtainedArchive, period: { start: number; end: number }): Promise<LoadedArchive> {
    const { ref } = archive;
    this.progress.obtained(ref.name);
    if (this.fetchOnly) {
      this.progress.parsedOne(ref.name);
      return { source: { name: ref.name, path: ref.path, url: archive.url, sha256: archive.sha256, rows: 0, synthetic: this.synthetic, cached: archive.cached, verified: archive.verified }, klines: EMPTY_KLINES, outOfPeriod: 0 };
    }
    const { content } = archive;
    const options = { name: ref.name, onMalformedRow: this.o.onMalformedRow, policyName: this.o.term('onMalformedRow'), signal: this.signal };
    let klines: ParsedKlines;
    try {
      klines =
        'csv' in content
          ? await parseKlinesCsvAsync(content.csv, options)
          : await parseKlinesMemberAsync('file' in content ? content.file : content.zip, content.member, { ...options, expectedRows: expectedRows(this.o.interval, ref) });
    } catch (err) {
      throw inCache(err, archive);
    }
    if (klines.skipped > 0) {
      this.o.logger.warn('skipped malformed rows', { file: ref.name, skipped: klines.skipped, first: klines.firstSkipped });
    }
    const outOfPeriod = this.checkPeriod(klines, archive, period);
    this.progress.parsedOne(ref.name);
    return {
      source: { name: ref.name, path: ref.path, url: archive.url, sha256: archive.sha256, rows: klines.rows, synthetic: this.synthetic, cached: archive.cached, verified: archive.verified },
      klines,
      outOfPeriod,
    };
  }

  /**
   * An archive holds the candles of its own day or month. One with none is refused, as is one
   * whose every row lies elsewhere (timestamps in seconds land in 1970); a few stray rows are
   * counted and reported. Returns how many rows lie outside the period.
   */
  private checkPeriod(klines: ParsedKlines, archive: ObtainedArchive, period: { start: number; end: number }): number {
    const name = archive.ref.name;
    if (klines.rows === 0) {
      throw inCache(new OhlcError(ErrorCode.badData, `${name} holds no candles (an empty CSV, or a header row only)`), archive);
    }
    // A candle that opened before the period may still close inside it (3d, 1w candles).
    const step = intervalMs(this.o.interval) ?? 31 * DAY_MS;
    const t = klines.openTime;
    let outside = 0;
    for (let i = 0; i < t.length; i++) if (t[i] < period.start - step || t[i] >= period.end) outside++;
    if (outside === 0) return 0;
    const first = t[0];
    const when = Number.isFinite(first) && Math.abs(first) < 8.64e15 ? new Date(first).toISOString() : String(first);
    if (outside === t.length) {
      const seconds = first > 0 && first < 1e11 ? ' (it looks like seconds; Binance writes milliseconds or microseconds)' : '';
      throw inCache(
        new OhlcError(ErrorCode.badData, `none of the ${t.length} rows of ${name} lies in its period ${archive.ref.period}: the first opens at ${first} = ${when}${seconds}`),
        archive,
      );
    }
    this.o.logger.warn('rows outside the archive\'s own period', { file: name, period: archive.ref.period, rows: outside, of: t.length });
    return outside;
  }
}

/** An error about a cached archive's content names the cached file, and how to fetch it again. */
function inCache(err: unknown, archive: ObtainedArchive): unknown {
  if (!archive.cachePath || !(err instanceof OhlcError) || err.code === ErrorCode.aborted) return err;
  const copy = new OhlcError(err.code as ErrorCodeValue, `${err.message} — read from the cached copy ${archive.cachePath}, which matches its checksum; delete it to download it again`, { cause: err });
  return Object.assign(copy, { ...err, message: copy.message, cachePath: archive.cachePath });
}

/** Gaps for unpublished archives past the last candle (earlier ones already show between candles). */
function trailingGaps(openTime: Float64Array, unpublished: Unpublished[], step: number | null): Gap[] {
  const spans = [...unpublished].sort((a, b) => a.start - b.start);
  const gaps: Gap[] = [];
  const last = openTime.length > 0 ? openTime[openTime.length - 1] : null;
  for (let i = 0; i < spans.length; i++) {
    const start = spans[i].start;
    let end = spans[i].end;
    while (i + 1 < spans.length && spans[i + 1].start <= end) end = Math.max(end, spans[++i].end);
    if (last !== null && last >= start) continue;
    // With no candle before it at all, the gap counts from where one would have opened.
    const from = last ?? (step === null ? Date.UTC(new Date(start).getUTCFullYear(), new Date(start).getUTCMonth() - 1, 1) : start - step);
    const missing = step === null ? missingBetween(from, end, null) : Math.ceil((end - from) / step) - 1;
    if (missing > 0) gaps.push({ from, to: end, missing });
  }
  return gaps;
}

/** What a fetch-only pass stands in for the columns it did not parse. */
const EMPTY_KLINES: ParsedKlines = {
  openTime: new Float64Array(0),
  open: new Float64Array(0),
  high: new Float64Array(0),
  low: new Float64Array(0),
  close: new Float64Array(0),
  volume: new Float64Array(0),
  quoteVolume: new Float64Array(0),
  rows: 0,
  header: false,
  microsecondRows: 0,
  skipped: 0,
  firstSkipped: null,
};

async function loadSeries(o: ResolvedDownload, cacheRoot: string, network: { baseUrl: string; verify: boolean } | null, synthetic: boolean, fetchOnly = false): Promise<Candles> {
  const plan = planArchives({ market: o.market, symbol: o.symbol, interval: o.interval, range: o.range, now: o.now });
  if (plan.notRequested.length > 0) o.logger.debug('not requested: today, future days or months still in progress', { periods: plan.notRequested });
  if (plan.units.length === 0) {
    throw new OhlcError(
      ErrorCode.noData,
      `No archive can exist yet for ${o.term('startDate')} ${formatDay(o.range.start)} to ${o.term('endDate')} ${formatDay(o.range.end - DAY_MS)}: ` +
        `Binance publishes a day's archive after the day and a month's after the month (today is ${formatDay(plan.today)}; not yet published: ${plan.notRequested.join(', ')}). Choose dates in the past.`,
    );
  }

  // One internal signal: the caller's abort, or the first failure, stops every other archive.
  const inner = new AbortController();
  setMaxListeners(Infinity, inner.signal); // one listener per request, wait and parse in flight
  const onAbort = () => inner.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  const http = { timeoutMs: o.timeoutMs, minBytesPerSecond: o.minBytesPerSecond, retries: o.retries, retryDelayMs: o.retryDelayMs, logger: o.logger, signal: inner.signal, limiter: new Limiter(o.concurrency) };
  const ctx: ArchiveContext = {
    cache: new ArchiveCache(cacheRoot, o.logger),
    network: network ? { ...network, http } : null,
    interval: o.interval,
    logger: o.logger,
  };
  const progress = new ProgressReporter(o.onProgress, plan.units.length);
  const loader = new SeriesLoader(o, ctx, plan, progress, inner.signal, synthetic, o.missingArchives, fetchOnly);
  const slots = new Limiter(archiveSlots(o.concurrency));
  let failure: unknown;
  let results: (UnitResult | null)[];
  try {
    results = await Promise.all(
      plan.units.map((unit) =>
        slots.run(() => loader.load(unit), inner.signal).catch((err: unknown) => {
          failure ??= err;
          inner.abort();
          return null;
        }),
      ),
    );
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (o.signal?.aborted) throw abortError(o.signal);
  if (failure !== undefined) throw failure;

  const archives = results.flatMap((r) => r?.archives ?? []);
  const unpublished = results.flatMap((r) => r?.unpublished ?? []);
  const merged = mergeKlines(
    archives.map((a) => a.klines),
    o.range.start,
    o.range.end,
  );
  if (merged.conflicts > 0) {
    o.logger.warn('rows with the same open time but other values; kept the first of each', { conflicts: merged.conflicts });
  }
  if (merged.duplicates > 0) o.logger.info('dropped duplicate rows', { duplicates: merged.duplicates });
  if (merged.outOfRange > 0) o.logger.info('dropped rows outside the requested dates', { rows: merged.outOfRange });
  const outOfPeriod = archives.reduce((n, a) => n + a.outOfPeriod, 0);
  const step = intervalMs(o.interval);
  const gaps = [...computeGaps(merged.openTime, step), ...trailingGaps(merged.openTime, unpublished, step)];
  if (gaps.length > 0) o.logger.debug('gaps', { gaps: gaps.length, missing: gaps.reduce((n, g) => n + g.missing, 0) });

  return {
    symbol: o.symbol,
    interval: o.interval,
    market: o.market,
    intervalMs: step,
    openTime: merged.openTime,
    open: merged.open,
    high: merged.high,
    low: merged.low,
    close: merged.close,
    volume: merged.volume,
    quoteVolume: merged.quoteVolume,
    length: merged.openTime.length,
    gaps,
    sources: archives.map((a) => a.source),
    duplicates: merged.duplicates,
    conflicts: merged.conflicts,
    skippedRows: archives.reduce((n, a) => n + a.klines.skipped, 0),
    outOfPeriod,
    outOfRange: merged.outOfRange,
    notPublished: unpublished.map((u) => u.name),
  };
}

/**
 * Downloads (or reads from the cache) every kline archive of a symbol and interval between two
 * UTC dates, verifies and parses them, and returns one sorted, de-duplicated columnar series
 * with its gaps. `source: 'sample'` generates synthetic archives instead and needs no network.
 */
export async function downloadCryptoData(options: DownloadOptions): Promise<Candles> {
  return obtain(resolveDownloadOptions(options), false);
}

async function obtain(o: ResolvedDownload, fetchOnly: boolean): Promise<Candles> {
  throwIfAborted(o.signal);
  if (o.source === 'sample') {
    const sample = await writeResolvedSample({ ...o, onProgress: undefined });
    return loadSeries(o, sample.root, null, true, fetchOnly);
  }
  if (!o.verify) o.logger.warn('verify: false: archives that do not match their .CHECKSUM are used unverified (and not cached)');
  return loadSeries(o, o.cacheDir, { baseUrl: o.baseUrl, verify: o.verify }, false, fetchOnly);
}

export interface CachedArchives {
  /** Archives fetched by this call (the others were in the cache already). */
  downloaded: number;
  /** Archives not published yet (recent days or months): gaps when the range is read. */
  notPublished: string[];
}

/**
 * Makes sure every archive a downloadCryptoData call with these options needs is in the cache,
 * verified, without parsing any: a later call reads them with no network. The pipeline runs it
 * ahead of drawing (concurrently, bounded), so a symbol whose archives cannot be had is known
 * before any of its images is written.
 */
export async function cacheArchives(options: DownloadOptions): Promise<CachedArchives> {
  const o = resolveDownloadOptions(options);
  const candles = await obtain(o, true);
  return { downloaded: candles.sources.filter((s) => !s.cached).length, notPublished: candles.notPublished };
}
