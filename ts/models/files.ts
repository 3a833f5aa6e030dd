// File steps of an atomic save: a new file under a temporary name (exclusive create, fsync), then
// a rename into place, then an fsync of the directory so the rename itself survives a crash.
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** A hidden name beside `finalName`, unique to this process and call; never listed as a model. */
export function tempPathFor(dir: string, finalName: string): string {
  return join(dir, `.${finalName}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Creates `path` (failing if it exists), writes `bytes` and flushes them to disk. */
export async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates an empty file at `path`; false when something already has that name. */
export async function createExclusive(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o644);
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
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

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}
