// What a build covers, before any candle is read: its symbols (listed, or a universe resolved
// point in time from the archive) and the segments they cut into. \`build\` and \`plan\` share it,
// so a shard plan is made from exactly what the build will draw.
import { parseDateArg } from '../data/dates.js';
import type { DataLogger } from '../data/types.js';
import { ConfigError, ErrorCode, OhlcError } from '../errors.js';
import { listedSymbols, universeOptionsFrom } from '../config/data-options.js';
import { resolveUniverse } from '../data/universe.js';
import { MAX_SYMBOLS } from '../limits.js';
import type { PipelineConfig } from '../config/schema.js';
import type { PipelineLogger } from '../log/logger.js';
import { planSegments, type Segment } from './segments.js';

export interface SelectOptions {
  log: PipelineLogger;
  signal?: AbortSignal;
  /** The clock for which archives exist yet (tests). */
  now?: Date | number;
}

/** The symbols a build covers and, for a universe, the months each is a member for. */
export interface Selection {
  symbols: string[];
  members?: Map<string, Set<string>>;
  /** Several symbols (or a universe): the dataset has symbol_index and a per-symbol index. */
  crossSection: boolean;
  /** A universe's membership, for the metadata and the manifest. */
  universe?: Record<string, unknown>;
}

export async function selectSymbols(config: PipelineConfig, options: SelectOptions): Promise<Selection> {
  if (!config.data.universe) return { symbols: listedSymbols(config), crossSection: config.data.symbols !== undefined };
  const { log } = options;
  // Resolved from the archive itself, point in time: members per month, delisted symbols included.
  const u = await resolveUniverse(universeOptionsFrom(config, { signal: options.signal, logger: monthLogger(log), now: options.now }));
  const members = new Map<string, Set<string>>();
  for (const m of u.months) for (const { symbol } of m.members) (members.get(symbol) ?? members.set(symbol, new Set()).get(symbol)!).add(m.month);
  const listing = { url: u.listing.url, fetched_at: new Date(u.listing.fetchedAt).toISOString(), from_cache: u.listing.fromCache, stale: u.listing.stale, synthetic: u.listing.synthetic };
  if (u.listing.stale) log.warn('Using a cached symbol listing older than data.listing_max_age_hours: the bucket could not be listed', listing);
  const perMonth = u.months.map((m) => m.members.length);
  log.info(`Universe: ${u.symbols.length} symbols from ${u.candidates.length} candidates (${u.excluded.length} excluded), ${Math.min(...perMonth)}..${Math.max(...perMonth)} members per month`, { listing: listing.url, fromCache: listing.from_cache });
  if (u.symbols.length === 0) throw new OhlcError(ErrorCode.noData, `data.universe selects no symbol for ${config.data.start_date}..${config.data.end_date} (${u.candidates.length} candidates with quote ${config.data.universe.quote}, ${u.excluded.length} excluded); nothing was written`);
  if (u.symbols.length > MAX_SYMBOLS) throw new ConfigError('data.universe', [`data.universe selects ${u.symbols.length} symbols, more than one dataset holds (${MAX_SYMBOLS}: symbol_index is a uint16); set data.universe.top or narrow data.universe.quote`]);
  const universe = {
    rule: config.data.universe,
    listing,
    months: u.months.map((m) => ({ month: m.month, members: m.members.map((x) => x.symbol) })),
    excluded: u.excluded,
  };
  return { symbols: u.symbols, members, crossSection: true, universe };
}

/**
 * A universe member's month with no archive is a month it did not trade (listed later, or
 * delisted): no candles then, not an error. A named symbol's missing archive stays an error.
 */
export function memberMonths(config: PipelineConfig): { missingArchives?: 'absent' } {
  return config.data.universe ? { missingArchives: 'absent' } : {};
}

/** The data layer's logger for one month's read of cached archives: its info lines are details here. */
export function monthLogger(log: PipelineLogger): DataLogger {
  return { info: (m, f) => log.debug(m, f), warn: (m, f) => log.warn(m, f), debug: (m, f) => log.debug(m, f) };
}


/** The build's date range, [start, end) in ms UTC: data.start_date's first instant to data.end_date's end. */
export function buildRange(config: PipelineConfig): { start: number; end: number } {
  return { start: parseDateArg('start_date', config.data.start_date).start, end: parseDateArg('end_date', config.data.end_date).end };
}

/** The segments of a build's selection over its date range. */
export function selectionSegments(config: PipelineConfig, selection: Selection): Segment[] {
  return planSegments(selection.symbols, buildRange(config), selection.members);
}
