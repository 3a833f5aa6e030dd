// The data section of a pipeline config as downloadCryptoData options (shared by `build`,
// `download` and `sample`), and the one table of which config key each option comes from, so the
// data layer's messages name the keys the user wrote.
import type { DownloadOptions, OptionTerms } from '../data/types.js';
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
