// File steps every writer of the package shares (datasets, the archive cache, models): a file is
// written under a hidden temporary name beside its final one and renamed into place only when
// complete, so a final name never holds a partial file; temporaries a killed process left behind
// are recognised by their form and swept. Readers check that what they open is a regular file.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, OhlcError, type ErrorCodeValue } from '../errors.js';

/** Every temporary file or folder of the package ends in this (and .gitignore ignores it). */
export const TEMP_SUFFIX = '.partial';

/** A hidden temporary name beside `finalPath`: `.<name>.<pid>-<random>.partial`, unique per call. */
export function temporaryPath(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}-${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

/** Whether `name` (a file name in the same folder) is a temporary of `finalName`, from any process. */
export function isTemporaryOf(name: string, finalName: string): boolean {
  return name.startsWith(`.${finalName}.`) && /^\.\d+-[0-9a-f]+\.partial(\.[^/]*)?$/.test(name.slice(finalName.length + 1));
}

/** Whether anything (file, folder, link) has that name; other errors than ENOENT are thrown. */
export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
      throw err;
    },
  );
}

/** What a directory entry is, in words. */
function kindOf(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'neither a file nor a directory';
}

async function checkKind(path: string, what: string, code: ErrorCodeValue, wanted: 'file' | 'directory'): Promise<Stats> {
  const s = await stat(path);
  if (wanted === 'file' ? s.isFile() : s.isDirectory()) return s;
  throw new OhlcError(code, `${what} ${path} is ${kindOf(s)}, not ${wanted === 'file' ? 'a regular file' : 'a directory'}`);
}

/**
 * Throws an OhlcError with `code` ("<what> <path> is a FIFO (named pipe), not a regular file")
 * unless `path`, links followed, is a regular file: reading a FIFO blocks until something writes
 * to it, and a socket or a device never ends, so anything else is refused before it is opened.
 * Errors of stat itself (ENOENT, EACCES) are thrown as they are, for the caller to word.
 */
export function checkRegularFile(path: string, what: string, code: ErrorCodeValue): Promise<Stats> {
  return checkKind(path, what, code, 'file');
}

/** Like checkRegularFile, for a path that must be a directory (a Zarr store, a picture folder). */
export function checkDirectory(path: string, what: string, code: ErrorCodeValue): Promise<Stats> {
  return checkKind(path, what, code, 'directory');
}

/**
 * Throws an invalid-argument OhlcError naming `flag` unless a file can be written at `path`: its
 * folder exists, and the path is not a folder or a special file (a rename onto a folder fails with
 * EISDIR; a FIFO would be replaced by a regular file without a word). Checked before any work, so
 * an export or a picture is not made only to fail at the last step.
 */
export async function checkOutputFile(path: string, flag: string): Promise<void> {
  const dir = dirname(path);
  const folder = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new OhlcError(ErrorCode.invalidArgument, `${flag} ${path}: the folder ${dir} does not exist (create it first)`);
    throw err;
  });
  if (!folder.isDirectory()) throw new OhlcError(ErrorCode.invalidArgument, `${flag} ${path}: ${dir} is ${kindOf(folder)}, not a folder`);
  const target = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (target?.isDirectory()) throw new OhlcError(ErrorCode.invalidArgument, `${flag} ${path} is a directory: give the name of a file (inside it, say)`);
  if (target && !target.isFile()) throw new OhlcError(ErrorCode.invalidArgument, `${flag} ${path} is ${kindOf(target)}, not a regular file`);
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}

/** Flushes a directory's entries (renames); platforms that cannot open directories skip it. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot fsync a directory; the rename is as durable as the platform makes it.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Creates `path` (failing if it exists), writes `bytes` and, when `durable`, flushes them to disk. */
export async function writeNewFile(path: string, bytes: Uint8Array, durable = true): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `bytes` to `path` through a temporary file and a rename: readers see the old content or
 * the new, never a part. `durable` also fsyncs the file before and the folder after the rename.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: { durable?: boolean } = {}): Promise<void> {
  const temp = temporaryPath(path);
  try {
    await writeNewFile(temp, bytes, options.durable === true);
    await rename(temp, path);
  } catch (err) {
    await removeQuietly(temp);
    throw err;
  }
  if (options.durable) await syncDirectory(dirname(path));
}

/** A write takes seconds at most: a temporary this old was left by a process that died mid-write. */
export const STALE_TEMP_MS = 10 * 60_000;

/** Removes temporaries of `finalName` in `dir` older than `olderThanMs` (another run may be writing younger ones). */
export async function removeStaleTemporaries(dir: string, finalName: string, olderThanMs = STALE_TEMP_MS): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!isTemporaryOf(name, finalName)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info && Date.now() - info.mtimeMs > olderThanMs) {
      await removeQuietly(path);
      removed.push(path);
    }
  }
  return removed;
}

/** Bytes a file, or a folder with everything in it, takes (0 when it does not exist). */
export async function pathBytes(path: string): Promise<number> {
  const info = await lstat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  const names = await readdir(path).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) total += await pathBytes(join(path, name));
  return total;
}
