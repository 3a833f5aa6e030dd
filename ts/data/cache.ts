// The archive cache: <root>/<Binance path>, each archive beside its .CHECKSUM. Files are written
// under a temporary name and renamed into place, the archive last and only once verified, so a
// final name never holds a partial or unverified file. Reads re-verify against the cached
// checksum (a large one as a stream, never held whole); a corrupt archive (a torn write after a
// power loss, a stray edit) is deleted so it gets fetched again. Temporary files a killed
// process left behind are swept on the next write.
import { createHash } from 'node:crypto';
import { access, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ErrorCode, OhlcError } from '../errors.js';
import { removeQuietly, removeStaleTemporaries, temporaryPath, writeFileAtomic } from '../util/files.js';
import { sha256File, sha256Hex } from '../util/hash.js';
import { checksumName, type ArchiveRef } from './binance.js';
import type { DataLogger } from './types.js';

export interface CachedArchive {
  /** The archive's bytes; null for one above WHOLE_READ_BYTES, which is read from `path` as needed. */
  data: Buffer | null;
  sha256: string;
  path: string;
  /** Its size in bytes. */
  size: number;
}

/**
 * Archives up to this size are read whole (one read, then hashed and parsed from memory: every
 * 1m month is ~3 MB); larger ones (a month of 1s candles: ~140 MB) are hashed as a stream and
 * parsed from the file, so the cache never holds them in memory.
 */
export const WHOLE_READ_BYTES = 32 << 20;

const CHECKSUM_LINE = /^([0-9a-fA-F]{64}) [ *]?(\S+)\s*$/;

/**
 * The hash in a Binance .CHECKSUM file: "<sha256 hex>  <file name>", maybe without a final
 * newline. Throws when the text is anything else or names another file.
 */
export function parseChecksum(text: string, archiveName: string): string {
  const m = CHECKSUM_LINE.exec(text.replace(/^\uFEFF/, '').trim());
  if (!m) throw new OhlcError(ErrorCode.checksum, `${checksumName(archiveName)} is not "<sha256>  <file name>": ${JSON.stringify(text.slice(0, 100))}`);
  if (m[2] !== archiveName) throw new OhlcError(ErrorCode.checksum, `${checksumName(archiveName)} is for another file: ${JSON.stringify(m[2])}`);
  return m[1].toLowerCase();
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export class ArchiveCache {
  readonly root: string;

  /** wholeReadBytes: WHOLE_READ_BYTES (tests use smaller ones). */
  constructor(root: string, private readonly logger: DataLogger, private readonly wholeReadBytes = WHOLE_READ_BYTES) {
    this.root = resolve(root);
  }

  /** The cached archive's path. Refs are built from validated parts; this re-checks containment. */
  pathOf(ref: ArchiveRef): string {
    const path = join(this.root, ...ref.path.split('/'));
    if (!path.startsWith(this.root + sep)) throw new OhlcError(ErrorCode.internal, `archive path escapes the cache: ${ref.path}`);
    return path;
  }

  /** Whether both the archive and its checksum are there (not verified). */
  async has(ref: ArchiveRef): Promise<boolean> {
    const path = this.pathOf(ref);
    try {
      await Promise.all([access(path), access(checksumName(path))]);
      return true;
    } catch {
      return false;
    }
  }

  /** The verified cached archive, or null (absent, or corrupt and now deleted). */
  async read(ref: ArchiveRef): Promise<CachedArchive | null> {
    const path = this.pathOf(ref);
    let data: Buffer | null;
    let size: number;
    let sum: string;
    try {
      size = (await stat(path)).size;
      data = size > this.wholeReadBytes ? null : await readFile(path);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    try {
      sum = await readFile(checksumName(path), 'utf8');
    } catch (err) {
      if (!isMissing(err)) throw err;
      this.logger.warn('cached archive has no .CHECKSUM beside it; fetching it again', { file: ref.name });
      await this.remove(ref);
      return null;
    }
    let expected: string;
    try {
      expected = parseChecksum(sum, ref.name);
    } catch (err) {
      this.logger.warn('cached .CHECKSUM is unreadable; fetching the archive again', { file: ref.name, reason: (err as Error).message });
      await this.remove(ref);
      return null;
    }
    let actual: string;
    try {
      actual = data ? sha256Hex(data) : await sha256File(path);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    if (actual !== expected) {
      this.logger.warn('cached archive does not match its checksum; deleting it and fetching it again', { file: ref.name, expected, actual });
      await this.remove(ref);
      return null;
    }
    return { data, sha256: actual, path, size: data ? data.length : size };
  }

  /** Stores a verified archive and the checksum text it was verified against. */
  async commit(ref: ArchiveRef, archive: Uint8Array, checksum: Uint8Array): Promise<string> {
    const path = await this.prepare(ref);
    await writeFileAtomic(checksumName(path), checksum);
    await writeFileAtomic(path, archive);
    return path;
  }

  /** The archive's path, its folder made and cleared of temporaries an interrupted commit left. */
  private async prepare(ref: ArchiveRef): Promise<string> {
    const path = this.pathOf(ref);
    await mkdir(dirname(path), { recursive: true });
    await removeStaleTemporaries(dirname(path), ref.name);
    await removeStaleTemporaries(dirname(path), basename(checksumName(path)));
    return path;
  }

  /**
   * Stores an archive given as a stream of chunks (never whole in memory), hashed as it is
   * written; its checksum text, made from that hash, is committed before the archive's name.
   */
  async commitStream(ref: ArchiveRef, chunks: AsyncIterable<Uint8Array>, checksumFor: (sha256: string) => Uint8Array): Promise<{ path: string; sha256: string }> {
    const path = await this.prepare(ref);
    const temp = temporaryPath(path);
    const hash = createHash('sha256');
    try {
      const file = await open(temp, 'wx');
      try {
        for await (const chunk of chunks) {
          hash.update(chunk);
          await file.write(chunk);
        }
      } finally {
        await file.close();
      }
      const sha256 = hash.digest('hex');
      await writeFileAtomic(checksumName(path), checksumFor(sha256));
      await rename(temp, path);
      return { path, sha256 };
    } catch (err) {
      await removeQuietly(temp);
      throw err;
    }
  }

  async remove(ref: ArchiveRef): Promise<void> {
    const path = this.pathOf(ref);
    await rm(path, { force: true });
    await rm(checksumName(path), { force: true });
  }
}
