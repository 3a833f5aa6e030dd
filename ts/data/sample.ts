// Synthetic archives for working offline: deterministic random-walk candles (seeded from market,
// symbol, interval and period) written exactly as Binance Vision publishes them (12-column CSV,
// one member per ZIP, a .CHECKSUM beside it; spot in ms before 2025 and µs from 2025 on, futures
// with a header row) into <cacheDir>/synthetic/<Binance path>. That separate subtree means a
// synthetic archive can never be taken for market data by a later real run.
//
// A synthetic market stands in for the bucket listing (SAMPLE_SYMBOLS): a fixed list of symbols per
// market, with stablecoin pairs, leveraged tokens, and symbols listed late or delisted; each has
// its own volatility and quote-volume level (slowly swinging, so rankings change month to month),
// and no archives outside its trading days, as real symbols have none before their listing or
// after their delisting. BTCUSDT is the reference: its archives are those of every earlier version
// (byte for byte), as are those of any symbol not in the list.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { throwIfAborted } from '../errors.js';
import { intervalMs, type ArchiveRef, type Interval, type Market } from './binance.js';
import { sha256Hex } from '../util/hash.js';
import { ArchiveCache } from './cache.js';
import { DAY_MS, formatMonth, nextMonthStart, startOfMonth } from './dates.js';
import { resolveSampleOptions, type ResolvedSeries } from './options.js';
import { planArchives } from './plan.js';
import type { SampleArchive, SampleOptions, SampleResult } from './types.js';

/** Spot archives switch to microsecond timestamps from this instant (2025-01-01 UTC). */
export const SPOT_MICROSECONDS_FROM = Date.UTC(2025, 0, 1);

export const SYNTHETIC_DIR = 'synthetic';

const YEAR_MS = 365.25 * DAY_MS;
const FUTURES_HEADER = 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore';

function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

/** mulberry32 */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Open times of the candles in [start, end): aligned to the epoch, weeks to Mondays, months to the 1st. */
function openTimes(interval: Interval, start: number, end: number): number[] {
  const times: number[] = [];
  const step = intervalMs(interval);
  if (step === null) {
    for (let t = start; t < end; t = nextMonthStart(t)) times.push(t);
    return times;
  }
  const offset = interval === '1w' ? 4 * DAY_MS : 0; // 1970-01-05 was a Monday
  for (let t = Math.ceil((start - offset) / step) * step + offset; t < end; t += step) times.push(t);
  return times;
}

type SampleKind = 'coin' | 'stable' | 'leveraged';

/** A symbol of the synthetic market. */
export interface SampleSymbol {
  symbol: string;
  /** Quote volume relative to the market's first symbol (the reference, 1). */
  quoteLevel: number;
  kind: SampleKind;
  /** First trading day 'YYYY-MM-DD' (absent: trading all along). */
  listed?: string;
  /** The day trading stopped 'YYYY-MM-DD', exclusive (absent: still trading). */
  delisted?: string;
}

const sym = (symbol: string, quoteLevel: number, kind: SampleKind = 'coin', listed?: string, delisted?: string): SampleSymbol => ({ symbol, quoteLevel, kind, listed, delisted });

/**
 * The synthetic market: names like Binance's, trading spans and levels made up for the sample
 * (they are not market facts). The first symbol of each market is the reference.
 */
