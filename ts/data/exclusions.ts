// Which listed symbols a universe leaves out by default, and the caller's own exclusions. The
// defaults are two kinds of symbol whose charts say nothing about a market: stablecoin-to-
// stablecoin pairs (USDCUSDT trades at 1.0000 ± noise) and leveraged tokens (BTCUPUSDT: a
// rebalancing product, its price path an artefact of the rebalancing), both described in
// docs/BINANCE.md.

/** Fiat-pegged stablecoins (and EUR, whose pairs with them trade like an FX rate). */
export const STABLECOINS = ['USDT', 'USDC', 'FDUSD', 'TUSD', 'BUSD', 'DAI', 'USDP', 'PAX', 'USDS', 'USDSB', 'UST', 'SUSD', 'GUSD', 'PYUSD', 'USDD', 'USD1', 'AEUR', 'EURI', 'EUR'] as const;

/** Leveraged-token bases end in one of these (BTCUP, ETHDOWN, BNBBULL, XRPBEAR). */
export const LEVERAGED_SUFFIXES = ['UP', 'DOWN', 'BULL', 'BEAR'] as const;

/** Coins whose names end like a leveraged token but are not one. */
export const NOT_LEVERAGED = ['SYRUP'] as const;

/** Quote assets a symbol's base is split from when no quote is given (longest first wins). */
const KNOWN_QUOTES = [...STABLECOINS, 'BTC', 'ETH', 'BNB', 'TRY', 'BRL', 'GBP', 'AUD', 'RUB', 'UAH', 'NGN', 'ZAR', 'JPY', 'ARS', 'PLN', 'RON', 'MXN', 'COP', 'CZK', 'IDRT', 'BIDR', 'BVND', 'XRP', 'TRX', 'DOGE', 'DOT', 'SOL', 'USD'].sort(
  (a, b) => b.length - a.length,
);

/** The pair part of a symbol: futures suffixes ('_PERP', '_240628') cut off. */
export function pairOf(symbol: string): string {
  const cut = symbol.indexOf('_');
  return cut < 0 ? symbol : symbol.slice(0, cut);
}

/** Base and quote of a symbol: with the quote given, or split at the longest known quote asset (null when none fits). */
export function splitPair(symbol: string, quote: string | null): { base: string; quote: string } | null {
  const pair = pairOf(symbol);
  const q = quote ?? KNOWN_QUOTES.find((k) => pair.endsWith(k) && pair.length > k.length);
  if (q === undefined || !pair.endsWith(q) || pair.length === q.length) return null;
  return { base: pair.slice(0, pair.length - q.length), quote: q };
}

/** The stablecoin pair a symbol is, e.g. 'USDC/USDT', or null. */
export function stablecoinPair(symbol: string, quote: string | null): string | null {
  const pair = pairOf(symbol);
  const stable = STABLECOINS as readonly string[];
  if (quote !== null) {
    const split = splitPair(symbol, quote);
    return split && stable.includes(split.base) && stable.includes(split.quote) ? `${split.base}/${split.quote}` : null;
  }
  for (const q of stable) {
    if (pair.endsWith(q) && stable.includes(pair.slice(0, pair.length - q.length))) return `${pair.slice(0, pair.length - q.length)}/${q}`;
  }
  return null;
}

/**
 * The leveraged token a symbol trades, e.g. 'BTCUP', or null: a base ending in UP, DOWN, BULL or
 * BEAR after at least two characters (so JUP is a coin), and not one of NOT_LEVERAGED.
 */
export function leveragedToken(symbol: string, quote: string | null): string | null {
  const split = splitPair(symbol, quote);
  if (!split || (NOT_LEVERAGED as readonly string[]).includes(split.base)) return null;
  const suffix = LEVERAGED_SUFFIXES.find((s) => split.base.endsWith(s) && split.base.length >= s.length + 2);
  return suffix ? split.base : null;
}

/** A matcher for an exclusion: the symbol itself, or a pattern with '*' for any characters. */
export function exclusionMatcher(pattern: string): (symbol: string) => boolean {
  if (!pattern.includes('*')) return (symbol) => symbol === pattern;
  const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[^A-Z0-9_]/g, '')).join('.*')}$`);
  return (symbol) => re.test(symbol);
}
