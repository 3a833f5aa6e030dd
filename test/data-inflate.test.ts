// The native ZIP member inflater (native/kernels/zip_member, through inflateMember and
// parseKlinesMemberAsync): the same bytes as Node's zlib, and every way a member can be damaged
// (corrupt or cut deflate data, a wrong CRC-32, sizes that do not match) reported as ERR_OHLC_ZIP
// naming the archive and the member, never a crash. Cached archives take this path.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { parseKlinesCsv, parseKlinesMemberAsync } from '../ts/data/parse.js';
import { inflateMember, locateCsvMember, readCsvMember, type ZipMember } from '../ts/data/zip.js';
import { OhlcError } from '../ts/errors.js';
import { downloadCryptoData } from '../ts/index.js';
import { native } from '../ts/native/load.js';
import { RecordingLogger, tempDir } from './helpers/data-env.js';
import { HOUR, MINUTE, archivePath, checksumFor, klinesCsv, zipMembers } from './helpers/klines-fixtures.js';
import { rng } from './helpers/random.js';

const ARCHIVE = 'BTCUSDT-1m-2024-01.zip';
const NAME = 'BTCUSDT-1m-2024-01.csv';

/** Bytes from a seeded generator: random (incompressible) or text-like with repeats. */
function randomBytes(seed: number, size: number, kind: 'random' | 'text'): Buffer {
  const rand = rng(seed);
  const out = Buffer.alloc(size);
  if (kind === 'random') {
    for (let i = 0; i < size; i++) out[i] = Math.floor(rand() * 256);
    return out;
  }
  const words = ['1700000000000', '0.50000000', '12345.67', ',', '\n', 'BTCUSDT', '0', '99'];
  let i = 0;
  while (i < size) {
    const w = rand() < 0.1 ? String(Math.floor(rand() * 1e9)) : words[Math.floor(rand() * words.length)];
    i += out.write(w, i, 'latin1');
  }
  return out;
}

/** An "archive": the member's deflated bytes between random ones, declared as yauzl would. */
function embed(data: Buffer, options: { level?: number; stored?: boolean; seed?: number } = {}): { archive: Buffer; member: ZipMember } {
  const body = options.stored ? data : deflateRawSync(data, { level: options.level ?? 6 });
  const before = randomBytes(options.seed ?? 1, 17 + (data.length % 23), 'random');
  const after = randomBytes((options.seed ?? 1) + 1, 31, 'random');
  return {
    archive: Buffer.concat([before, body, after]),
    member: {
      archive: ARCHIVE,
      name: NAME,
      offset: before.length,
      compressedSize: body.length,
      uncompressedSize: data.length,
      crc32: crc32(data) >>> 0,
      method: options.stored ? 0 : 8,
    },
  };
}

/** Rejects with ERR_OHLC_ZIP naming the archive and the member, the detail matching `detail`. */
async function rejectsZip(p: Promise<unknown>, detail: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OhlcError, `not an OhlcError: ${String(err)}`);
    const e = err as OhlcError & { file?: string; member?: string };
    assert.equal(e.code, 'ERR_OHLC_ZIP', e.message);
    assert.ok(e.message.startsWith(`${ARCHIVE} is not a usable kline archive: ${NAME} `), e.message);
    assert.match(e.message, detail);
    assert.equal(e.file, ARCHIVE);
    assert.equal(e.member, NAME);
    return true;
  });
}

/** Both native entry points must refuse the member the same way. */
async function refusedBoth(archive: Buffer, member: ZipMember, detail: RegExp): Promise<void> {
  await rejectsZip(inflateMember(archive, member), detail);
  await rejectsZip(parseKlinesMemberAsync(archive, member, { name: ARCHIVE }), detail);
}