export const SAMPLE_SYMBOLS: Readonly<Record<Market, readonly SampleSymbol[]>> = {
  spot: [
    sym('BTCUSDT', 1), sym('ETHUSDT', 0.55), sym('SOLUSDT', 0.25), sym('XRPUSDT', 0.2), sym('BNBUSDT', 0.18), sym('DOGEUSDT', 0.15),
    sym('PEPEUSDT', 0.12, 'coin', '2023-05-05'), sym('SUIUSDT', 0.09, 'coin', '2023-05-03'), sym('ADAUSDT', 0.08), sym('ARBUSDT', 0.07, 'coin', '2023-03-23'),
    sym('MATICUSDT', 0.07, 'coin', undefined, '2024-09-10'), sym('POLUSDT', 0.05, 'coin', '2024-09-13'), sym('LINKUSDT', 0.06), sym('AVAXUSDT', 0.06),
    sym('WLDUSDT', 0.06, 'coin', '2023-07-24'), sym('TRXUSDT', 0.05), sym('LTCUSDT', 0.05), sym('APTUSDT', 0.05, 'coin', '2022-10-19'),
    sym('OPUSDT', 0.05, 'coin', '2022-06-01'), sym('DOTUSDT', 0.04), sym('FILUSDT', 0.04), sym('NEARUSDT', 0.04), sym('JUPUSDT', 0.04, 'coin', '2024-01-31'),
    sym('FTMUSDT', 0.04, 'coin', undefined, '2025-01-13'), sym('ATOMUSDT', 0.03), sym('UNIUSDT', 0.03), sym('ETCUSDT', 0.03), sym('XLMUSDT', 0.02),
    sym('LUNAUSDT', 0.3, 'coin', undefined, '2022-05-13'), sym('SRMUSDT', 0.01, 'coin', undefined, '2023-02-10'),
    sym('USDCUSDT', 0.5, 'stable'), sym('FDUSDUSDT', 0.7, 'stable', '2023-07-26'), sym('BUSDUSDT', 0.6, 'stable', undefined, '2023-12-15'),
    sym('TUSDUSDT', 0.1, 'stable'), sym('USDPUSDT', 0.01, 'stable'), sym('EURUSDT', 0.02, 'stable'),
    sym('BTCUPUSDT', 0.02, 'leveraged', undefined, '2024-04-10'), sym('BTCDOWNUSDT', 0.02, 'leveraged', undefined, '2024-04-10'),
    sym('ETHUPUSDT', 0.015, 'leveraged', undefined, '2024-04-10'), sym('ETHDOWNUSDT', 0.015, 'leveraged', undefined, '2024-04-10'),
    sym('BNBBULLUSDT', 0.005, 'leveraged', undefined, '2022-02-01'),
    sym('ETHBTC', 0.05), sym('BNBBTC', 0.01), sym('SOLBTC', 0.01), sym('BTCFDUSD', 0.8, 'coin', '2023-08-25'), sym('ETHFDUSD', 0.2, 'coin', '2023-08-25'),
    sym('BTCUSDC', 0.3), sym('ETHUSDC', 0.1), sym('BTCEUR', 0.02),
  ],
  um: [
    sym('BTCUSDT', 1), sym('ETHUSDT', 0.6), sym('SOLUSDT', 0.3), sym('XRPUSDT', 0.2), sym('DOGEUSDT', 0.18), sym('BNBUSDT', 0.12),
    sym('1000PEPEUSDT', 0.12, 'coin', '2023-05-05'), sym('LINKUSDT', 0.05), sym('AVAXUSDT', 0.05), sym('ADAUSDT', 0.06),
    sym('LUNA2USDT', 0.04, 'coin', '2022-06-01'), sym('SRMUSDT', 0.01, 'coin', undefined, '2022-11-21'), sym('FTMUSDT', 0.04, 'coin', undefined, '2025-01-13'),
    sym('USDCUSDT', 0.05, 'stable', '2023-05-19'), sym('BTCUSDC', 0.08, 'coin', '2023-05-19'), sym('ETHUSDC', 0.04, 'coin', '2023-05-19'),
  ],
  cm: [
    sym('BTCUSD_PERP', 1), sym('ETHUSD_PERP', 0.5), sym('SOLUSD_PERP', 0.15), sym('XRPUSD_PERP', 0.12), sym('BNBUSD_PERP', 0.08),
    sym('DOGEUSD_PERP', 0.08, 'coin', '2022-01-14'), sym('ADAUSD_PERP', 0.05), sym('LTCUSD_PERP', 0.04), sym('LUNAUSD_PERP', 0.06, 'coin', undefined, '2022-05-13'),
  ],
};

/** Synthetic months start here for symbols trading all along (Binance Vision's first archives are from 2017). */
export const SAMPLE_HISTORY_START = Date.UTC(2017, 7, 1);

