// What stands at an output path before a writer replaces it. Only a dataset this package wrote
// (its metadata names the generator) is ever replaced; a folder of other files, a file of another
// kind, or anything unreadable is left alone, whatever the overwrite setting says. Also: moving a
// finished batch set into place as a whole, and sweeping what killed writers left behind.
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { packageInfo } from '../info.js';
import { exists, isTemporaryOf, removeQuietly, temporaryPath } from '../util/files.js';
import { batchOutputPath, IS_DIRECTORY, singleOutputPath, type StorageFormat } from './formats.js';
import { openDatasetFile } from './readers.js';

export type ExistingOutput =
  | { kind: 'none'; path: string }
  | { kind: 'dataset'; path: string; metadata: Record<string, unknown> }
  | { kind: 'other'; path: string; what: string };

function isOurs(metadata: Record<string, unknown>): boolean {
  return typeof metadata.generator === 'string' && metadata.generator.startsWith(`${packageInfo().name} `);
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The metadata of a file or folder that looks like `format`'s output, or null. */
async function readMetadata(path: string, format: StorageFormat): Promise<Record<string, unknown> | null> {
  switch (format) {
    case 'zarr': {
      // Format 3 keeps the group's attributes in its zarr.json, format 2 in .zattrs.
      const v3 = await readJson(join(path, 'zarr.json'));
      if (v3) return v3.attributes !== null && typeof v3.attributes === 'object' && !Array.isArray(v3.attributes) ? (v3.attributes as Record<string, unknown>) : null;
      return readJson(join(path, '.zattrs'));
    }
    case 'png':
    case 'jpeg':
      return readJson(join(path, 'metadata.json'));
    case 'hdf5':
    case 'npz':
      return openDatasetFile(path, format).then(
        (opened) => opened.metadata,
        () => null,
      );
  }
}

/** What is at `path`, an output of `format`. */
export async function inspectOutput(path: string, format: StorageFormat): Promise<ExistingOutput> {
  const info = await stat(path).catch(() => null);
  if (!info) return (await exists(path)) ? { kind: 'other', path, what: 'a link to nothing' } : { kind: 'none', path };
  if (info.isDirectory() !== IS_DIRECTORY[format]) {
    return { kind: 'other', path, what: info.isDirectory() ? 'a folder' : info.isFile() ? 'a file' : 'not a regular file' };
  }
  if (!info.isDirectory() && !info.isFile()) return { kind: 'other', path, what: 'not a regular file (a FIFO, socket or device)' };
  const metadata = await readMetadata(path, format);
  if (metadata && isOurs(metadata)) return { kind: 'dataset', path, metadata };
  return { kind: 'other', path, what: info.isDirectory() ? 'a folder that is not an ohlc-native dataset' : `a file that is not an ohlc-native ${format} dataset` };
}

/** Every output a dataset at `path` consists of now: the single output, and a batch set's files. */
export async function existingOutputs(path: string, format: StorageFormat): Promise<{ single: ExistingOutput; batch: ExistingOutput[] }> {
  const single = await inspectOutput(singleOutputPath(path, format), format);
  const batch: ExistingOutput[] = [];
  for (let i = 0; ; i++) {
    const found = await inspectOutput(batchOutputPath(path, format, i), format);
    if (found.kind === 'none') break;
    batch.push(found);
  }
  return { single, batch };
}

/**
 * Moves a finished output from `staged` to `final`, replacing what is there (already checked to be
 * ours). A file is replaced in one rename; a folder is moved aside first (rename cannot replace a
 * non-empty directory), then removed.
 */
export async function moveIntoPlace(staged: string, final: string): Promise<void> {
  const old = await stat(final).catch(() => null);
  if (!old?.isDirectory()) {
    await rename(staged, final);
    return;
  }
  const aside = temporaryPath(final);
  await rename(final, aside);
  try {
    await rename(staged, final);
  } catch (err) {
    await rename(aside, final).catch(() => undefined);
    throw err;
  }
  await removeQuietly(aside);
}

function ownerAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporaries of `final` whose writer is gone (a process killed mid-write): the pid in
 * the name runs no more on this machine. A writer's own temporaries, and live ones, stay.
 */
export async function sweepDeadTemporaries(final: string): Promise<string[]> {
  const dir = dirname(final);
  const name = basename(final);
  const removed: string[] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (!isTemporaryOf(entry, name)) continue;
    const pid = Number(/^\.(\d+)-/.exec(entry.slice(name.length + 1))?.[1]);
    if (!Number.isSafeInteger(pid) || ownerAlive(pid)) continue;
    await removeQuietly(join(dir, entry));
    removed.push(join(dir, entry));
  }
  return removed;
}
