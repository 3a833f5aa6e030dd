// Kline archives for tests, generated here (independently of ts/data/sample.ts): seeded
// random-walk rows in Binance's 12-column format, with the quirks the real archives have
// (header rows, µs timestamps, CRLF, gaps, duplicated rows, no final newline).
import { createHash } from 'node:crypto';
import yazl from 'yazl';
import { rng } from './random.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export interface FixtureRow {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** Column 8, quote_asset_volume, as written (volume × open here). */
  quoteVolume: number;
}

export interface CsvFixture {
  /** First open time (ms). */
  start: number;
  count: number;
  intervalMs: number;
  seed?: number;
  /** Write timestamps in microseconds. */
  micro?: boolean | ((openTimeMs: number) => boolean);
  header?: boolean;
  crlf?: boolean;
  /** Default true. */
  trailingNewline?: boolean;
  /** Candle indices left out (gaps). */
  omit?: number[];
  /** Candle indices written twice (exact duplicates). */
  duplicate?: number[];
  /** Candle indices written twice, the second time with another close (conflicts). */
  conflict?: number[];
  /** Price decimals (default 8, like spot). */
  decimals?: number;
}

export interface CsvResult {
  csv: string;
  /** The candles a correct reader returns: sorted, unique, first of each conflict. */
  rows: FixtureRow[];
}

const HEADER = 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore';

export function klinesCsv(f: CsvFixture): CsvResult {
  const rand = rng(f.seed ?? f.start / MINUTE);
  const d = f.decimals ?? 8;
  const omit = new Set(f.omit ?? []);
  const lines: string[] = f.header ? [HEADER] : [];
  const rows: FixtureRow[] = [];
  let price = 100 + rand() * 1000;
  for (let i = 0; i < f.count; i++) {
    const t = f.start + i * f.intervalMs;
    const open = Number(price.toFixed(d));
    price *= 1 + (rand() - 0.5) * 0.01;
    const close = Number(price.toFixed(d));
    const high = Number((Math.max(open, close) * (1 + rand() * 0.002)).toFixed(d));
    const low = Number((Math.min(open, close) * (1 - rand() * 0.002)).toFixed(d));
    const volume = Number((rand() * 50).toFixed(8));
    const quote = (volume * open).toFixed(8);
    if (omit.has(i)) continue;
    const micro = typeof f.micro === 'function' ? f.micro(t) : f.micro === true;
    const u = micro ? 1000 : 1;
    const line = (c: number) =>
      `${t * u},${open.toFixed(d)},${high.toFixed(d)},${low.toFixed(d)},${c.toFixed(d)},${volume.toFixed(8)},${(t + f.intervalMs) * u - 1},${quote},${1 + Math.floor(rand() * 900)},${(volume / 2).toFixed(8)},${((volume * open) / 2).toFixed(8)},0`;
    lines.push(line(close));
    if (f.duplicate?.includes(i)) lines.push(line(close));
    if (f.conflict?.includes(i)) lines.push(line(close * 1.01));
    rows.push({ openTime: t, open, high, low, close, volume, quoteVolume: Number(quote) });
  }
  const eol = f.crlf ? '\r\n' : '\n';
  const trailing = f.trailingNewline === false || lines.length === 0 ? '' : eol;
  return { csv: lines.join(eol) + trailing, rows };
}

/** A ZIP with the given members (default: one), deflated, as yazl writes it. */
export function zipMembers(members: Array<{ name: string; data: string | Buffer }>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    const mtime = new Date(Date.UTC(2024, 0, 1));
    for (const m of members) {
      if (m.name.endsWith('/')) zip.addEmptyDirectory(m.name, { mtime });
      else zip.addBuffer(Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data), m.name, { mtime });
    }
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.once('error', reject);
    zip.outputStream.once('end', () => resolve(Buffer.concat(chunks)));
    zip.end();
  });
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Binance's .CHECKSUM text: "<sha256>  <name>", no final newline. */
export function checksumFor(zip: Uint8Array, archiveName: string): string {
  return `${sha256(zip)}  ${archiveName}`;
}

export function archivePath(market: 'spot' | 'um' | 'cm', granularity: 'monthly' | 'daily', symbol: string, interval: string, period: string): string {
  const root = market === 'spot' ? 'data/spot' : `data/futures/${market}`;
  return `${root}/${granularity}/klines/${symbol}/${interval}/${symbol}-${interval}-${period}.zip`;
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function isoMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function daysInMonth(monthStart: number): number {
  const d = new Date(monthStart);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).getTime() / DAY - monthStart / DAY;
}
