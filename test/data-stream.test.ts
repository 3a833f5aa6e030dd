// Large ZIP members read slice by slice (zlib's streaming inflate into the incremental parser,
// native/kernels/klines_csv KlineCsvStream and zip_member inflate_zip_member_slices): exactly the
// columns, errors and line numbers of the whole-buffer path, the member's size and CRC-32 still
// checked, and the download path that proves a large member intact before caching it; a large
// archive is hashed as a stream and parsed from its cached file (kernels/zip_member FileArchive).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { readCachedArchive } from '../ts/data/archive.js';
import { archiveRef } from '../ts/data/binance.js';
import { ArchiveCache } from '../ts/data/cache.js';
import { parseKlinesMemberAsync, releaseKlineColumns, STREAM_MEMBER_BYTES, type ParsedKlines } from '../ts/data/parse.js';
import { locateCsvMember, verifyMember, type ZipMember } from '../ts/data/zip.js';
import { OhlcError } from '../ts/errors.js';
import { downloadCryptoData } from '../ts/index.js';
import { BinanceServer } from './helpers/binance-server.js';
import { assertCacheClean } from './helpers/cache-check.js';
import { RecordingLogger, tempDir } from './helpers/data-env.js';
import { archivePath, checksumFor, klinesCsv, zipMembers } from './helpers/klines-fixtures.js';
import { rng } from './helpers/random.js';

const ARCHIVE = 'BTCUSDT-1s-2024-01.zip';
const NAME = 'BTCUSDT-1s-2024-01.csv';
const SECOND = 1000;

/** The member's deflated (or stored) bytes inside an "archive", declared as yauzl would. */
function embed(data: Buffer, stored = false): { archive: Buffer; member: ZipMember } {
  const body = stored ? data : deflateRawSync(data, { level: 1 });
  const before = Buffer.alloc(37, 7);
  return {
    archive: Buffer.concat([before, body, Buffer.alloc(11, 9)]),
    member: { archive: ARCHIVE, name: NAME, offset: before.length, compressedSize: body.length, uncompressedSize: data.length, crc32: crc32(data) >>> 0, method: stored ? 0 : 8 },
  };
}

const COLUMNS = ['openTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume'] as const;

function assertSameParse(got: ParsedKlines, want: ParsedKlines, what: string): void {
  for (const f of COLUMNS) assert.ok(Buffer.from(got[f].buffer, got[f].byteOffset, got[f].byteLength).equals(Buffer.from(want[f].buffer, want[f].byteOffset, want[f].byteLength)), `${what}: ${f}`);
  const { openTime: _a, open: _b, high: _c, low: _d, close: _e, volume: _f, quoteVolume: _g, ...gotRest } = got;
  const { openTime: _h, open: _i, high: _j, low: _k, close: _l, volume: _m, quoteVolume: _n, ...wantRest } = want;
  assert.deepEqual(gotRest, wantRest, what);
}

/** The error a promise rejects with (fails when it resolves). */
async function failure(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  assert.fail('expected a rejection');
}

function errorShape(err: Error & Record<string, unknown>) {
  return { ctor: err.constructor.name, code: err.code, message: err.message, file: err.file, line: err.line, field: err.field, member: err.member };
}

/** What a parse came to: its columns and counts, or its error. */
async function outcome(p: Promise<ParsedKlines>): Promise<{ parsed: ParsedKlines } | { error: ReturnType<typeof errorShape> }> {
  try {
    return { parsed: await p };
  } catch (err) {
    return { error: errorShape(err as Error & Record<string, unknown>) };
  }
}

function assertSameOutcome(got: Awaited<ReturnType<typeof outcome>>, want: Awaited<ReturnType<typeof outcome>>, what: string): void {
  if ('parsed' in want && 'parsed' in got) assertSameParse(got.parsed, want.parsed, what);
  else assert.deepEqual(got, want, what);
}

const whole = (archive: Buffer, member: ZipMember, extra: object = {}) => parseKlinesMemberAsync(archive, member, { name: ARCHIVE, sliceBytes: 0, ...extra });
const sliced = (archive: Buffer, member: ZipMember, sliceBytes: number, extra: object = {}) => parseKlinesMemberAsync(archive, member, { name: ARCHIVE, sliceBytes, ...extra });