function sampleSymbol(market: Market, symbol: string): SampleSymbol | undefined {
  return SAMPLE_SYMBOLS[market].find((s) => s.symbol === symbol);
}

/** The span [start, end) a symbol of the synthetic market trades in (unbounded for any other symbol). */
export function sampleTradingSpan(market: Market, symbol: string): { start: number; end: number } {
  const s = sampleSymbol(market, symbol);
  return {
    start: s?.listed ? Date.parse(`${s.listed}T00:00:00Z`) : -Infinity,
    end: s?.delisted ? Date.parse(`${s.delisted}T00:00:00Z`) : Infinity,
  };
}

/** The months ('YYYY-MM') a synthetic symbol has monthly archives for, up to the last month finished by `now`. */
export function sampleArchiveMonths(market: Market, symbol: string, now: number): string[] {
  const span = sampleTradingSpan(market, symbol);
  const months: string[] = [];
  const last = startOfMonth(now);
  for (let m = startOfMonth(Math.max(span.start, SAMPLE_HISTORY_START)); m < last && m < span.end; m = nextMonthStart(m)) months.push(formatMonth(m));
  return months;
}

interface SeriesStyle {
  /** Price level the walk reverts to, by time: one smooth curve per symbol, so periods join up. */
  anchor: (t: number) => number;
  /** Annual volatility of the walk. */
  volatility: number;
  /** Multiplies the base volume, by time (exactly 1 for the reference and unlisted symbols). */
  volumeLevel: (t: number) => number;
  priceDecimals: number;
  volumeDecimals: number;
  header: boolean;
}

function anchorBase(symbol: string): number {
  return 10 ** (1 + 3.5 * (seedOf(`level:${symbol}`) / 4294967296));
}

/** Quote-volume levels swing over this period, with a phase per symbol. */
const VOLUME_SWING_MS = 230 * DAY_MS;

function seriesStyle(market: Market, symbol: string): SeriesStyle {
  const u = seedOf(`level:${symbol}`) / 4294967296;
  const entry = sampleSymbol(market, symbol);
  const reference = entry === undefined || entry === SAMPLE_SYMBOLS[market][0];
  const base = entry?.kind === 'stable' ? 1 : anchorBase(symbol);
  const phase = u * 2 * Math.PI;
  const anchor =
    entry?.kind === 'stable'
      ? () => 1
      : (t: number) => base * Math.exp(0.35 * Math.sin((2 * Math.PI * t) / YEAR_MS + phase) + 0.1 * Math.sin((2 * Math.PI * t) / (29.5 * DAY_MS) + 2 * phase));
  const v = seedOf(`style:${market}:${symbol}`) / 4294967296;
  const volatility = reference ? 0.8 : entry.kind === 'stable' ? 0.01 : entry.kind === 'leveraged' ? 2.5 + v : 0.5 + 0.9 * v;
  // Quote volume ~ volume * price ~ sqrt(price): scaled to the reference's price level, then to the symbol's own level.
  const referenceBase = anchorBase(SAMPLE_SYMBOLS[market][0].symbol);
  const swingPhase = v * 2 * Math.PI;
  const volumeLevel = reference ? () => 1 : (t: number) => entry.quoteLevel * Math.exp(0.5 * Math.sin((2 * Math.PI * t) / VOLUME_SWING_MS + swingPhase)) * Math.sqrt(referenceBase / anchor(t));
  const priceDecimals = market === 'spot' ? 8 : base >= 100 ? 2 : 4;
  return { anchor, volatility, volumeLevel, priceDecimals, volumeDecimals: market === 'spot' ? 8 : 3, header: market !== 'spot' };
}

function round(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}

/** One archive's CSV text and row count. */
export function syntheticKlinesCsv(market: Market, symbol: string, interval: Interval, period: string, start: number, end: number): { csv: string; rows: number } {
  let csv = '';
  for (const block of syntheticKlinesBlocks(market, symbol, interval, period, start, end)) csv += block;
  return { csv, rows: openTimes(interval, start, end).length };
}

