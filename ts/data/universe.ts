// resolveUniverse: which symbols a cross-sectional dataset covers, month by month, decided from
// the archive itself and only from what was knowable at each month's start. The candidates are
// every symbol folder of the market's listing (delisted symbols included: dropping them is
// survivorship bias) with the requested quote, less the exclusions. With `top`, each month's
// members are the n candidates with the largest quote volume over the days before that month,
// summed from their daily (1d) monthly archives, which come through the same cached, verified
// path as any download; a symbol without an archive for a month simply did not trade then.
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { abortError, ErrorCode, OhlcError, throwIfAborted } from '../errors.js';
import { archiveRef, monthlyKlinesPrefix } from './binance.js';
import type { ArchiveContext } from './archive.js';
import { ArchiveCache } from './cache.js';
import { DAY_MS, formatDay, formatMonth, nextMonthStart, startOfDay, startOfMonth } from './dates.js';
import { archiveSlots, ProgressReporter, SeriesLoader, type UnitResult } from './download.js';
import { exclusionMatcher, leveragedToken, splitPair, stablecoinPair } from './exclusions.js';
import type { HttpSettings } from './http.js';
import { Limiter } from './limit.js';
import { listArchiveMonths, listSymbols, markMonthsMissing, type ListingSettings } from './listing.js';
import { mergeKlines } from './merge.js';
import { resolveUniverseOptions, type ResolvedUniverse } from './options.js';
import type { DayUnit, MonthUnit } from './plan.js';
import { sampleArchiveMonths, SAMPLE_SYMBOLS, SYNTHETIC_DIR, writeResolvedSample } from './sample.js';
import type { DataLogger, Universe, UniverseExclusion, UniverseMonth, UniverseOptions } from './types.js';
import { MIN_DOWNLOAD_BYTES_PER_SECOND } from '../limits.js';

/** The interval rankings are computed on: one small archive a month per symbol. */
const RANK_INTERVAL = '1d';
/** Monthly archives can lag weeks: a month this recent missing from a listing may be unpublished, so its days are tried. */
const MONTHLY_PUBLISH_LAG_MS = 31 * DAY_MS;

/** What the archive holds: the market's symbols, and the months each has a 1d archive for. */
interface ArchiveIndex {
  synthetic: boolean;
  symbols(): Promise<{ entries: string[]; info: Universe['listing'] }>;
  months(symbol: string): Promise<Set<string>>;
  /** Listed months the mirror answered 404 for: remembered with the listing, so a re-run does not ask again. */
  missing(symbol: string, months: string[]): Promise<void>;
}

class Progress {
  private done = 0;
  private total = 0;
  constructor(private readonly o: ResolvedUniverse) {}
  expect(n: number): void {
    this.total += n;
  }
  listed(file: string): void {
    this.o.onProgress?.({ phase: 'listing', done: ++this.done, total: this.total, file });
  }
}

function bucketIndex(o: ResolvedUniverse, http: HttpSettings, progress: Progress): ArchiveIndex {
  const settings: ListingSettings = { listingUrl: o.listingUrl, cacheDir: o.cacheDir, maxAgeMs: o.listingMaxAgeMs, now: o.now, http, logger: o.logger };
  const months = new Map<string, Promise<Set<string>>>();
  return {
    synthetic: false,
    async symbols() {
      const l = await listSymbols(o.market, settings);
      progress.listed(monthlyKlinesPrefix(o.market));
      return { entries: l.entries, info: { url: l.url, fetchedAt: l.fetchedAt, fromCache: l.fromCache, stale: l.stale, synthetic: false } };
    },
    months(symbol) {
      let p = months.get(symbol);
      if (!p) {
        p = listArchiveMonths(o.market, symbol, RANK_INTERVAL, settings).then((l) => {
          progress.listed(`${monthlyKlinesPrefix(o.market)}${symbol}/${RANK_INTERVAL}/`);
          return new Set(l.entries);
        });
        months.set(symbol, p);
      }
      return p;
    },
    missing: (symbol, gone) => markMonthsMissing(o.market, symbol, RANK_INTERVAL, gone, settings),
  };
}