describe('large members: sliced inflation and parsing', () => {
  let large: { archive: Buffer; member: ZipMember };
  const rows = 3 * 86_400; // three days of 1s candles: about 35 MB of CSV, above STREAM_MEMBER_BYTES

  before(() => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: rows, intervalMs: SECOND, micro: (t) => t >= Date.UTC(2024, 0, 2) });
    large = embed(Buffer.from(f.csv, 'latin1'));
    assert.ok(large.member.uncompressedSize > STREAM_MEMBER_BYTES, `${large.member.uncompressedSize} bytes`);
  });

  it('a generated 35 MB member parses to exactly the whole-buffer columns (the default slices it)', async () => {
    const want = await whole(large.archive, large.member);
    assert.equal(want.rows, rows);
    assertSameParse(await parseKlinesMemberAsync(large.archive, large.member, { name: ARCHIVE, expectedRows: rows + 2 }), want, 'default');
    // Reserved too short, or not at all: the columns grow, the values are the same.
    assertSameParse(await sliced(large.archive, large.member, 1 << 20, { expectedRows: 1000 }), want, 'expectedRows 1000');
    assertSameParse(await sliced(large.archive, large.member, 65_537), want, 'no expectedRows');
  });

  it('every slice size, with CRLF, a BOM, a header, blank lines, no final newline and micro rows', async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 11, 31, 23, 50), count: 1500, intervalMs: SECOND, header: true, crlf: true, trailingNewline: false, micro: (t) => t >= Date.UTC(2025, 0, 1) });
    const lf = f.csv.replace(/\r\n/g, '\n');
    const texts = [f.csv, `\uFEFF${f.csv}`, `${f.csv}\r\n\r\n`, lf, lf.replace(/\n/g, '\n\n'), `\n${lf}`, `\uFEFF\r\n${lf}`, '', '\n', '\r', '\uFEFF', '\uFEFF\r\n', '\xEF\xBB', 'open_time,open\n', `${lf.slice(0, 5000)}\r`];
    for (const text of texts) {
      for (const stored of [false, true]) {
        const { archive, member } = embed(Buffer.from(text, 'latin1'), stored);
        const want = await outcome(whole(archive, member));
        for (const slice of [1, 2, 3, 7, 64, 133, 4095, 65_536, 1 << 22]) {
          assertSameOutcome(await outcome(sliced(archive, member, slice, { expectedRows: 10 })), want, `${JSON.stringify(text.slice(0, 12))} stored ${stored} slice ${slice}`);
        }
      }
    }
    assert.ok('parsed' in (await outcome(whole(embed(Buffer.from(f.csv)).archive, embed(Buffer.from(f.csv)).member))));
  });

  it('a malformed row: the same error, line and field; skipped the same way', async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 20_000, intervalMs: SECOND });
    const lines = f.csv.split('\n');
    const rand = rng(5);
    for (let trial = 0; trial < 6; trial++) {
      const bad = [...lines];
      const at = 1 + Math.floor(rand() * (bad.length - 3));
      bad[at] = bad[at].replace(/^(\d+,[^,]+,[^,]+),[^,]+/, '$1,x1');
      bad[at + 1] = bad[at + 1].replace(/,[^,]+,0$/, ',1.2.3,0');
      const { archive, member } = embed(Buffer.from(bad.join('\n')));
      const want = errorShape(await failure(whole(archive, member)));
      assert.equal(want.code, 'ERR_OHLC_MALFORMED_ROW');
      assert.equal(want.line, at + 1);
      assert.equal(want.field, 'low');
      for (const slice of [5, 1000, 4096, 1 << 20]) assert.deepEqual(errorShape(await failure(sliced(archive, member, slice))), want, `slice ${slice}`);
      const skippedWhole = await whole(archive, member, { onMalformedRow: 'skip' });
      assert.equal(skippedWhole.skipped, 2);
      for (const slice of [5, 4096]) assertSameParse(await sliced(archive, member, slice, { onMalformedRow: 'skip' }), skippedWhole, `skip, slice ${slice}`);
    }
  });

  it('a line longer than a slice (garbage without line ends) fails as the whole path does', async () => {
    for (const junk of [Buffer.alloc(300_000, '1,'), Buffer.from(`1,${'9'.repeat(300_000)}\n2`)]) {
      const { archive, member } = embed(junk);
      const want = errorShape(await failure(whole(archive, member)));
      assert.equal(want.line, 1);
      assert.deepEqual(errorShape(await failure(sliced(archive, member, 4096))), want);
    }
  });

  it('damage is found as the whole path finds it: CRC-32, sizes, truncation, corrupt data', async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 30_000, intervalMs: SECOND });
    const data = Buffer.from(f.csv);
    const { archive, member } = embed(data);
    const stored = embed(data, true);
    const n = data.length;
    const corrupt = Buffer.from(archive);
    corrupt[member.offset] |= 0b110;
    const cases: Array<[string, Buffer, ZipMember]> = [
      ['crc', archive, { ...member, crc32: (member.crc32 ^ 1) >>> 0 }],
      ['stored crc', stored.archive, { ...stored.member, crc32: (stored.member.crc32 ^ 1) >>> 0 }],
      ['declared larger', archive, { ...member, uncompressedSize: n + 1 }],
      ['declared smaller', archive, { ...member, uncompressedSize: n - 1 }],
      ['declared 0', archive, { ...member, uncompressedSize: 0 }],
      ['stored sizes differ', stored.archive, { ...stored.member, uncompressedSize: n + 1 }],
      ['stream cut short', archive, { ...member, compressedSize: Math.floor(member.compressedSize / 2) }],
      ['archive cut short', archive.subarray(0, member.offset + member.compressedSize - 10), member],
      ['corrupt', corrupt, member],
      ['method', archive, { ...member, method: 12 }],
    ];
    for (const [what, a, m] of cases) {
      const want = errorShape(await failure(whole(a, m)));
      assert.equal(want.code, 'ERR_OHLC_ZIP', `${what}: ${want.message}`);
      for (const slice of [1000, 1 << 20]) assert.deepEqual(errorShape(await failure(sliced(a, m, slice))), want, `${what}, slice ${slice}`);
      const check = errorShape(await failure(verifyMember(a, m, 4096)));
      assert.deepEqual(check, want, `verifyMember: ${what}`);
    }
    // A malformed row in a damaged member: the damage is what is reported, as when inflating whole.
    const bad = Buffer.from(f.csv.replace(/\n\d+,/, '\nx,'));
    const both = embed(bad);
    const damaged = { ...both.member, crc32: (both.member.crc32 ^ 1) >>> 0 };
    assert.equal(errorShape(await failure(sliced(both.archive, damaged, 1000))).code, 'ERR_OHLC_ZIP');
    await verifyMember(archive, member, 1000);
    await verifyMember(stored.archive, stored.member, 777);
  });

  it('random damage is a clean ERR_OHLC_ZIP (or the original bytes), never a crash', async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 5000, intervalMs: SECOND });
    const { archive, member } = embed(Buffer.from(f.csv));
    const want = await whole(archive, member);
    const rand = rng(17);
    for (let i = 0; i < 100; i++) {
      const bad = Buffer.from(archive);
      for (let k = 0; k < 3; k++) bad[member.offset + Math.floor(rand() * member.compressedSize)] ^= 1 + Math.floor(rand() * 255);
      try {
        assertSameParse(await sliced(bad, member, 4096), want, 'a flip that still inflates gives the original');
      } catch (err) {
        assert.ok(['ERR_OHLC_ZIP'].includes((err as OhlcError).code), String(err));
      }
    }
  });

  it('honours an AbortSignal, before and during the work', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(sliced(large.archive, large.member, 1 << 16, { signal: ac.signal }), { name: 'AbortError' });
    const ac2 = new AbortController();
    const p = sliced(large.archive, large.member, 1 << 16, { signal: ac2.signal });
    setImmediate(() => ac2.abort());
    await assert.rejects(p, { name: 'AbortError' });
    const ac3 = new AbortController();
    const v = verifyMember(large.archive, large.member, 1 << 16, ac3.signal);
    setImmediate(() => ac3.abort());
    await assert.rejects(v, { name: 'AbortError' });
  });
});

