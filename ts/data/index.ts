// The data layer: Binance Vision archives -> columnar candles.
export { cacheArchives, downloadCryptoData } from './download.js';
export type { CachedArchives } from './download.js';
export { writeSampleArchives } from './sample.js';
export { resolveUniverse } from './universe.js';
export { INTERVALS as BINANCE_INTERVALS, MARKETS as BINANCE_MARKETS } from './binance.js';
export type * from './types.js';
