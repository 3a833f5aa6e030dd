// The data section of a pipeline config as downloadCryptoData options (shared by `build`,
// `download` and `sample`).
import type { DownloadOptions } from '../data/types.js';
import type { PipelineConfig } from './schema.js';

export function downloadOptionsFrom(config: PipelineConfig, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  const d = config.data;
  return {
    symbol: d.symbol,
    interval: d.interval,
    startDate: d.start_date,
    endDate: d.end_date,
    market: d.market,
    baseUrl: d.base_url,
    source: d.source,
    verify: d.verify,
    concurrency: d.concurrency,
    cacheDir: config.paths.raw_data,
    ...extra,
  };
}