/** The synthetic market of sample.ts: its folder listing is the symbols with a monthly archive by `now`. */
function sampleIndex(o: ResolvedUniverse, progress: Progress): ArchiveIndex {
  const months = new Map<string, Set<string>>();
  return {
    synthetic: true,
    async symbols() {
      const entries = SAMPLE_SYMBOLS[o.market].map((s) => s.symbol).filter((s) => sampleArchiveMonths(o.market, s, o.now).length > 0);
      progress.listed(monthlyKlinesPrefix(o.market));
      return { entries: entries.sort(), info: { url: 'synthetic', fetchedAt: o.now, fromCache: false, stale: false, synthetic: true } };
    },
    async months(symbol) {
      let m = months.get(symbol);
      if (!m) {
        m = new Set(sampleArchiveMonths(o.market, symbol, o.now));
        months.set(symbol, m);
        progress.listed(`${monthlyKlinesPrefix(o.market)}${symbol}/${RANK_INTERVAL}/`);
      }
      return m;
    },
    async missing() {},
  };
}

/** The listed symbols with the quote, split into candidates and exclusions (each with its reason). */
function selectCandidates(listed: string[], o: ResolvedUniverse): { candidates: string[]; excluded: UniverseExclusion[] } {
  const matchers = o.exclude.map((p) => ({ pattern: p, matches: exclusionMatcher(p) }));
  const candidates: string[] = [];
  const excluded: UniverseExclusion[] = [];
  for (const symbol of listed) {
    if (o.quote !== null && !splitPair(symbol, o.quote)) continue;
    const hit = matchers.find((m) => m.matches(symbol));
    if (hit) {
      excluded.push({ symbol, reason: 'excluded', detail: hit.pattern === symbol ? `${o.term('exclude')} names it` : `matches ${o.term('exclude')} pattern "${hit.pattern}"` });
      continue;
    }
    if (o.defaultExclusions) {
      const stable = stablecoinPair(symbol, o.quote);
      if (stable) {
        excluded.push({ symbol, reason: 'stablecoin pair', detail: `${stable}: a stablecoin against a stablecoin` });
        continue;
      }
      const token = leveragedToken(symbol, o.quote);
      if (token) {
        excluded.push({ symbol, reason: 'leveraged token', detail: `${token} is a leveraged token` });
        continue;
      }
    }
    candidates.push(symbol);
  }
  return { candidates, excluded };
}

/**
 * Leaves out candidates with no archive for the last finished month (or, when that month is not
 * published for any candidate yet, the month before).
 */
async function dropDelisted(candidates: string[], index: ArchiveIndex, o: ResolvedUniverse): Promise<{ kept: string[]; dropped: UniverseExclusion[] }> {
  const months = await Promise.all(candidates.map((s) => index.months(s)));
  let last = startOfMonth(startOfMonth(o.now) - 1);
  if (!months.some((m) => m.has(formatMonth(last)))) {
    const before = startOfMonth(last - 1);
    o.logger.info('no candidate has an archive for the last finished month yet; judging delistings by the month before', { month: formatMonth(last), instead: formatMonth(before) });
    last = before;
  }
  const month = formatMonth(last);
  const kept: string[] = [];
  const dropped: UniverseExclusion[] = [];
  candidates.forEach((s, i) => {
    if (months[i].has(month)) kept.push(s);
    else dropped.push({ symbol: s, reason: 'delisted', detail: `no ${RANK_INTERVAL} archive for ${month} (no longer traded, or listed since; ${o.term('includeDelisted')} is false)` });
  });
  return { kept, dropped };
}

interface Window {
  month: number;
  start: number;
  end: number;
}

/** One symbol's daily candles over the ranking months: open times and quote volumes, sorted and unique. */
interface DailyVolumes {
  openTime: Float64Array;
  quoteVolume: Float64Array;
}

/**
 * The month units a candidate's ranking needs: those its listing has; and, for a recent month the
 * listing lacks (its monthly archive may still be unpublished), the month with its days in the
 * ranking windows as the fallback, as a download would take them.
 */
function rankingUnits(o: ResolvedUniverse, symbol: string, needed: number[], available: Set<string>, windows: Window[], synthetic: boolean): MonthUnit[] {
  const today = startOfDay(o.now);
  const units: MonthUnit[] = [];
  for (const m of needed) {
    const end = nextMonthStart(m);
    const archive = archiveRef(o.market, symbol, RANK_INTERVAL, 'monthly', formatMonth(m));
    if (available.has(formatMonth(m))) {
      units.push({ kind: 'month', archive, start: m, end, days: [] });
    } else if (!synthetic && end <= today && end > today - MONTHLY_PUBLISH_LAG_MS) {
      const days: DayUnit[] = [];
      for (let d = m; d < Math.min(end, today); d += DAY_MS) {
        if (windows.some((w) => d >= w.start && d < w.end)) {
          days.push({ kind: 'day', archive: archiveRef(o.market, symbol, RANK_INTERVAL, 'daily', formatDay(d)), start: d, end: d + DAY_MS });
        }
      }
      units.push({ kind: 'month', archive, start: m, end, days });
    }
  }
  return units;
}

