// A stand-in for data.binance.vision on 127.0.0.1: serves the archives a test puts in (at their
// Binance paths, each with its .CHECKSUM), counts every request, and injects faults per path. It
// also answers S3's bucket listing (ListObjects version 1: prefix, delimiter, marker, at most
// `maxKeys` entries a page) at a path of its own, `listingUrl`, over the files it holds and any
// keys added with addListed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { archivePath, checksumFor, klinesCsv, zipMembers, type CsvFixture, type CsvResult } from './klines-fixtures.js';

export type Fault =
  /** Answer with this status and no body. */
  | { kind: 'status'; status: number }
  /** Close the connection without answering. */
  | { kind: 'drop' }
  /** Announce the full length, send half, close. */
  | { kind: 'truncate' }
  /** Send the headers and the first bytes, then nothing (until the client gives up). */
  | { kind: 'stall' }
  /** Send the headers, then one byte every `intervalMs` (a link that never goes silent but never finishes). */
  | { kind: 'drip'; intervalMs: number }
  /** Serve other bytes than the stored ones (a corrupt archive, a wrong checksum). */
  | { kind: 'body'; body: Buffer | string };

interface QueuedFault {
  fault: Fault;
  remaining: number;
}

/** Where the stand-in answers bucket listings (a path-style S3 bucket URL). */
export const LISTING_PATH = 's3/data.binance.vision';

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class BinanceServer {
  /** Paths requested, in order (without the leading '/'); listing requests appear as LISTING_PATH. */
  readonly requests: string[] = [];
  /** The query of each listing request, in order. */
  readonly listingRequests: URLSearchParams[] = [];
  /** Entries per listing page (S3: 1,000). */
  maxKeys = 1000;
  /** Leave NextMarker out of truncated pages (clients then page on from the last entry). */
  omitNextMarker = false;
  private readonly files = new Map<string, Buffer>();
  private readonly listed = new Set<string>();
  private readonly faults = new Map<string, QueuedFault[]>();
  private readonly sockets = new Set<Socket>();
  private inFlight = 0;
  /** The most requests ever open at once. */
  maxInFlight = 0;
  /** Delay before answering each request (to observe concurrency). */
  latencyMs = 0;

  private constructor(private readonly server: Server, readonly baseUrl: string) {}

  static async start(): Promise<BinanceServer> {
    let self: BinanceServer | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new BinanceServer(server, `http://127.0.0.1:${port}/`);
    server.on('connection', (s: Socket) => {
      self!.sockets.add(s);
      s.once('close', () => self!.sockets.delete(s));
    });
    return self;
  }

  /** The bucket listing endpoint (for listingUrl). */
  get listingUrl(): string {
    return this.baseUrl + LISTING_PATH;
  }

  /** Keys the listing shows without serving them (e.g. a thousand symbol folders' archives). */
  addListed(keys: Iterable<string>): void {
    for (const k of keys) this.listed.add(k);
  }

  put(path: string, body: Buffer | string): void {
    this.files.set(path, Buffer.isBuffer(body) ? body : Buffer.from(body));
  }

  remove(path: string): void {
    this.files.delete(path);
  }

  /** Stores an archive and its .CHECKSUM at `path` (a Binance path ending in .zip). */
  putArchive(path: string, zip: Buffer): void {
    this.put(path, zip);
    this.put(`${path}.CHECKSUM`, checksumFor(zip, path.slice(path.lastIndexOf('/') + 1)));
  }

  /** Generates the CSV, zips it as one member named like the archive, and serves it. */
  async serveKlines(market: 'spot' | 'um' | 'cm', granularity: 'monthly' | 'daily', symbol: string, interval: string, period: string, fixture: CsvFixture): Promise<CsvResult & { path: string; zip: Buffer }> {
    const result = klinesCsv(fixture);
    const path = archivePath(market, granularity, symbol, interval, period);
    const zip = await zipMembers([{ name: `${symbol}-${interval}-${period}.csv`, data: result.csv }]);
    this.putArchive(path, zip);
    return { ...result, path, zip };
  }

  /** The next `times` requests for `path` get `fault`. */
  fault(path: string, fault: Fault, times = 1): void {
    const queue = this.faults.get(path) ?? [];
    queue.push({ fault, remaining: times });
    this.faults.set(path, queue);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Forgets every file, fault and count. */
  reset(): void {
    this.files.clear();
    this.listed.clear();
    this.maxKeys = 1000;
    this.omitNextMarker = false;
    this.faults.clear();
    this.resetCounts();
    this.latencyMs = 0;
  }

  /** The bytes stored at `path`. */
  stored(path: string): Buffer | undefined {
    return this.files.get(path);
  }

  requestCount(match?: (path: string) => boolean): number {
    return match ? this.requests.filter(match).length : this.requests.length;
  }

  resetCounts(): void {
    this.requests.length = 0;
    this.listingRequests.length = 0;
    this.maxInFlight = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** One page of ListBucketResult, as S3 answers it: keys and common prefixes merged in key order. */
  private listingPage(q: URLSearchParams): Buffer {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const marker = q.get('marker') ?? '';
    const entries = new Map<string, 'key' | 'prefix'>();
    for (const key of [...this.files.keys(), ...this.listed]) {
      if (!key.startsWith(prefix)) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) entries.set(key.slice(0, cut + delimiter.length), 'prefix');
      else entries.set(key, 'key');
    }
    const sorted = [...entries.keys()].filter((k) => k > marker).sort();
    const page = sorted.slice(0, this.maxKeys);
    const truncated = sorted.length > page.length;
    const parts = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      `<Name>data.binance.vision</Name><Prefix>${xmlEscape(prefix)}</Prefix><Marker>${xmlEscape(marker)}</Marker>`,
      truncated && delimiter && !this.omitNextMarker ? `<NextMarker>${xmlEscape(page[page.length - 1])}</NextMarker>` : '',
      `<MaxKeys>${this.maxKeys}</MaxKeys>${delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : ''}<IsTruncated>${truncated}</IsTruncated>`,
    ];
    for (const name of page) {
      if (entries.get(name) === 'prefix') parts.push(`<CommonPrefixes><Prefix>${xmlEscape(name)}</Prefix></CommonPrefixes>`);
      else parts.push(`<Contents><Key>${xmlEscape(name)}</Key><LastModified>2024-01-02T00:00:00.000Z</LastModified><ETag>&quot;0&quot;</ETag><Size>${this.files.get(name)?.length ?? 0}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
    }
    parts.push('</ListBucketResult>');
    return Buffer.from(parts.join(''));
  }

  private nextFault(path: string): Fault | undefined {
    const queue = this.faults.get(path);
    const head = queue?.[0];
    if (!head) return undefined;
    if (--head.remaining <= 0) queue!.shift();
    return head.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname).replace(/^\//, '');
    this.requests.push(path);
    if (path === LISTING_PATH) this.listingRequests.push(url.searchParams);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    if (this.latencyMs > 0) setTimeout(() => this.answer(path, req, res), this.latencyMs);
    else this.answer(path, req, res);
  }

  private answer(path: string, req: IncomingMessage, res: ServerResponse): void {
    if (res.destroyed) return;
    const fault = this.nextFault(path);
    const stored = this.files.get(path);
    if (fault?.kind === 'status') {
      res.writeHead(fault.status).end();
      return;
    }
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    const listing = path === LISTING_PATH ? this.listingPage(new URL(req.url ?? '/', 'http://x').searchParams) : undefined;
    const body = fault?.kind === 'body' ? Buffer.from(fault.body) : (listing ?? stored);
    if (!body) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    if (fault?.kind === 'truncate') {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => req.socket.destroy());
      return;
    }
    if (fault?.kind === 'stall') {
      res.write(body.subarray(0, Math.min(16, body.length - 1)));
      return; // never ends; close() destroys the socket
    }
    if (fault?.kind === 'drip') {
      this.drip(res, body, fault.intervalMs);
      return;
    }
    res.end(body);
  }

  private drip(res: ServerResponse, body: Buffer, intervalMs: number): void {
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(body.subarray(sent, ++sent));
      if (sent === body.length) {
        clearInterval(timer);
        res.end();
      }
    }, intervalMs);
    res.once('close', () => clearInterval(timer));
  }
}
