// Zarr format 3 with the sharding_indexed codec: a store round-trips through the package's
// loader, through zarrita on its own, and through a reader of the shard index written here from
// the spec (the index at the end of each shard, images inflated by node:zlib); a 10,000-image
// store is about ten shard files, not 10,000; damaged shards, bad settings and build, inspect
// and verify from the CLI.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, closeSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import FileSystemStore from '@zarrita/storage/fs';
import * as zarr from 'zarrita';
import { createDatasetWriter, loadImagesFromStorage, rasterize } from '../ts/index.js';
import { validateConfig } from '../ts/config/load.js';
import { runCliAsync as runCli } from './helpers/cli.js';
import { rng } from './helpers/random.js';
import { writerFixture, type WriterFixture } from './helpers/writer-fixture.js';
import { makeFifo, releaseFifo } from './helpers/special-files.js';

const SEQ = 10;
const H = 16;
const PIXELS = H * 4 * SEQ;
const HORIZONS = [1, 2];
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ohlc-zarr3-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Fixture = WriterFixture;

function fixture(count: number, seed: number): Fixture {
  return writerFixture(count, seed, { seqLen: SEQ, height: H, horizons: HORIZONS, epoch: 1_700_000_000_000 });
}

/** Writes the fixture in uneven appends (so shards fill across appends). */
async function write(path: string, f: Fixture, extra: Record<string, unknown> = {}) {
  const w = await createDatasetWriter(path, { format: 'zarr', seqLen: SEQ, height: H, horizons: HORIZONS, metadata: { symbol: 'TESTUSDT' }, ...extra });
  const n = f.starts.length;
  const k = HORIZONS.length;
  const cuts = [...new Set([0, 3, 700, 701].filter((c) => c < n).concat(n))];
  for (let c = 0; c + 1 < cuts.length; c++) {
    const [a, b] = [cuts[c], cuts[c + 1]];
    await w.append({ candles: f.candles, starts: f.starts.subarray(a, b), timestamps: f.timestamps.subarray(a, b), labels: f.labels.subarray(a * k, b * k), returns: f.returns.subarray(a * k, b * k) });
  }
  return w.close();
}

/** Every plain file under `root`, relative. */
function filesUnder(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) => statSync(join(root, p)).isFile()).sort();
}

/** CRC-32C bit by bit, from its definition (reflected polynomial 0x82F63B78): independent of the package's table. */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The spec's shard layout read by hand: the last 16 * slots + 4 bytes of the file are the index,
 * (offset, nbytes) little-endian uint64 pairs then their CRC-32C; each image a gzip member.
 */
function readShardByHand(file: string, slots: number): Array<{ offset: bigint; length: bigint; bytes?: Buffer }> {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const index = Buffer.alloc(slots * 16 + 4);
    readSync(fd, index, 0, index.length, size - index.length);
    assert.equal(index.readUInt32LE(slots * 16), crc32cBitwise(index.subarray(0, slots * 16)), `${file}: index CRC-32C`);
    return Array.from({ length: slots }, (_, i) => {
      const offset = index.readBigUInt64LE(16 * i);
      const length = index.readBigUInt64LE(16 * i + 8);
      if (offset === 2n ** 64n - 1n) return { offset, length };
      const bytes = Buffer.alloc(Number(length));
      readSync(fd, bytes, 0, bytes.length, Number(offset));
      return { offset, length, bytes };
    });
  } finally {
    closeSync(fd);
  }
}

