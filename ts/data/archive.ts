// One archive, from the cache or the network: fetched with its .CHECKSUM, verified (a mismatch
// is fetched once more, then fails), opened, and only then committed to the cache. A cached
// archive is re-verified and its member located; inflating it is left to the parser, which does
// both in one native call. A large member (above STREAM_MEMBER_BYTES) is never inflated whole: a
// download is proven intact slice by slice before it is cached, then parsed from the archive; a
// large archive (above WHOLE_READ_BYTES) is parsed from its cached file, never held whole.
import { pathToFileURL } from 'node:url';
import { OhlcError, ErrorCode } from '../errors.js';
import { checksumName, intervalMs, type ArchiveRef, type Interval } from './binance.js';
import { sha256Hex } from '../util/hash.js';
import { redactUrl } from '../util/url.js';
import { parseChecksum, WHOLE_READ_BYTES, type ArchiveCache } from './cache.js';
import { DAY_MS, nextMonthStart } from './dates.js';
import { fetchWithRetries, type HttpSettings } from './http.js';
import type { DataLogger } from './types.js';
import { STREAM_MEMBER_BYTES, STREAM_SLICE_BYTES } from './parse.js';
import { inflateMember, locateCsvMember, verifyMember, type ZipMember } from './zip.js';

export interface NetworkSettings {
  baseUrl: string;
  verify: boolean;
  http: HttpSettings;
}

export interface ArchiveContext {
  cache: ArchiveCache;
  /** null: offline (synthetic archives); a cache miss then means the sample has no such archive (the symbol does not trade then). */
  network: NetworkSettings | null;
  interval: Interval;
  logger: DataLogger;
}

/**
 * The klines of an archive, as the parser takes them: a CSV already inflated (a download: it was
 * inflated and checked before being cached), or a member still deflated inside its archive (a
 * cache hit: inflated, checked and parsed in one native call), the archive in memory or, when it
 * is large, in its cached file.
 */
export type ArchiveContent = { csv: Buffer } | { zip: Buffer; member: ZipMember } | { file: string; member: ZipMember };

export interface ObtainedArchive {
  ref: ArchiveRef;
  /** Where it came from, as shown (logs, dataset metadata): userinfo redacted. */
  url: string;
  sha256: string;
  content: ArchiveContent;
  cached: boolean;
  verified: boolean;
  /** Where the archive lies in the cache (for messages about it), when it was read from there. */
  cachePath?: string;
}

/** `url` of a missing archive is as shown too (userinfo redacted). */
export type Obtained = { status: 'ok'; archive: ObtainedArchive } | { status: 'not-found'; url: string };

// Longest plausible row: two 16-digit µs timestamps and ten numbers of up to ~22 characters.
const MAX_ROW_BYTES = 400;
const SLACK_BYTES = 64 << 10;
const MAX_CHECKSUM_BYTES = 4 << 10;

/** The most CSV bytes a genuine archive of this interval and period can hold (the ZIP-bomb cap). */
export function csvByteLimit(interval: Interval, ref: Pick<ArchiveRef, 'granularity'>): number {
  const span = ref.granularity === 'monthly' ? 31 * DAY_MS : DAY_MS;
  const rows = Math.floor(span / (intervalMs(interval) ?? 28 * DAY_MS)) + 2;
  return rows * MAX_ROW_BYTES + SLACK_BYTES;
}

/** The archive's URL as shown: the mirror's (userinfo redacted), or the cached file's. */
function shownUrl(ref: ArchiveRef, ctx: ArchiveContext, path: string): string {
  return ctx.network ? redactUrl(ctx.network.baseUrl + ref.path) : pathToFileURL(path).href;
}

/**
 * The most rows an archive of this interval and period can hold (duplicates aside): what the
 * parser reserves its columns for when it reads a large member slice by slice.
 */
export function expectedRows(interval: Interval, ref: Pick<ArchiveRef, 'granularity' | 'period'>): number {
  const start = Date.parse(ref.granularity === 'monthly' ? `${ref.period}-01T00:00:00Z` : `${ref.period}T00:00:00Z`);
  const span = ref.granularity === 'monthly' ? nextMonthStart(start) - start : DAY_MS;
  // One more: a candle opening before the period (3d, 1w) can lie in it.
  return Math.floor(span / (intervalMs(interval) ?? 28 * DAY_MS)) + 2;
}

/**
 * A downloaded archive's CSV member, proven intact (inflated, size and CRC-32 checked) before the
 * archive may be cached: a small one inflated into a buffer; a large one only checked, slice by
 * slice, and left in the archive for the parser to inflate again in slices.
 */
