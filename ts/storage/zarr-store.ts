// The store the Zarr reader hands zarrita: a store directory's files, each checked before zarrita
// trusts it (and each a regular file: a FIFO would block the read forever). zarrita sizes a
// chunk's buffer from the array metadata alone, so an edited .zarray or zarr.json could make it
// allocate far more than the files hold; here an array's chunks must be positive sizes, its
// compressor one whose expansion is bounded (zlib, gzip or none), and every chunk large enough
// to decode to the chunk it claims to be. Format 3 shards are read by range: a shard's index is
// checked (its CRC-32C, every chunk inside the file: zarr-shards.ts) before zarrita reads a
// chunk through it.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { AbsolutePath, AsyncReadable, GetOptions, RangeQuery } from '@zarrita/storage';
import type FileSystemStore from '@zarrita/storage/fs';
import { OhlcError, ErrorCode } from '../errors.js';
import { MAX_DEFLATE_EXPANSION } from '../limits.js';
import { checkRegularFile } from '../util/files.js';
import { indexBytes, parseShardIndex, type ShardShape } from './zarr-shards.js';

/** Bytes one stored byte can decode to, by compressor. */
const EXPANSION: Record<string, number> = { zlib: MAX_DEFLATE_EXPANSION, gzip: MAX_DEFLATE_EXPANSION, none: 1 };
const READABLE = Object.keys(EXPANSION);

interface ChunkBound {
  /** Decoded bytes of one chunk (an inner chunk of a shard). */
  bytes: number;
  compressor: string;
  /** Format 3 arrays with the sharding_indexed codec. */
  shard?: ShardShape;
}