describe('downloads of a large member', () => {
  let server: BinanceServer;
  before(async () => {
    server = await BinanceServer.start();
  });
  after(async () => {
    await server.close();
  });

  /** A day of 1s candles padded with zeros to ~390 bytes a row: above STREAM_MEMBER_BYTES, below a day's cap. */
  function paddedDay(): { csv: string; closes: number[] } {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 86_400, intervalMs: SECOND });
    const pad = '0'.repeat(32);
    const csv = f.csv.replace(/\.(\d+)/g, (_m, d: string) => `.${d}${pad}`);
    return { csv, closes: f.rows.map((r) => r.close) };
  }

  it('is proven intact slice by slice before caching, parsed in slices, and re-read from the cache the same way', async () => {
    const cache = tempDir();
    try {
      const { csv, closes } = paddedDay();
      assert.ok(csv.length > STREAM_MEMBER_BYTES, `${csv.length}`);
      const path = archivePath('spot', 'daily', 'BTCUSDT', '1s', '2024-01-01');
      const zip = await zipMembers([{ name: 'BTCUSDT-1s-2024-01-01.csv', data: csv }]);
      server.putArchive(path, zip);
      const options = { symbol: 'BTCUSDT', interval: '1s' as const, startDate: '2024-01-01', endDate: '2024-01-01', baseUrl: server.baseUrl, cacheDir: cache.dir, now: Date.UTC(2024, 5, 1), logger: new RecordingLogger() };
      const got = await downloadCryptoData(options);
      assert.equal(got.length, 86_400);
      assert.deepEqual(Array.from(got.close), closes);
      server.resetCounts();
      const again = await downloadCryptoData(options);
      assert.equal(server.requestCount(), 0);
      assert.ok(again.sources[0].cached);
      assert.deepEqual(Array.from(again.quoteVolume), Array.from(got.quoteVolume));
      assertCacheClean(cache.dir);

      // A corrupt member whose archive matches its checksum never reaches the cache.
      const other = tempDir();
      try {
        const bad = Buffer.from(zip);
        const central = bad.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
        bad.writeUInt32LE((bad.readUInt32LE(central + 16) ^ 1) >>> 0, central + 16);
        server.put(path, bad);
        server.put(`${path}.CHECKSUM`, checksumFor(bad, 'BTCUSDT-1s-2024-01-01.zip'));
        await assert.rejects(downloadCryptoData({ ...options, cacheDir: other.dir }), { code: 'ERR_OHLC_ZIP' });
        assertCacheClean(other.dir);
        const member = await locateCsvMember('x.zip', bad, 1 << 30);
        assert.ok(member.uncompressedSize > STREAM_MEMBER_BYTES);
      } finally {
        other.remove();
      }
    } finally {
      cache.remove();
    }
  });
});