describe('Zarr 3 sharded: round trip', () => {
  const N = 2_345;
  const SHARD = 1_000;
  const f = fixture(N, 11);
  let store: string;
  before(async () => {
    store = (await write(join(dir, 'round.zarr'), f, { zarrShardImages: SHARD })).files[0];
  });

  it('metadata as the spec writes it: sharding_indexed, inner chunk one image, gzip, bytes + crc32c index at the end', () => {
    const group = JSON.parse(readFileSync(join(store, 'zarr.json'), 'utf8'));
    assert.equal(group.zarr_format, 3);
    assert.equal(group.node_type, 'group');
    assert.equal(group.attributes.symbol, 'TESTUSDT');
    const images = JSON.parse(readFileSync(join(store, 'images', 'zarr.json'), 'utf8'));
    assert.deepEqual(images.shape, [N, H, 4 * SEQ]);
    assert.equal(images.data_type, 'uint8');
    assert.deepEqual(images.chunk_grid, { name: 'regular', configuration: { chunk_shape: [SHARD, H, 4 * SEQ] } });
    assert.deepEqual(images.chunk_key_encoding, { name: 'default', configuration: { separator: '/' } });
    const [sharding] = images.codecs;
    assert.equal(sharding.name, 'sharding_indexed');
    assert.deepEqual(sharding.configuration.chunk_shape, [1, H, 4 * SEQ]);
    assert.deepEqual(sharding.configuration.codecs.map((c: { name: string }) => c.name), ['bytes', 'gzip']);
    assert.deepEqual(sharding.configuration.index_codecs, [{ name: 'bytes', configuration: { endian: 'little' } }, { name: 'crc32c' }]);
    assert.equal(sharding.configuration.index_location, 'end');
  });

  it('the loader reads every image, in random order, and the row arrays', async () => {
    const rand = rng(5);
    const picks = [...new Set(Array.from({ length: 60 }, () => Math.floor(rand() * N)).concat([0, SHARD - 1, SHARD, N - 1]))].sort((a, b) => a - b);
    const got = await loadImagesFromStorage(store, { indices: picks });
    assert.equal(got.total, N);
    assert.equal(got.format, 'zarr');
    picks.forEach((idx, i) => {
      assert.ok(Buffer.from(got.images.subarray(i * PIXELS, (i + 1) * PIXELS)).equals(Buffer.from(f.images.subarray(idx * PIXELS, (idx + 1) * PIXELS))), `image ${idx}`);
      assert.equal(got.timestamps[i], f.timestamps[idx]);
      assert.deepEqual(Array.from(got.labels!.subarray(i * 2, i * 2 + 2)), Array.from(f.labels.subarray(idx * 2, idx * 2 + 2)));
      assert.deepEqual(Array.from(got.returns!.subarray(i * 2, i * 2 + 2)), Array.from(f.returns.subarray(idx * 2, idx * 2 + 2)));
      assert.equal(got.sequences[i * SEQ * 4 + 3], f.candles.close[f.starts[idx]]);
    });
    const all = await loadImagesFromStorage(store);
    assert.ok(Buffer.from(all.images).equals(Buffer.from(f.images)), 'every image');
  });

  it('zarrita on its own (a plain file-system store) reads the same images', async () => {
    const root = zarr.root(new FileSystemStore(store));
    const images = await zarr.open.v3(root.resolve('images'), { kind: 'array' });
    assert.deepEqual(images.shape, [N, H, 4 * SEQ]);
    for (const idx of [0, 999, 1000, 1777, N - 1]) {
      const one = await zarr.get(images, [idx, null, null]);
      assert.ok(Buffer.from((one.data as Uint8Array).buffer).equals(Buffer.from(f.images.subarray(idx * PIXELS, (idx + 1) * PIXELS))), `image ${idx}`);
    }
    const ts = await zarr.get(await zarr.open.v3(root.resolve('timestamps'), { kind: 'array' }), [zarr.slice(N - 5, N)]);
    assert.deepEqual(Array.from(ts.data as BigInt64Array, Number), Array.from(f.timestamps.subarray(N - 5)));
  });

  it('the shard index read by hand: contiguous chunks, gzip images equal to the loader\'s, empty slots past the end', async () => {
    const shards = readdirSync(join(store, 'images', 'c')).sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(shards, ['0', '1', '2']);
    const picks = [0, 1, 998, 1000, 2001, N - 1];
    const loaded = await loadImagesFromStorage(store, { indices: picks });
    for (const s of [0, 1, 2]) {
      const file = join(store, 'images', 'c', String(s), '0', '0');
      const entries = readShardByHand(file, SHARD);
      const used = Math.min(SHARD, N - s * SHARD);
      let end = 0n;
      entries.forEach((e, slot) => {
        if (slot >= used) {
          assert.equal(e.length, 2n ** 64n - 1n, `slot ${slot} of shard ${s} is empty`);
          return;
        }
        assert.equal(e.offset, end, `shard ${s} slot ${slot} follows the one before`);
        end += e.length;
      });
      assert.equal(Number(end) + SHARD * 16 + 4, statSync(file).size, 'chunks, then the index, nothing else');
      for (const [i, idx] of picks.entries()) {
        if (Math.floor(idx / SHARD) !== s) continue;
        const pixels = gunzipSync(entries[idx % SHARD].bytes!);
        assert.ok(pixels.equals(Buffer.from(loaded.images.subarray(i * PIXELS, (i + 1) * PIXELS))), `image ${idx} by hand = loader`);
        assert.ok(pixels.equals(Buffer.from(f.images.subarray(idx * PIXELS, (idx + 1) * PIXELS))), `image ${idx} by hand = rasterizer`);
      }
    }
  });

  it('a damaged index or a truncated shard is refused naming the file', async () => {
    const copy = join(dir, 'damaged.zarr');
    cpSync(store, copy, { recursive: true });
    const shard = join(copy, 'images', 'c', '1', '0', '0');
    const bytes = readFileSync(shard);
    bytes[bytes.length - 20] ^= 0x01;
    writeFileSync(shard, bytes);
    await assert.rejects(loadImagesFromStorage(copy, { indices: [1500] }), (err: Error) => err.message.includes(shard) && /CRC-32C/.test(err.message));
    const cut = join(dir, 'cut.zarr');
    cpSync(store, cut, { recursive: true });
    truncateSync(join(cut, 'images', 'c', '0', '0', '0'), 100);
    await assert.rejects(loadImagesFromStorage(cut, { indices: [3] }), /c\/0\/0\/0: .*too few for a shard index/);
  });

  it('a FIFO where the metadata or a shard should be is refused at once, naming it', { timeout: 10_000 }, async () => {
    for (const member of ['zarr.json', join('images', 'zarr.json'), join('images', 'c', '1', '0', '0'), join('sequences', 'c', '0', '0', '0')]) {
      const copy = join(dir, `fifo-${member.replace(/\W+/g, '-')}.zarr`);
      cpSync(store, copy, { recursive: true });
      const file = join(copy, member);
      rmSync(file);
      makeFifo(file);
      const started = Date.now();
      try {
        await assert.rejects(loadImagesFromStorage(copy, { indices: [1200] }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_OHLC_STORAGE', err.message);
          assert.ok(err.message.includes(file) && /is a FIFO \(named pipe\), not a regular file/.test(err.message), err.message);
          return true;
        });
      } finally {
        releaseFifo(file);
      }
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    }
  });

  it('compression none stores raw images (bytes codec only)', async () => {
    const small = fixture(30, 2);
    const raw = (await write(join(dir, 'raw.zarr'), small, { compression: 'none', zarrShardImages: 16 })).files[0];
    const meta = JSON.parse(readFileSync(join(raw, 'images', 'zarr.json'), 'utf8'));
    assert.deepEqual(meta.codecs[0].configuration.codecs, [{ name: 'bytes' }]);
    const entries = readShardByHand(join(raw, 'images', 'c', '1', '0', '0'), 16);
    assert.ok(entries[3].bytes!.equals(Buffer.from(small.images.subarray(19 * PIXELS, 20 * PIXELS))));
    const got = await loadImagesFromStorage(raw);
    assert.ok(Buffer.from(got.images).equals(Buffer.from(small.images)));
  });
});