/** Rows per block of syntheticKlinesBlocks. */
const BLOCK_ROWS = 1 << 13;

/**
 * One archive's CSV text in blocks of BLOCK_ROWS rows (each ending in a line end), in order: the
 * text of syntheticKlinesCsv, for archives too large to build as one string (a month of 1s candles
 * is 2.7 M rows, ~400 MB of text).
 */
export function* syntheticKlinesBlocks(market: Market, symbol: string, interval: Interval, period: string, start: number, end: number): Generator<string> {
  const style = seriesStyle(market, symbol);
  const rand = random(seedOf(`${market}:${symbol}:${interval}:${period}`));
  const times = openTimes(interval, start, end);
  const step = intervalMs(interval) ?? 30 * DAY_MS;
  const sigma = style.volatility * Math.sqrt(step / YEAR_MS); // the reference: ~80% a year, like a volatile coin
  const reversion = Math.min(0.5, step / DAY_MS);
  const pd = style.priceDecimals;
  const vd = style.volumeDecimals;
  let lines: string[] = style.header ? [FUTURES_HEADER] : [];
  let logPrice = Math.log(style.anchor(start));
  for (let i = 0; i < times.length; i++) {
    const t = times[i];
    const closeTime = (interval === '1mo' ? nextMonthStart(t) : t + step) - 1;
    const open = round(Math.exp(logPrice), pd);
    logPrice += reversion * (Math.log(style.anchor(t)) - logPrice) + sigma * normal(rand);
    const close = round(Math.exp(logPrice), pd);
    const high = Math.max(round(Math.max(open, close) * Math.exp(Math.abs(normal(rand)) * sigma * 0.5), pd), open, close);
    const low = Math.min(round(Math.min(open, close) * Math.exp(-Math.abs(normal(rand)) * sigma * 0.5), pd), open, close);
    const volume = round((0.2 + rand()) * 40 * Math.sqrt(step / 60_000) * (1000 / style.anchor(t)) ** 0.5 * style.volumeLevel(t), vd);
    const vwap = (open + high + low + close) / 4;
    const takerBase = round(volume * (0.3 + 0.4 * rand()), vd);
    const trades = Math.max(1, Math.round(volume * 20 * (0.5 + rand())));
    const micro = market === 'spot' && t >= SPOT_MICROSECONDS_FROM ? 1000 : 1;
    lines.push(
      `${t * micro},${open.toFixed(pd)},${high.toFixed(pd)},${low.toFixed(pd)},${close.toFixed(pd)},${volume.toFixed(vd)},` +
        `${(closeTime + 1) * micro - 1},${(volume * vwap).toFixed(8)},${trades},${takerBase.toFixed(vd)},${(takerBase * vwap).toFixed(8)},0`,
    );
    if (lines.length >= BLOCK_ROWS) {
      yield `${lines.join('\n')}\n`;
      lines = [];
    }
  }
  if (lines.length) yield `${lines.join('\n')}\n`;
}

/** A DOS timestamp reads local time; shift so the ZIP shows `ms` in UTC whatever TZ is set. */
function dosDate(ms: number): Date {
  return new Date(ms + new Date(ms).getTimezoneOffset() * 60_000);
}

/** A ZIP holding `member` alone, deflated, as Binance ships them. Deterministic bytes. */
export async function zipSingleMember(member: string, data: Buffer, mtime: number): Promise<Buffer> {
  // Loaded on first use: only sample generation writes ZIPs.
  const { default: yazl } = await import('yazl');
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(data, member, { mtime: dosDate(mtime), forceDosTimestamp: true, compress: true });
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.once('error', reject);
    zip.outputStream.once('end', () => resolve(Buffer.concat(chunks)));
    zip.end();
  });
}

/**
 * A ZIP holding `member` alone, its data deflated as it is generated: the ZIP as a stream of
 * chunks, the member never whole in memory. The sizes and CRC-32 follow the data (a data
 * descriptor), so the bytes differ from zipSingleMember's for the same member.
 */
