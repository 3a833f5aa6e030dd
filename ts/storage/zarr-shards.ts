// The shard files of Zarr format 3's sharding_indexed codec as ohlc-native writes them
// (native/storage/zarr_shard.hpp, docs/DATASET.md): encoded inner chunks, then at the end the
// index, an (offset, nbytes) pair of little-endian uint64 per inner chunk (both 2^64 - 1 for one
// never written), followed by the CRC-32C of the pairs. Here: checking an index before anything
// trusts it, and the stored chunks of an array in order (for digests).
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OhlcError, ErrorCode } from '../errors.js';

const EMPTY = 0xffff_ffff_ffff_ffffn;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as Zarr's crc32c codec appends it. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ShardShape {
  /** Inner chunks per shard. */
  slots: number;
  /** Whether the index ends with a CRC-32C (index_codecs bytes, crc32c). */
  checksum: boolean;
  /** Decoded bytes of one inner chunk, and the most one stored byte may decode to. */
  chunkBytes: number;
  expansion: number;
}

export function indexBytes(shape: ShardShape): number {
  return shape.slots * 16 + (shape.checksum ? 4 : 0);
}

/** One inner chunk's place in its shard file, or null for a chunk never written. */
export type ChunkRange = { offset: number; length: number } | null;

/**
 * The index at the end of a shard file of `fileSize` bytes, checked: its CRC-32C, and every chunk
 * inside the file before the index and large enough to decode to a whole chunk. Throws a storage
 * error naming the file.
 */
export function parseShardIndex(file: string, index: Uint8Array, fileSize: number, shape: ShardShape): ChunkRange[] {
  const fail = (problem: string) => new OhlcError(ErrorCode.storage, `${file}: ${problem}: the shard is damaged, or its zarr.json was edited`);
  if (index.length !== indexBytes(shape) || fileSize < index.length) throw fail(`${fileSize} bytes, too few for a shard index of ${indexBytes(shape)} bytes`);
  const pairs = index.subarray(0, shape.slots * 16);
  const view = new DataView(pairs.buffer, pairs.byteOffset, pairs.byteLength);
  if (shape.checksum) {
    const stored = new DataView(index.buffer, index.byteOffset + pairs.length, 4).getUint32(0, true);
    if (stored !== crc32c(pairs)) throw fail('the shard index fails its CRC-32C');
  }
  const dataEnd = fileSize - index.length;
  const out: ChunkRange[] = [];
  for (let i = 0; i < shape.slots; i++) {
    const offset = view.getBigUint64(16 * i, true);
    const length = view.getBigUint64(16 * i + 8, true);
    if (offset === EMPTY && length === EMPTY) {
      out.push(null);
      continue;
    }
    if (offset + length > BigInt(dataEnd)) throw fail(`inner chunk ${i} (offset ${offset}, ${length} bytes) lies outside the ${dataEnd} bytes of chunk data`);
    if (Number(length) * shape.expansion < shape.chunkBytes) throw fail(`inner chunk ${i} holds ${length} bytes, too few for a chunk of ${shape.chunkBytes} bytes`);
    out.push({ offset: Number(offset), length: Number(length) });
  }
  return out;
}

/** What `zarr.json` of one of our sharded arrays says about its shards: rows per shard and inner chunk. */
interface ShardedArray {
  shape: number[];
  shardRows: number;
  chunkRows: number;
  checksum: boolean;
}

async function shardedArray(store: string, name: string): Promise<ShardedArray> {
  const meta = JSON.parse(await readFile(join(store, name, 'zarr.json'), 'utf8')) as {
    shape: number[];
    chunk_grid: { configuration: { chunk_shape: number[] } };
    codecs: Array<{ name: string; configuration?: { chunk_shape: number[]; index_codecs: Array<{ name: string }> } }>;
  };
  const sharding = meta.codecs[0];
  if (sharding?.name !== 'sharding_indexed' || !sharding.configuration) throw new OhlcError(ErrorCode.storage, `${join(store, name)}: not a sharded array`);
  return {
    shape: meta.shape,
    shardRows: meta.chunk_grid.configuration.chunk_shape[0],
    chunkRows: sharding.configuration.chunk_shape[0],
    checksum: sharding.configuration.index_codecs.some((c) => c.name === 'crc32c'),
  };
}

/**
 * SHA-256 of an array's stored inner chunks in index order (the writer's digest of images),
 * read shard by shard from the index of each.
 */
export async function storedChunksSha256(store: string, name: string): Promise<string> {
  const a = await shardedArray(store, name);
  const hash = createHash('sha256');
  const chunks = Math.ceil(a.shape[0] / a.chunkRows);
  const slots = a.shardRows / a.chunkRows;
  const shape: ShardShape = { slots, checksum: a.checksum, chunkBytes: 0, expansion: 1 };
  for (let first = 0; first < chunks; first += slots) {
    const key = [String(first / slots), ...a.shape.slice(1).map(() => '0')];
    const path = join(store, name, 'c', ...key);
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const index = Buffer.alloc(indexBytes(shape));
      await fh.read(index, 0, index.length, Math.max(0, size - index.length));
      const ranges = parseShardIndex(path, index, size, shape);
      for (let slot = 0; slot < Math.min(slots, chunks - first); slot++) {
        const r = ranges[slot];
        if (!r) throw new OhlcError(ErrorCode.storage, `${path}: inner chunk ${slot} was never written`);
        const bytes = Buffer.alloc(r.length);
        await fh.read(bytes, 0, r.length, r.offset);
        hash.update(bytes);
      }
    } finally {
      await fh.close();
    }
  }
  return hash.digest('hex');
}