describe("large archives read from the cache's file", () => {
  const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 30_000, intervalMs: SECOND });
  const data = Buffer.from(f.csv);
  let dir: { dir: string; remove: () => void };
  before(() => {
    dir = tempDir();
  });
  after(() => dir.remove());
  const onDisk = (name: string, bytes: Buffer) => {
    const path = join(dir.dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('parse to the columns of the archive in memory, and fail alike on every damage', async () => {
    const { archive, member } = embed(data);
    const stored = embed(data, true);
    const want = await whole(archive, member);
    assertSameParse(await parseKlinesMemberAsync(onDisk('ok.zip', archive), member, { name: ARCHIVE }), want, 'deflated');
    assertSameParse(await parseKlinesMemberAsync(onDisk('stored.zip', stored.archive), stored.member, { name: ARCHIVE, sliceBytes: 777 }), want, 'stored');
    const corrupt = Buffer.from(archive);
    corrupt[member.offset] |= 0b110;
    const cases: Array<[string, Buffer, ZipMember]> = [
      ['crc', archive, { ...member, crc32: (member.crc32 ^ 1) >>> 0 }],
      ['declared larger', archive, { ...member, uncompressedSize: data.length + 1 }],
      ['declared smaller', archive, { ...member, uncompressedSize: data.length - 1 }],
      ['stored sizes differ', stored.archive, { ...stored.member, uncompressedSize: data.length + 1 }],
      ['stream cut short', archive, { ...member, compressedSize: Math.floor(member.compressedSize / 2) }],
      ['archive cut short', archive.subarray(0, member.offset + member.compressedSize - 10), member],
      ['corrupt', corrupt, member],
      ['method', archive, { ...member, method: 12 }],
    ];
    for (const [i, [what, a, m]] of cases.entries()) {
      const wantError = errorShape(await failure(sliced(a, m, 1 << 20)));
      assert.equal(wantError.code, 'ERR_OHLC_ZIP', what);
      assert.deepEqual(errorShape(await failure(parseKlinesMemberAsync(onDisk(`bad${i}.zip`, a), m, { name: ARCHIVE }))), wantError, what);
    }
  });

  it('a file that is missing or not a file is a clean ERR_OHLC_ZIP naming the archive and why', async () => {
    const { member } = embed(data);
    for (const [path, why] of [
      [join(dir.dir, 'absent.zip'), /could not be read from the archive's file: No such file or directory/],
      [dir.dir, /could not be read from the archive's file: Invalid argument/],
    ] as const) {
      const err = await failure(parseKlinesMemberAsync(path, member, { name: ARCHIVE }));
      assert.equal(err.code, 'ERR_OHLC_ZIP');
      assert.match(err.message, new RegExp(`^${ARCHIVE} is not a usable kline archive: ${NAME} `));
      assert.match(err.message, why);
    }
  });

  it('the cache hashes a large archive as a stream, hands its file to the parser, and drops it when corrupt', async () => {
    const zip = await zipMembers([{ name: 'BTCUSDT-1s-2024-01-01.csv', data: f.csv }]);
    const ref = archiveRef('spot', 'BTCUSDT', '1s', 'daily', '2024-01-01');
    const logger = new RecordingLogger();
    // Every archive counts as large here (whole reads up to 0 bytes).
    const cache = new ArchiveCache(join(dir.dir, 'cache'), logger, 0);
    await cache.commit(ref, zip, Buffer.from(checksumFor(zip, ref.name)));
    const cached = await cache.read(ref);
    assert.ok(cached);
    assert.equal(cached.data, null);
    assert.equal(cached.sha256, createHash('sha256').update(zip).digest('hex'));
    assert.equal(cached.size, zip.length);
    const got = await readCachedArchive(ref, { cache, network: null, interval: '1s', logger });
    assert.ok(got && 'file' in got.content, 'the parser reads the file');
    const member = got.content.member;
    assertSameParse(await parseKlinesMemberAsync(got.content.file, member, { name: ref.name }), await parseKlinesMemberAsync(zip, member, { name: ref.name }), 'from the file');
    // The same bytes read whole give the same hash and member.
    const small = await new ArchiveCache(join(dir.dir, 'cache'), logger).read(ref);
    assert.ok(small?.data);
    assert.equal(small.sha256, cached.sha256);
    // A flipped byte: the streamed hash no longer matches, the archive is removed.
    const path = cache.pathOf(ref);
    const bad = readFileSync(path);
    bad[100] ^= 1;
    writeFileSync(path, bad);
    assert.equal(await cache.read(ref), null);
    assert.equal(existsSync(path), false);
  });
});

describe('releaseKlineColumns', () => {
  it("frees a month's parsed columns now: every view of them is empty, the bytes are counted", async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 20_000, intervalMs: SECOND });
    const { archive, member } = embed(Buffer.from(f.csv));
    const parsed = await whole(archive, member);
    const view = parsed.close.subarray(5);
    const bytes = COLUMNS.reduce((n, c) => n + parsed[c].byteLength, 0);
    assert.equal(releaseKlineColumns(parsed), bytes);
    for (const c of COLUMNS) assert.equal(parsed[c].length, 0, c);
    assert.equal(view.length, 0);
    // Twice, or arrays V8 will not detach (a WebAssembly memory's): nothing happens.
    assert.equal(releaseKlineColumns(parsed), 0);
    const { WebAssembly: wa } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } };
    const wasm = new Float64Array(new wa.Memory({ initial: 1 }).buffer);
    assert.equal(releaseKlineColumns({ close: wasm }), 0);
    assert.equal(wasm.length, 8192);
  });
});