export async function* zipStreamedMember(member: string, blocks: Iterable<string>, mtime: number): AsyncGenerator<Buffer> {
  const { default: yazl } = await import('yazl');
  const zip = new yazl.ZipFile();
  zip.addReadStream(Readable.from((function* () {
    for (const block of blocks) yield Buffer.from(block, 'latin1');
  })()), member, { mtime: dosDate(mtime), forceDosTimestamp: true, compress: true });
  zip.end();
  for await (const chunk of zip.outputStream) yield chunk as Buffer;
}

/** Archives of more rows than this (months of 1s candles) are generated and written as streams. */
const STREAMED_ROWS = 1 << 18;

/** The archive (and its .CHECKSUM text) for one period. */
export async function buildSyntheticArchive(market: Market, symbol: string, interval: Interval, ref: ArchiveRef, start: number, end: number) {
  const { csv, rows } = syntheticKlinesCsv(market, symbol, interval, ref.period, start, end);
  const zip = await zipSingleMember(ref.name.replace(/\.zip$/, '.csv'), Buffer.from(csv, 'latin1'), end);
  const sha256 = sha256Hex(zip);
  return { zip, checksum: Buffer.from(`${sha256}  ${ref.name}`), sha256, rows };
}

/** writeSampleArchives after option checks (downloadCryptoData's 'sample' source calls this). */
export async function writeResolvedSample(o: ResolvedSeries): Promise<SampleResult> {
  const root = join(o.cacheDir, SYNTHETIC_DIR);
  const cache = new ArchiveCache(root, o.logger);
  const plan = planArchives({ market: o.market, symbol: o.symbol, interval: o.interval, range: o.range, now: o.now });
  const span = sampleTradingSpan(o.market, o.symbol);
  const archives: SampleArchive[] = [];
  const notTrading: string[] = [];
  let done = 0;
  for (const unit of plan.units) {
    throwIfAborted(o.signal);
    const ref = unit.archive;
    // Only the symbol's trading days: a period wholly outside them has no archive (a 404 on Binance).
    const start = Math.max(unit.start, span.start);
    const end = Math.min(unit.end, span.end);
    if (start >= end) {
      notTrading.push(ref.name);
    } else {
      const existing = await cache.read(ref);
      if (existing) {
        archives.push({ name: ref.name, path: existing.path, sha256: existing.sha256, rows: openTimes(o.interval, start, end).length, written: false });
      } else {
        const rows = openTimes(o.interval, start, end).length;
        let written: { path: string; sha256: string };
        if (rows > STREAMED_ROWS) {
          const blocks = syntheticKlinesBlocks(o.market, o.symbol, o.interval, ref.period, start, end);
          written = await cache.commitStream(ref, zipStreamedMember(ref.name.replace(/\.zip$/, '.csv'), blocks, end), (sha256) => Buffer.from(`${sha256}  ${ref.name}`));
        } else {
          const built = await buildSyntheticArchive(o.market, o.symbol, o.interval, ref, start, end);
          written = { path: await cache.commit(ref, built.zip, built.checksum), sha256: built.sha256 };
        }
        archives.push({ name: ref.name, path: written.path, sha256: written.sha256, rows, written: true });
        o.logger.debug('wrote synthetic archive', { file: ref.name, rows });
        await yieldToLoop(); // generation is CPU work: let abort and other callbacks in between archives
      }
    }
    o.onProgress?.({ phase: 'download', done: ++done, total: plan.units.length, file: ref.name });
  }
  if (notTrading.length > 0) o.logger.info('the synthetic symbol does not trade in some periods; they have no archives', { symbol: o.symbol, periods: notTrading.length });
  o.logger.info('synthetic archives ready', { root, archives: archives.length, written: archives.filter((a) => a.written).length });
  return { root, archives, notTrading };
}

/**
 * Writes deterministic synthetic archives for a symbol, interval and date range into
 * <cacheDir>/synthetic/, in Binance Vision's layout (for `ohlc-native sample` and offline work).
 */
export async function writeSampleArchives(options: SampleOptions): Promise<SampleResult> {
  return writeResolvedSample(resolveSampleOptions(options));
}
