// The data section of a pipeline config as downloadCryptoData options (shared by `build`,
// `download` and `sample`), and the one table of which config key each option comes from, so the
// data layer's messages name the keys the user wrote.
import type { DownloadOptions, OptionTerms, UniverseOptions, UniverseTerms } from '../data/types.js';
import { DEFAULT_SYMBOL, type PipelineConfig } from './schema.js';

export const CONFIG_TERMS = {
  symbol: 'data.symbol',
  interval: 'data.interval',
  startDate: 'data.start_date',
  endDate: 'data.end_date',
  market: 'data.market',
  baseUrl: 'data.base_url',
  cacheDir: 'paths.raw_data',
  verify: 'data.verify',
  onMalformedRow: 'data.on_malformed_row',
  concurrency: 'data.concurrency',
} as const satisfies OptionTerms & Record<string, string>;

/** The config key of each resolveUniverse option, for its messages. */
export const UNIVERSE_TERMS = {
  market: 'data.market',
  startDate: 'data.start_date',
  endDate: 'data.end_date',
  quote: 'data.universe.quote',
  exclude: 'data.universe.exclude',
  defaultExclusions: 'data.universe.default_exclusions',
  includeDelisted: 'data.universe.include_delisted',
  top: 'data.universe.top',
  cacheDir: 'paths.raw_data',
  baseUrl: 'data.base_url',
  listingUrl: 'data.listing_url',
  listingMaxAgeMs: 'data.listing_max_age_hours',
} as const satisfies UniverseTerms;

/** The resolveUniverse options of a config with data.universe. */
export function universeOptionsFrom(config: PipelineConfig, extra: Partial<UniverseOptions> = {}): UniverseOptions {
  const d = config.data;
  const u = d.universe!;
  return {
    market: d.market,
    startDate: d.start_date,
    endDate: d.end_date,
    quote: u.quote,
    exclude: u.exclude,
    defaultExclusions: u.default_exclusions,
    includeDelisted: u.include_delisted,
    ...(u.top !== undefined ? { top: { n: u.top, rankBy: u.rank_by, lookbackDays: u.lookback_days, rebalance: u.rebalance } } : {}),
    cacheDir: config.paths.raw_data,
    baseUrl: d.base_url,
    listingUrl: d.listing_url,
    listingMaxAgeMs: Math.round(d.listing_max_age_hours * 3_600_000),
    source: d.source,
    concurrency: d.concurrency,
    terms: UNIVERSE_TERMS,
    ...extra,
  };
}

/** The symbols a config names itself (data.symbol or data.symbols); a universe resolves later. */
export function listedSymbols(config: PipelineConfig): string[] {
  return config.data.symbols ?? (config.data.symbol !== undefined ? [config.data.symbol] : []);
}

/** The downloadCryptoData options of the config's data section, for one of its symbols. */
export function downloadOptionsFrom(config: PipelineConfig, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  const d = config.data;
  return {
    symbol: d.symbol ?? listedSymbols(config)[0] ?? DEFAULT_SYMBOL,
    interval: d.interval,
    startDate: d.start_date,
    endDate: d.end_date,
    market: d.market,
    baseUrl: d.base_url,
    source: d.source,
    verify: d.verify,
    concurrency: d.concurrency,
    onMalformedRow: d.on_malformed_row === 'skip' ? 'skip' : 'error',
    cacheDir: config.paths.raw_data,
    terms: CONFIG_TERMS,
    ...extra,
  };
}