/** Ranks the candidates at the start of each month on their quote volume over the lookback. */
async function rank(o: ResolvedUniverse, candidates: string[], index: ArchiveIndex, http: HttpSettings | null, signal: AbortSignal): Promise<UniverseMonth[]> {
  const top = o.top!;
  const lookback = top.lookbackDays * DAY_MS;
  const windows: Window[] = o.months.map((m) => ({ month: m, start: m - lookback, end: m }));
  const needed: number[] = [];
  for (let m = startOfMonth(windows[0].start); m < windows[windows.length - 1].end; m = nextMonthStart(m)) needed.push(m);

  const available = await Promise.all(candidates.map((s) => index.months(s)));
  const plan = candidates.map((symbol, i) => ({ symbol, units: rankingUnits(o, symbol, needed, available[i], windows, index.synthetic) }));
  let cacheRoot = o.cacheDir;
  if (index.synthetic) {
    // The sample writes each candidate's archives first (only its trading months), then they are read like downloads.
    // One line per candidate is detail: the universe's own summary line says what happened.
    const quiet: DataLogger = { info: (m, f) => o.logger.debug(m, f), warn: (m, f) => o.logger.warn(m, f), debug: (m, f) => o.logger.debug(m, f) };
    for (const { symbol, units } of plan) {
      if (units.length === 0) continue;
      await writeResolvedSample({
        symbol,
        interval: RANK_INTERVAL,
        market: o.market,
        range: { start: units[0].start, end: units[units.length - 1].end },
        cacheDir: o.cacheDir,
        now: o.now,
        signal,
        logger: quiet,
      });
    }
    cacheRoot = join(o.cacheDir, SYNTHETIC_DIR);
  }
  const ctx: ArchiveContext = {
    cache: new ArchiveCache(cacheRoot, o.logger),
    network: http ? { baseUrl: o.baseUrl, verify: true, http } : null,
    interval: RANK_INTERVAL,
    logger: o.logger,
  };
  const total = plan.reduce((n, p) => n + p.units.length, 0);
  const progress = new ProgressReporter(o.onProgress, total);
  const loader = new SeriesLoader({ interval: RANK_INTERVAL, logger: o.logger, onMalformedRow: 'error', term: (k) => k }, ctx, { today: startOfDay(o.now) }, progress, signal, index.synthetic, 'absent');
  const slots = new Limiter(archiveSlots(o.concurrency));
  const loaded = await Promise.all(plan.map(({ units }) => Promise.all(units.map((u) => slots.run(() => loader.load(u), signal)))));

  const series = new Map<string, DailyVolumes>();
  let absent = 0;
  const gone: Promise<void>[] = [];
  plan.forEach(({ symbol }, i) => {
    const results: UnitResult[] = loaded[i];
    absent += results.reduce((n, r) => n + r.absent.length, 0);
    // A listed month whose monthly archive is a 404 (the mirror lacks it): not trading then, and not asked for again.
    const listedGone = results.flatMap((r, k) => (r.absent.includes(plan[i].units[k].archive.name) && available[i].has(plan[i].units[k].archive.period) ? [plan[i].units[k].archive.period] : []));
    if (listedGone.length > 0) gone.push(index.missing(symbol, listedGone));
    const merged = mergeKlines(
      results.flatMap((r) => r.archives.map((a) => a.klines)),
      -Infinity,
      Infinity,
    );
    series.set(symbol, { openTime: merged.openTime, quoteVolume: merged.quoteVolume });
  });
  await Promise.all(gone);
  if (absent > 0) o.logger.debug('ranking archives that do not exist: those symbols did not trade then', { archives: absent });

  return windows.map((w) => {
    const ranked: Array<{ symbol: string; quoteVolume: number }> = [];
    for (const symbol of candidates) {
      const s = series.get(symbol)!;
      let sum = 0;
      let days = 0;
      // In time order, so that anyone summing the same candles gets the same number.
      for (let i = 0; i < s.openTime.length; i++) {
        if (s.openTime[i] >= w.start && s.openTime[i] < w.end) {
          sum += s.quoteVolume[i];
          days++;
        }
      }
      if (days > 0) ranked.push({ symbol, quoteVolume: sum });
    }
    ranked.sort((a, b) => b.quoteVolume - a.quoteVolume || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    const members = ranked.slice(0, top.n);
    if (members.length < top.n) o.logger.warn('fewer ranked candidates than top.n for a month', { month: formatMonth(w.month), members: members.length, n: top.n });
    return { month: formatMonth(w.month), members };
  });
}

async function resolve(o: ResolvedUniverse, signal: AbortSignal): Promise<Universe> {
  // Listings and daily archives are small: the default slowest transfer applies.
  const http: HttpSettings = { timeoutMs: o.timeoutMs, retries: o.retries, retryDelayMs: o.retryDelayMs, minBytesPerSecond: MIN_DOWNLOAD_BYTES_PER_SECOND, logger: o.logger, signal, limiter: new Limiter(o.concurrency) };
  const progress = new Progress(o);
  progress.expect(1);
  const index = o.source === 'sample' ? sampleIndex(o, progress) : bucketIndex(o, http, progress);
  const listing = await index.symbols();
  const selected = selectCandidates(listing.entries, o);
  let { candidates } = selected;
  const excluded = [...selected.excluded];
  if (candidates.length > 0 && (!o.includeDelisted || o.top)) progress.expect(candidates.length);
  if (!o.includeDelisted && candidates.length > 0) {
    const { kept, dropped } = await dropDelisted(candidates, index, o);
    candidates = kept;
    excluded.push(...dropped);
  }
  if (candidates.length === 0) {
    const quote = o.quote === null ? '' : ` with ${o.term('quote')} ${o.quote}`;
    throw new OhlcError(
      ErrorCode.noData,
      `No candidate symbols: of the ${listing.entries.length} ${o.market} symbols listed (${listing.info.url}), none${quote} is left after the exclusions ` +
        `(${excluded.length} excluded). Check ${o.term('quote')}, ${o.term('exclude')} and ${o.term('market')}.`,
    );
  }
  const months = o.top
    ? await rank(o, candidates, index, index.synthetic ? null : http, signal)
    : o.months.map((m) => ({ month: formatMonth(m), members: candidates.map((symbol) => ({ symbol })) }));
  const symbols = [...new Set(months.flatMap((m) => m.members.map((x) => x.symbol)))].sort();
  if (symbols.length === 0) {
    throw new OhlcError(
      ErrorCode.noData,
      `No member in any month from ${formatMonth(o.months[0])} to ${formatMonth(o.months[o.months.length - 1])}: none of the ${candidates.length} candidates has daily candles ` +
        `in the ${o.top?.lookbackDays} days before any of those months. Choose later dates (${o.term('startDate')}, ${o.term('endDate')}).`,
    );
  }
  o.logger.info('universe resolved', { market: o.market, months: months.length, candidates: candidates.length, excluded: excluded.length, symbols: symbols.length, listing: listing.info.url, fromCache: listing.info.fromCache });
  return { market: o.market, symbols, months, candidates, excluded, listing: listing.info };
}

/**
 * The symbols of a cross-sectional dataset, month by month, from the archive's own listing:
 * survivorship-free (delisted symbols stay unless `includeDelisted: false`), filtered by quote
 * asset and exclusions, and with `top` ranked at each month's start on the quote volume of the
 * days before it. Listings and ranking archives are cached; a re-run within `listingMaxAgeMs`
 * makes no request. `source: 'sample'` resolves a synthetic market offline.
 */
export async function resolveUniverse(options: UniverseOptions): Promise<Universe> {
  const o = resolveUniverseOptions(options);
  throwIfAborted(o.signal);
  // One internal signal: the caller's abort, or the first failure, stops every other request.
  const inner = new AbortController();
  setMaxListeners(Infinity, inner.signal);
  const onAbort = () => inner.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await resolve(o, inner.signal);
  } catch (err) {
    if (o.signal?.aborted) throw abortError(o.signal);
    throw err;
  } finally {
    inner.abort();
    o.signal?.removeEventListener('abort', onAbort);
  }
}
