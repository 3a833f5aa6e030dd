// The one candle type of the package: columns of float64, one element per candle, all the same
// length. The parser produces them, the pipeline cuts windows over them, the rasterizer and the
// writer read them, with no per-candle objects anywhere on the way.
import { invalidParameterError } from '../errors.js';
import { checkFixedBuffer, checkObject } from '../validate.js';

/** Columnar candles: open, high, low, close (and volume, open time and quote volume where a step needs them). */
export interface CandleColumns {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume?: Float64Array;
  /** Open time of each candle, ms since the epoch (UTC). */
  openTime?: Float64Array;
  /** Quote asset volume of each candle (Binance's quote_asset_volume, column 8): volume × price, traded in the quote asset. */
  quoteVolume?: Float64Array;
}

/** Candles as an archive holds them: every column present. */
export type KlineColumns = Required<CandleColumns>;

export const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;
const OPTIONAL_FIELDS = ['volume', 'openTime', 'quoteVolume'] as const;

/**
 * Checks candle columns: the four prices (and `required` extras) are Float64Arrays of one length;
 * optional columns present must match too. Errors name `${name}.<field>`.
 */
export function checkCandleColumns(candles: unknown, name = 'candles', required: readonly (typeof OPTIONAL_FIELDS)[number][] = []): CandleColumns {
  const c = checkObject(name, candles);
  const fields = [...PRICE_FIELDS, ...OPTIONAL_FIELDS.filter((f) => required.includes(f) || c[f] !== undefined)];
  for (const f of fields) {
    if (!(c[f] instanceof Float64Array)) throw invalidParameterError(`${name}.${f}`, 'a Float64Array', c[f]);
    checkFixedBuffer(`${name}.${f}`, c[f]);
  }
  const n = (c.open as Float64Array).length;
  for (const f of fields) {
    const len = (c[f] as Float64Array).length;
    if (len !== n) throw invalidParameterError(`${name}.${f}`, `a Float64Array of length ${n} (the length of ${name}.open)`, c[f], true);
  }
  return c as unknown as CandleColumns;
}