function isPositiveInteger(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

/** A metadata list as messages show shapes: [30, 48, 80]. */
function listText(value: unknown): string {
  return Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(', ')}]` : String(JSON.stringify(value));
}

/** Bytes per element of a numpy dtype string ('<f8', '|u1'), or undefined for kinds zarrita must judge. */
function itemSize(dtype: unknown): number | undefined {
  const m = typeof dtype === 'string' ? /^[<>|]?[biuf](\d+)$/.exec(dtype) : null;
  return m ? Number(m[1]) : undefined;
}

/** Bytes per element of a Zarr format 3 data type ('uint8', 'float64'), or undefined. */
function dataTypeSize(type: unknown): number | undefined {
  const m = typeof type === 'string' ? /^(?:u?int|float)(8|16|32|64)$/.exec(type) : null;
  return m ? Number(m[1]) / 8 : undefined;
}

interface Codec {
  name?: unknown;
  configuration?: Record<string, unknown>;
}

export class CheckedZarrStore implements AsyncReadable {
  /** By array name, from its .zarray or zarr.json. */
  private readonly bounds = new Map<string, ChunkBound>();

  constructor(
    private readonly files: FileSystemStore,
    /** The store directory, for messages. */
    private readonly path: string,
  ) {}

  async get(key: AbsolutePath, options?: GetOptions): Promise<Uint8Array | undefined> {
    try {
      await checkRegularFile(join(this.path, key), 'Zarr store file', ErrorCode.storage);
    } catch (err) {
      // Absent is zarrita's to judge: a missing array, or a chunk never written (its fill value).
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    const bytes = await this.files.get(key, options);
    // Keys are /<array>/<file...>; the root's own .zgroup, .zattrs and zarr.json need no check.
    const parts = key.split('/');
    if (!bytes || parts.length < 3) return bytes;
    const array = parts[1];
    const file = parts[parts.length - 1];
    if (parts.length === 3 && file === '.zarray') this.bounds.set(array, this.chunkBound(array, bytes));
    else if (parts.length === 3 && file === 'zarr.json') this.bounds.set(array, this.chunkBoundV3(array, bytes));
    else if (!file.startsWith('.')) this.checkChunk(key, array, bytes);
    return bytes;
  }

  /** Format 3 shards: the index (a suffix), checked, then inner chunks the index placed. */
  async getRange(key: AbsolutePath, range: RangeQuery, options?: GetOptions): Promise<Uint8Array | undefined> {
    options?.signal?.throwIfAborted();
    const file = join(this.path, key);
    const array = key.split('/')[1];
    const bound = this.bounds.get(array);
    if (!bound?.shard) throw new OhlcError(ErrorCode.storage, `${file}: a range read of an array that is not sharded`);
    try {
      await checkRegularFile(file, 'Zarr shard file', ErrorCode.storage);
    } catch (err) {
      // A shard never written holds only fill values, as zarrita judges an absent key.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    const fh = await open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      let offset: number;
      let length: number;
      if ('suffixLength' in range) {
        length = indexBytes(bound.shard);
        if (range.suffixLength !== length) throw new OhlcError(ErrorCode.storage, `${file}: a shard index of ${range.suffixLength} bytes asked for, ${length} expected`);
        offset = size - length;
        if (offset < 0) throw new OhlcError(ErrorCode.storage, `${file}: ${size} bytes, too few for a shard index of ${length} bytes: the shard is damaged`);
      } else {
        ({ offset, length } = range);
      }
      if (offset < 0 || offset + length > size) throw new OhlcError(ErrorCode.storage, `${file} holds ${size} bytes, too few for bytes ${offset}..${offset + length}: the shard is damaged`);
      const bytes = new Uint8Array(length);
      const { bytesRead } = await fh.read(bytes, 0, length, offset);
      if (bytesRead !== length) throw new OhlcError(ErrorCode.storage, `${file} ended early (truncated while read)`);
      if ('suffixLength' in range) parseShardIndex(file, bytes, size, bound.shard);
      return bytes;
    } finally {
      await fh.close();
    }
  }

  private fail(array: string, problem: string): OhlcError {
    return new OhlcError(ErrorCode.storage, `${this.path}: array '${array}' ${problem}`);
  }

  private parse(array: string, bytes: Uint8Array, name: string): Record<string, unknown> {
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw this.fail(array, `has a ${name} that is not JSON (${(err as Error).message})`);
    }
  }

  private checkChunks(array: string, chunks: unknown, shape: unknown, what = 'chunks'): number[] {
    if (!Array.isArray(chunks) || !Array.isArray(shape) || chunks.length !== shape.length || !chunks.every(isPositiveInteger)) {
      throw this.fail(array, `has ${what} ${listText(chunks)}: chunk sizes must be positive whole numbers, one per dimension of its shape ${listText(shape)}`);
    }
    return chunks as number[];
  }

  private unreadable(array: string, codec: string): OhlcError {
    return this.fail(array, `is compressed with "${codec}"; ohlc-native reads ${READABLE.slice(0, -1).join(', ')} or ${READABLE.at(-1)}`);
  }

  private chunkBound(array: string, bytes: Uint8Array): ChunkBound {
    const meta = this.parse(array, bytes, '.zarray');
    const chunks = this.checkChunks(array, meta.chunks, meta.shape);
    const { compressor } = meta;
    const codec = compressor === null ? 'none' : String((compressor as { id?: unknown } | undefined)?.id);
    if (!(codec in EXPANSION)) throw this.unreadable(array, codec);
    const size = itemSize(meta.dtype) ?? 0;
    return { bytes: chunks.reduce((a, b) => a * b, size), compressor: codec };
  }

  /** The bytes codec, then at most one compressor: the compressor's name ('none' without). */
  private compressorOf(array: string, codecs: unknown): string {
    const list = Array.isArray(codecs) ? (codecs as Codec[]) : [];
    if (list[0]?.name !== 'bytes' || list.length > 2) {
      throw this.fail(array, `has codecs ${JSON.stringify(codecs)}; ohlc-native reads "bytes" followed by at most one of ${READABLE.slice(0, -1).join(', ')}`);
    }
    if (list.length === 1) return 'none';
    const codec = String(list[1].name);
    if (!(codec in EXPANSION) || codec === 'none') throw this.unreadable(array, codec);
    return codec;
  }

  private chunkBoundV3(array: string, bytes: Uint8Array): ChunkBound {
    const meta = this.parse(array, bytes, 'zarr.json');
    const grid = meta.chunk_grid as { name?: unknown; configuration?: { chunk_shape?: unknown } } | undefined;
    const outer = this.checkChunks(array, grid?.configuration?.chunk_shape, meta.shape);
    const size = dataTypeSize(meta.data_type) ?? 0;
    const codecs = Array.isArray(meta.codecs) ? (meta.codecs as Codec[]) : [];
    if (codecs[0]?.name !== 'sharding_indexed') return { bytes: outer.reduce((a, b) => a * b, size), compressor: this.compressorOf(array, codecs) };
    const config = codecs[0].configuration ?? {};
    const inner = this.checkChunks(array, config.chunk_shape, meta.shape, 'inner chunks');
    if (codecs.length > 1) throw this.fail(array, `has codecs after sharding_indexed (${JSON.stringify(codecs.slice(1))}); ohlc-native reads none`);
    if (config.index_location !== undefined && config.index_location !== 'end') throw this.fail(array, `has its shard index at the "${String(config.index_location)}"; ohlc-native reads it at the end`);
    if (!inner.every((c, d) => outer[d] % c === 0)) throw this.fail(array, `has shards ${listText(outer)} that are not whole numbers of its inner chunks ${listText(inner)}`);
    const index = Array.isArray(config.index_codecs) ? (config.index_codecs as Codec[]) : [];
    const names = index.map((c) => c.name).join(',');
    const endian = index[0]?.configuration?.endian;
    if ((names !== 'bytes' && names !== 'bytes,crc32c') || (endian !== undefined && endian !== 'little')) {
      throw this.fail(array, `has index codecs ${JSON.stringify(config.index_codecs)}; ohlc-native reads "bytes" (little-endian), optionally followed by "crc32c"`);
    }
    const compressor = this.compressorOf(array, config.codecs);
    const chunkBytes = inner.reduce((a, b) => a * b, size);
    return {
      bytes: chunkBytes,
      compressor,
      shard: { slots: outer.reduce((n, c, d) => n * (c / inner[d]), 1), checksum: names.endsWith('crc32c'), chunkBytes, expansion: EXPANSION[compressor] },
    };
  }

  private checkChunk(key: string, array: string, bytes: Uint8Array): void {
    const bound = this.bounds.get(array);
    if (!bound || bound.shard || bytes.length * EXPANSION[bound.compressor] >= bound.bytes) return;
    throw new OhlcError(
      ErrorCode.storage,
      `${join(this.path, key)} holds ${bytes.length} bytes, too few for a chunk of ${bound.bytes} bytes (compressor ${bound.compressor}): ` +
        `the store is damaged, or its array metadata was edited`,
    );
  }
}
