// The data layer: Binance Vision archives -> columnar candles.
export { downloadCryptoData } from './download.js';
export { writeSampleArchives } from './sample.js';
export { INTERVALS, MARKETS } from './binance.js';
export type * from './types.js';
