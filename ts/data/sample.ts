// Synthetic archives for working offline: deterministic random-walk candles (seeded from market,
// symbol, interval and period) written exactly as Binance Vision publishes them (12-column CSV,
// one member per ZIP, a .CHECKSUM beside it; spot in ms before 2025 and µs from 2025 on, futures
// with a header row) into <cacheDir>/synthetic/<Binance path>. That separate subtree means a
// synthetic archive can never be taken for market data by a later real run.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { throwIfAborted } from '../errors.js';
import { intervalMs, type ArchiveRef, type Interval, type Market } from './binance.js';
import { sha256Hex } from '../util/hash.js';
import { ArchiveCache } from './cache.js';
import { DAY_MS, nextMonthStart } from './dates.js';
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

interface SeriesStyle {
  /** Price level the walk reverts to, by time: one smooth curve per symbol, so periods join up. */
  anchor: (t: number) => number;
  priceDecimals: number;
  volumeDecimals: number;
  header: boolean;
}

function seriesStyle(market: Market, symbol: string): SeriesStyle {
  const u = seedOf(`level:${symbol}`) / 4294967296;
  const base = 10 ** (1 + 3.5 * u);
  const phase = u * 2 * Math.PI;
  const anchor = (t: number) => base * Math.exp(0.35 * Math.sin((2 * Math.PI * t) / YEAR_MS + phase) + 0.1 * Math.sin((2 * Math.PI * t) / (29.5 * DAY_MS) + 2 * phase));
  if (market === 'spot') return { anchor, priceDecimals: 8, volumeDecimals: 8, header: false };
  return { anchor, priceDecimals: base >= 100 ? 2 : 4, volumeDecimals: 3, header: true };
}

function round(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}

/** One archive's CSV text and row count. */
export function syntheticKlinesCsv(market: Market, symbol: string, interval: Interval, period: string, start: number, end: number): { csv: string; rows: number } {
  const style = seriesStyle(market, symbol);
  const rand = random(seedOf(`${market}:${symbol}:${interval}:${period}`));
  const times = openTimes(interval, start, end);
  const step = intervalMs(interval) ?? 30 * DAY_MS;
  const sigma = 0.8 * Math.sqrt(step / YEAR_MS); // ~80% a year, like a volatile coin
  const reversion = Math.min(0.5, step / DAY_MS);
  const pd = style.priceDecimals;
  const vd = style.volumeDecimals;
  const lines: string[] = style.header ? [FUTURES_HEADER] : [];
  let logPrice = Math.log(style.anchor(start));
  for (let i = 0; i < times.length; i++) {
    const t = times[i];
    const closeTime = (interval === '1mo' ? nextMonthStart(t) : t + step) - 1;
    const open = round(Math.exp(logPrice), pd);
    logPrice += reversion * (Math.log(style.anchor(t)) - logPrice) + sigma * normal(rand);
    const close = round(Math.exp(logPrice), pd);
    const high = Math.max(round(Math.max(open, close) * Math.exp(Math.abs(normal(rand)) * sigma * 0.5), pd), open, close);
    const low = Math.min(round(Math.min(open, close) * Math.exp(-Math.abs(normal(rand)) * sigma * 0.5), pd), open, close);
    const volume = round((0.2 + rand()) * 40 * Math.sqrt(step / 60_000) * (1000 / style.anchor(t)) ** 0.5, vd);
    const vwap = (open + high + low + close) / 4;
    const takerBase = round(volume * (0.3 + 0.4 * rand()), vd);
    const trades = Math.max(1, Math.round(volume * 20 * (0.5 + rand())));
    const micro = market === 'spot' && t >= SPOT_MICROSECONDS_FROM ? 1000 : 1;
    lines.push(
      `${t * micro},${open.toFixed(pd)},${high.toFixed(pd)},${low.toFixed(pd)},${close.toFixed(pd)},${volume.toFixed(vd)},` +
        `${(closeTime + 1) * micro - 1},${(volume * vwap).toFixed(8)},${trades},${takerBase.toFixed(vd)},${(takerBase * vwap).toFixed(8)},0`,
    );
  }
  return { csv: lines.length ? `${lines.join('\n')}\n` : '', rows: times.length };
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
  const archives: SampleArchive[] = [];
  let done = 0;
  for (const unit of plan.units) {
    throwIfAborted(o.signal);
    const ref = unit.archive;
    const existing = await cache.read(ref);
    if (existing) {
      archives.push({ name: ref.name, path: existing.path, sha256: existing.sha256, rows: openTimes(o.interval, unit.start, unit.end).length, written: false });
    } else {
      const built = await buildSyntheticArchive(o.market, o.symbol, o.interval, ref, unit.start, unit.end);
      const path = await cache.commit(ref, built.zip, built.checksum);
      archives.push({ name: ref.name, path, sha256: built.sha256, rows: built.rows, written: true });
      o.logger.debug('wrote synthetic archive', { file: ref.name, rows: built.rows });
      await yieldToLoop(); // generation is CPU work: let abort and other callbacks in between archives
    }
    o.onProgress?.({ phase: 'download', done: ++done, total: plan.units.length, file: ref.name });
  }
  o.logger.info('synthetic archives ready', { root, archives: archives.length, written: archives.filter((a) => a.written).length });
  return { root, archives };
}

/**
 * Writes deterministic synthetic archives for a symbol, interval and date range into
 * <cacheDir>/synthetic/, in Binance Vision's layout (for `ohlc-native sample` and offline work).
 */
export async function writeSampleArchives(options: SampleOptions): Promise<SampleResult> {
  return writeResolvedSample(resolveSampleOptions(options));
}