describe('Zarr 3 sharded: a writer killed mid-store', () => {
  it('leaves whole shards under their keys, the open one under a temporary name, nothing under the final name; a rebuild sweeps it', async () => {
    const sub = mkdtempSync(join(dir, 'kill-'));
    const script = join(sub, 'writer.mts');
    const index = fileURLToPath(new URL('../ts/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { createDatasetWriter } from ${JSON.stringify(index)};
const n = 400, o = Float64Array.from({ length: n }, (_, i) => 100 + Math.sin(i));
const c = { open: o, high: o.map((v) => v + 1), low: o.map((v) => v - 1), close: o };
const starts = Int32Array.from({ length: 250 }, (_, i) => i);
const timestamps = Float64Array.from(starts, (s) => s * 60000);
const w = await createDatasetWriter(${JSON.stringify(join(sub, 'out.zarr'))}, { seqLen: ${SEQ}, height: ${H}, zarrShardImages: 100 });
await w.append({ candles: c, starts, timestamps });
process.stdout.write('appended\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('appended') && resolve());
      child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const [temp, ...others] = readdirSync(sub).filter((n) => n !== 'writer.mts');
    assert.deepEqual(others, []);
    assert.match(temp, /^\.out\.zarr\.\d+-\w+\.partial$/);
    const images = join(sub, temp, 'images', 'c');
    for (const s of ['0', '1']) {
      const entries = readShardByHand(join(images, s, '0', '0'), 100);
      assert.ok(entries.every((e) => e.bytes !== undefined), `shard ${s} is whole`);
    }
    assert.deepEqual(readdirSync(join(images, '2', '0')), ['.0.partial'], 'the open shard has only its temporary name');
    assert.ok(!readdirSync(join(sub, temp)).includes('zarr.json'), 'no metadata before the end');
    await assert.rejects(loadImagesFromStorage(join(sub, 'out.zarr')), /does not exist/);
    const f = fixture(30, 9);
    await write(join(sub, 'out.zarr'), f);
    assert.deepEqual(readdirSync(sub).filter((n) => n !== 'writer.mts'), ['out.zarr'], 'the dead writer\'s store is swept');
  });
});

describe('Zarr 3 sharded: file count', () => {
  it('10,000 images are 10 image shard files (1,024 each by default), one shard per row array, and the metadata', async () => {
    const f = fixture(10_000, 3);
    const store = (await write(join(dir, 'count.zarr'), f)).files[0];
    const files = filesUnder(store);
    const imageShards = files.filter((p) => p.startsWith(join('images', 'c')));
    assert.equal(imageShards.length, Math.ceil(10_000 / 1024));
    const arrays = ['images', 'sequences', 'timestamps', 'labels', 'returns'];
    assert.deepEqual(files.filter((p) => p.endsWith('zarr.json')), ['zarr.json', ...arrays.map((a) => join(a, 'zarr.json'))].sort());
    // Each row array's 256 chunks of about 256 KiB per shard hold all 10,000 rows.
    for (const a of arrays.slice(1)) assert.equal(files.filter((p) => p.startsWith(join(a, 'c'))).length, 1, a);
    assert.equal(files.length, 10 + 4 + 6);
    assert.ok(!files.some((p) => p.endsWith('.partial')), 'no temporary left');
    const got = await loadImagesFromStorage(store, { indices: [9_999, 5_120] });
    assert.ok(Buffer.from(got.images.subarray(0, PIXELS)).equals(Buffer.from(f.images.subarray(9_999 * PIXELS))));
  });
});

describe('Zarr settings', () => {
  it('format 2 writes a file per image, as before', async () => {
    const f = fixture(40, 4);
    const store = (await write(join(dir, 'v2.zarr'), f, { zarrFormat: 2 })).files[0];
    assert.equal(readdirSync(join(store, 'images')).filter((n) => /^\d+\.0\.0$/.test(n)).length, 40);
    assert.ok(readdirSync(store).includes('.zgroup'));
    const got = await loadImagesFromStorage(store);
    assert.ok(Buffer.from(got.images).equals(Buffer.from(f.images)));
  });

  it('bad values name the option or config key', async () => {
    const opts = { format: 'zarr' as const, seqLen: SEQ, height: H };
    await assert.rejects(createDatasetWriter(join(dir, 'bad1.zarr'), { ...opts, zarrFormat: 4 as 3 }), (err: Error) => err instanceof RangeError && /for zarrFormat but received 4/.test(err.message));
    await assert.rejects(createDatasetWriter(join(dir, 'bad2.zarr'), { ...opts, zarrShardImages: 0 }), /zarrShardImages/);
    const config = (storage: Record<string, unknown>) => validateConfig({ data: { symbol: 'BTCUSDT', interval: '1h', start_date: '2024-01-01', end_date: '2024-01-31' }, image: { seq_len: 10, storage: { format: 'zarr', ...storage } } }, 'test');
    assert.throws(() => config({ zarr_format: 4 }), /image\.storage\.zarr_format: must be 2 or 3/);
    assert.throws(() => config({ zarr_shard_images: 0 }), /image\.storage\.zarr_shard_images/);
    assert.throws(() => config({ zarr_shard_images: 2 ** 21 }), /image\.storage\.zarr_shard_images/);
    assert.equal(config({}).image.storage.zarr_format, 3);
    assert.equal(config({}).image.storage.zarr_shard_images, 1024);
  });
});

describe('Zarr 3 from the CLI', () => {
  it('build, inspect and verify a sharded store', async () => {
    const project = join(dir, 'cli');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'config.yaml'),
      `data: { symbols: [BTCUSDT], interval: 1h, start_date: "2024-01", end_date: "2024-02", source: sample }
image: { seq_len: 12, resolution: { height: 24 }, storage: { format: zarr, zarr_shard_images: 300 } }
labels: { horizons: [1, 4] }
paths: { raw_data: raw, processed_data: out, logs: logs }
runtime: { device: cpu }
`,
    );
    const built = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml'], project);
    assert.equal(built.status, 0, built.stderr);
    const summary = JSON.parse(built.stdout) as { outputs: string[]; images: number };
    const store = summary.outputs[0];
    assert.equal(readdirSync(join(store, 'images', 'c')).length, Math.ceil(summary.images / 300));
    const inspect = await runCli(['inspect', store, '--json'], project);
    assert.equal(inspect.status, 0, inspect.stderr);
    const shown = JSON.parse(inspect.stdout) as { format: string; images: number; shape: number[] };
    assert.equal(shown.format, 'zarr');
    assert.deepEqual([shown.images, ...shown.shape], [summary.images, summary.images, 24, 48]);
    const verify = await runCli(['verify', store, '--json'], project);
    const report = JSON.parse(verify.stdout);
    assert.equal(verify.status, 0, report.problems?.join('\n'));
    assert.ok(report.checked.redrawn > 0);
  });
});