describe('inflateMember: the same bytes as zlib', () => {
  it('matches zlib on random and text-like data of many sizes, every level, stored too', async () => {
    let seed = 10;
    for (const size of [0, 1, 2, 7, 255, 4096, 65_537, 300_001, 1 << 20]) {
      for (const kind of ['random', 'text'] as const) {
        const data = randomBytes(seed++, size, kind);
        for (const level of [0, 1, 6, 9]) {
          const { archive, member } = embed(data, { level, seed });
          const got = await inflateMember(archive, member);
          const body = archive.subarray(member.offset, member.offset + member.compressedSize);
          assert.ok(got.equals(inflateRawSync(body)), `size ${size} ${kind} level ${level}`);
          assert.equal(got.length, size);
        }
        const stored = embed(data, { stored: true, seed });
        assert.ok((await inflateMember(stored.archive, stored.member)).equals(data), `stored ${size} ${kind}`);
      }
    }
  });

  it('agrees with what yauzl reads from a real ZIP (readCsvMember)', async () => {
    const { csv } = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 5000, intervalMs: MINUTE });
    const zip = await zipMembers([{ name: NAME, data: csv }]);
    const m = await readCsvMember(ARCHIVE, zip, 1 << 24);
    assert.equal(m.name, NAME);
    assert.equal(m.csv.toString('latin1'), csv);
  });

  it('inflates and parses in one call, exactly as parsing the inflated CSV', async () => {
    const { csv } = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 44_640, intervalMs: MINUTE, micro: (t) => t >= Date.UTC(2024, 0, 15) });
    const zip = await zipMembers([{ name: NAME, data: csv }]);
    const member = await locateCsvMember(ARCHIVE, zip, 1 << 24);
    const got = await parseKlinesMemberAsync(zip, member, { name: ARCHIVE });
    const want = parseKlinesCsv(Buffer.from(csv, 'latin1'), { name: ARCHIVE });
    assert.equal(got.rows, 44_640);
    assert.deepEqual(got, want);
  });

  it('reports a malformed row by archive and line, and skips it on request', async () => {
    const rows = '1704067200000,1,2,0.5,1.5,10,1704070799999,15,3,5,7.5,0\n1704070800000,1,2,x,1.5,10,1704074399999,15,3,5,7.5,0\n';
    const { archive, member } = embed(Buffer.from(rows));
    await assert.rejects(parseKlinesMemberAsync(archive, member, { name: ARCHIVE }), (err: Error & { code?: string; file?: string; line?: number; field?: string }) => {
      assert.equal(err.code, 'ERR_OHLC_MALFORMED_ROW');
      assert.deepEqual([err.file, err.line, err.field], [ARCHIVE, 2, 'low']);
      assert.match(err.message, /^BTCUSDT-1m-2024-01\.zip line 2: field 'low' is not a number/);
      return true;
    });
    const skipped = await parseKlinesMemberAsync(archive, member, { name: ARCHIVE, onMalformedRow: 'skip' });
    assert.deepEqual([skipped.rows, skipped.skipped], [1, 1]);
  });

  it('honours an AbortSignal', async () => {
    const { csv } = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 44_640, intervalMs: MINUTE });
    const { archive, member } = embed(Buffer.from(csv));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(parseKlinesMemberAsync(archive, member, { name: ARCHIVE, signal: ac.signal }), { name: 'AbortError' });
    const ac2 = new AbortController();
    const p = parseKlinesMemberAsync(archive, member, { name: ARCHIVE, signal: ac2.signal });
    ac2.abort();
    await assert.rejects(p, { name: 'AbortError' });
  });
});