async function openDownloaded(ref: ArchiveRef, zip: Buffer, csvLimit: number, signal: AbortSignal): Promise<ArchiveContent> {
  const member = await locateCsvMember(ref.name, zip, csvLimit);
  if (member.uncompressedSize <= STREAM_MEMBER_BYTES) return { csv: await inflateMember(zip, member) };
  await verifyMember(zip, member, STREAM_SLICE_BYTES, signal);
  return { zip, member };
}

/** The cached archive, re-verified and its member located; null when it is not (or no longer) cached. */
export async function readCachedArchive(ref: ArchiveRef, ctx: ArchiveContext): Promise<ObtainedArchive | null> {
  const cached = await ctx.cache.read(ref);
  if (!cached) {
    ctx.logger.debug('cache miss', { file: ref.name });
    return null;
  }
  ctx.logger.debug('cache hit', { file: ref.name, path: cached.path });
  const member = await locateCsvMember(ref.name, cached.data ?? { file: cached.path, size: cached.size }, csvByteLimit(ctx.interval, ref));
  const content: ArchiveContent = cached.data ? { zip: cached.data, member } : { file: cached.path, member };
  return { ref, url: shownUrl(ref, ctx, cached.path), sha256: cached.sha256, content, cached: true, verified: true, cachePath: cached.path };
}

/** Fetches, verifies, opens and caches one archive; { status: 'not-found' } on a 404. */
export async function downloadArchive(ref: ArchiveRef, ctx: ArchiveContext): Promise<Obtained> {
  const net = ctx.network;
  if (!net) return { status: 'not-found', url: pathToFileURL(ctx.cache.pathOf(ref)).href };
  const url = net.baseUrl + ref.path;
  const shown = redactUrl(url);
  const csvLimit = csvByteLimit(ctx.interval, ref);

  for (let round = 1; ; round++) {
    const started = Date.now();
    const zip = await fetchWithRetries(url, csvLimit + SLACK_BYTES, net.http);
    if (zip.status === 'not-found') return { status: 'not-found', url: shown };
    const sum = await fetchWithRetries(checksumName(url), MAX_CHECKSUM_BYTES, net.http);
    const actual = sha256Hex(zip.body);
    let expected: string | null = null;
    let problem: string | null = null;
    if (sum.status === 'not-found') problem = `${checksumName(shown)} does not exist (HTTP 404)`;
    else {
      try {
        expected = parseChecksum(sum.body.toString('utf8'), ref.name);
      } catch (err) {
        problem = (err as Error).message;
      }
    }
    ctx.logger.info('downloaded', { file: ref.name, bytes: zip.body.length, ms: Date.now() - started });

    if (expected === actual && sum.status === 'ok') {
      // Opened before it is committed: a corrupt ZIP never reaches the cache.
      const content = await openDownloaded(ref, zip.body, csvLimit, net.http.signal);
      const path = await ctx.cache.commit(ref, zip.body, sum.body);
      // A large archive is parsed from the file just written, as a cache hit would be: the
      // download's buffer can go now.
      const parsedFrom: ArchiveContent = 'member' in content && zip.body.length > WHOLE_READ_BYTES ? { file: path, member: content.member } : content;
      return { status: 'ok', archive: { ref, url: shown, sha256: actual, content: parsedFrom, cached: false, verified: true } };
    }
    if (!net.verify) {
      ctx.logger.warn('verify: false: using an archive that does not match its checksum; it is not cached', { file: ref.name, expected, actual, problem });
      const content = await openDownloaded(ref, zip.body, csvLimit, net.http.signal);
      return { status: 'ok', archive: { ref, url: shown, sha256: actual, content, cached: false, verified: false } };
    }
    if (round === 1) {
      ctx.logger.warn('checksum mismatch; downloading the archive again', { file: ref.name, expected, actual, problem });
      continue;
    }
    const what = problem ? `${problem}; the archive's SHA-256 is ${actual}` : `${checksumName(ref.name)} expects SHA-256 ${expected} but the archive's is ${actual}`;
    const err = new OhlcError(
      ErrorCode.checksum,
      `${ref.name} failed verification twice: ${what}. Binance has published mismatched checksums before; ` +
        'retry later, point baseUrl at a mirror, or pass verify: false to use it unverified (it is then not cached).',
    );
    Object.assign(err, { file: ref.name, url: shown, expected, actual });
    throw err;
  }
}
