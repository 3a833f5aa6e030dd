// The store the Zarr reader hands zarrita: a store directory's files, each checked before zarrita
// trusts it (and each a regular file: a FIFO would block the read forever). zarrita sizes a chunk's buffer from the .zarray alone, so an edited .zarray could
// make it allocate far more than the files hold; here an array's chunks must be positive sizes,
// its compressor one whose expansion is bounded (zlib, gzip or none), and every chunk file large
// enough to decode to the chunk it claims to be.
import { join } from 'node:path';
import type { AbsolutePath, AsyncReadable, GetOptions } from '@zarrita/storage';
import type FileSystemStore from '@zarrita/storage/fs';
import { OhlcError, ErrorCode } from '../errors.js';
import { MAX_DEFLATE_EXPANSION } from '../limits.js';
import { checkRegularFile } from '../util/files.js';

/** Bytes one stored byte can decode to, by compressor. */
const EXPANSION: Record<string, number> = { zlib: MAX_DEFLATE_EXPANSION, gzip: MAX_DEFLATE_EXPANSION, none: 1 };
const READABLE = Object.keys(EXPANSION);

interface ChunkBound {
  /** Decoded bytes of one chunk. */
  bytes: number;
  compressor: string;
}

function isPositiveInteger(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

/** A .zarray list as messages show shapes: [30, 48, 80]. */
function listText(value: unknown): string {
  return Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(', ')}]` : String(JSON.stringify(value));
}

/** Bytes per element of a numpy dtype string ('<f8', '|u1'), or undefined for kinds zarrita must judge. */
function itemSize(dtype: unknown): number | undefined {
  const m = typeof dtype === 'string' ? /^[<>|]?[biuf](\d+)$/.exec(dtype) : null;
  return m ? Number(m[1]) : undefined;
}

export class CheckedZarrStore implements AsyncReadable {
  /** By array name, from its .zarray. */
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
    // Keys are /<array>/<file>; the root's own .zgroup and .zattrs need no check.
    const parts = key.split('/');
    if (!bytes || parts.length < 3) return bytes;
    const array = parts[1];
    const file = parts[parts.length - 1];
    if (file === '.zarray') this.bounds.set(array, this.chunkBound(array, bytes));
    else if (!file.startsWith('.')) this.checkChunk(key, array, bytes);
    return bytes;
  }

  private fail(array: string, problem: string): OhlcError {
    return new OhlcError(ErrorCode.storage, `${this.path}: array '${array}' ${problem}`);
  }

  private chunkBound(array: string, bytes: Uint8Array): ChunkBound {
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw this.fail(array, `has a .zarray that is not JSON (${(err as Error).message})`);
    }
    const { shape, chunks, compressor } = meta;
    if (!Array.isArray(chunks) || !Array.isArray(shape) || chunks.length !== shape.length || !chunks.every(isPositiveInteger)) {
      throw this.fail(array, `has chunks ${listText(chunks)}: chunk sizes must be positive whole numbers, one per dimension of its shape ${listText(shape)}`);
    }
    const codec = compressor === null ? 'none' : String((compressor as { id?: unknown } | undefined)?.id);
    if (!(codec in EXPANSION)) throw this.fail(array, `is compressed with "${codec}"; ohlc-native reads ${READABLE.slice(0, -1).join(', ')} or ${READABLE.at(-1)}`);
    const size = itemSize(meta.dtype) ?? 0;
    return { bytes: (chunks as number[]).reduce((a, b) => a * b, size), compressor: codec };
  }

  private checkChunk(key: string, array: string, bytes: Uint8Array): void {
    const bound = this.bounds.get(array);
    if (!bound || bytes.length * EXPANSION[bound.compressor] >= bound.bytes) return;
    throw new OhlcError(
      ErrorCode.storage,
      `${join(this.path, key)} holds ${bytes.length} bytes, too few for a chunk of ${bound.bytes} bytes (compressor ${bound.compressor}): ` +
        `the store is damaged, or its .zarray was edited`,
    );
  }
}