describe('inflateMember: damaged members', () => {
  const { csv } = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 2000, intervalMs: HOUR });
  const data = Buffer.from(csv);

  it('a corrupt deflate stream', async () => {
    const { archive, member } = embed(data);
    const reserved = Buffer.from(archive);
    reserved[member.offset] |= 0b110; // block type 3 does not exist
    await refusedBoth(reserved, member, /holds corrupt or truncated deflate data$/);
  });

  it('a wrong CRC-32', async () => {
    const { archive, member } = embed(data);
    await refusedBoth(archive, { ...member, crc32: (member.crc32 ^ 1) >>> 0 }, /fails its CRC-32 check \(corrupt data\): CRC-32 [0-9a-f]{8}, not the [0-9a-f]{8} it declares$/);
    const stored = embed(data, { stored: true });
    await refusedBoth(stored.archive, { ...stored.member, crc32: (stored.member.crc32 + 1) >>> 0 }, /fails its CRC-32 check/);
  });

  it('a declared size other than what the stream holds', async () => {
    const { archive, member } = embed(data);
    const n = data.length;
    await refusedBoth(archive, { ...member, uncompressedSize: n + 1 }, new RegExp(`inflates to ${n} bytes, not the ${n + 1} it declares$`));
    // Declared smaller: inflation stops at the declared size, whatever the stream holds.
    await refusedBoth(archive, { ...member, uncompressedSize: n - 1 }, new RegExp(`inflates to more than the ${n - 1} bytes it declares$`));
    await refusedBoth(archive, { ...member, uncompressedSize: 0 }, /inflates to more than the 0 bytes it declares$/);
    const stored = embed(data, { stored: true });
    await refusedBoth(stored.archive, { ...stored.member, uncompressedSize: n + 1 }, new RegExp(`is stored uncompressed in ${n} bytes but declares ${n + 1}$`));
  });

  it('a truncated member', async () => {
    const { archive, member } = embed(data);
    // The stream cut short inside the archive.
    await refusedBoth(archive, { ...member, compressedSize: Math.floor(member.compressedSize / 2) }, /holds corrupt or truncated deflate data$/);
    // The archive cut short inside the member.
    const cut = archive.subarray(0, member.offset + member.compressedSize - 10);
    await refusedBoth(cut, member, /runs past the end of the archive \(truncated\)$/);
    await refusedBoth(archive, { ...member, offset: archive.length + 1, compressedSize: 0 }, /runs past the end of the archive/);
  });

  it('an unknown compression method', async () => {
    const { archive, member } = embed(data);
    await refusedBoth(archive, { ...member, method: 12 }, /uses compression method 12, not deflate$/);
  });

  it('random damage is always a clean ERR_OHLC_ZIP, never a crash or a wrong answer', async () => {
    const { archive, member } = embed(data);
    const rand = rng(99);
    for (let i = 0; i < 200; i++) {
      const bad = Buffer.from(archive);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) bad[member.offset + Math.floor(rand() * member.compressedSize)] ^= 1 + Math.floor(rand() * 255);
      try {
        const got = await inflateMember(bad, member);
        assert.ok(got.equals(data), 'a flip that still inflates must give the original bytes'); // e.g. a flipped unused bit
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'ERR_OHLC_ZIP', String(err));
      }
    }
  });

  it('a ZIP whose headers carry a wrong CRC-32 is refused by readCsvMember, naming the archive', async () => {
    const zip = Buffer.from(await zipMembers([{ name: NAME, data }]));
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE((zip.readUInt32LE(central + 16) ^ 0xff) >>> 0, central + 16);
    await rejectsZip(readCsvMember(ARCHIVE, zip, 1 << 24), /fails its CRC-32 check/);
  });

  it('native argument checks throw, they do not crash', () => {
    const addon = native();
    const noop = () => undefined;
    const good = embed(data).member;
    assert.throws(() => addon.inflateMemberAsync(Buffer.alloc(4), {} as ZipMember, noop), /native: expected archive to be present/);
    assert.throws(() => addon.inflateMemberAsync(Buffer.alloc(4), { ...good, offset: -1 }, noop), /native: expected offset to be an integer/);
    assert.throws(() => addon.inflateMemberAsync(Buffer.alloc(4), { ...good, crc32: 2 ** 32 }, noop), /native: expected crc32 to be an integer/);
    assert.throws(() => addon.inflateMemberAsync(new Float64Array(4) as unknown as Uint8Array, good, noop), /native: expected archive to be another typed array kind/);
    assert.throws(() => addon.parseKlinesMemberAsync(Buffer.alloc(4), good, { name: ARCHIVE, skipMalformed: false, sliceBytes: 0, expectedRows: 0 }, 'x' as never), /native: expected callback to be a function/);
  });
});

describe('cached archives: inflated and parsed natively, no network', () => {
  const UNREACHABLE = 'http://127.0.0.1:9/';

  function cacheWith(zip: Buffer): { dir: string; remove: () => void } {
    const cache = tempDir();
    const path = join(cache.dir, ...archivePath('spot', 'monthly', 'BTCUSDT', '1h', '2024-01').split('/'));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, zip);
    writeFileSync(`${path}.CHECKSUM`, checksumFor(zip, 'BTCUSDT-1h-2024-01.zip'));
    return cache;
  }

  const options = (cacheDir: string) => ({ symbol: 'BTCUSDT', interval: '1h' as const, startDate: '2024-01', endDate: '2024-01', baseUrl: UNREACHABLE, cacheDir, now: Date.UTC(2024, 5, 1), retries: 0, logger: new RecordingLogger() });

  it('reads an intact cached archive without touching the network', async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 744, intervalMs: HOUR });
    const cache = cacheWith(await zipMembers([{ name: 'BTCUSDT-1h-2024-01.csv', data: f.csv }]));
    try {
      const got = await downloadCryptoData(options(cache.dir));
      assert.equal(got.length, 744);
      assert.deepEqual(Array.from(got.close), f.rows.map((r) => r.close));
      assert.equal(got.sources[0].cached, true);
    } finally {
      cache.remove();
    }
  });

  it('refuses a cached archive whose member is corrupt (its checksum matching), naming it', async () => {
    const f = klinesCsv({ start: Date.UTC(2024, 0, 1), count: 744, intervalMs: HOUR });
    const zip = Buffer.from(await zipMembers([{ name: 'BTCUSDT-1h-2024-01.csv', data: f.csv }]));
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE((zip.readUInt32LE(central + 16) ^ 1) >>> 0, central + 16);
    const cache = cacheWith(zip);
    try {
      await assert.rejects(downloadCryptoData(options(cache.dir)), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_OHLC_ZIP');
        assert.match(err.message, /^BTCUSDT-1h-2024-01\.zip is not a usable kline archive: BTCUSDT-1h-2024-01\.csv fails its CRC-32 check/);
        return true;
      });
    } finally {
      cache.remove();
    }
  });
});
