// listModels: every complete model in a directory, newest first. A model is its sidecar plus its
// model file; anything else (junk, temporary files, a half-written save, a sidecar that does not
// parse) is skipped, never an error.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OhlcError, throwIfAborted } from '../errors.js';
import { checkKnownKeys, checkOptionalObject, checkSignal, checkString } from '../validate.js';
import { errnoCode } from './errors.js';
import { readMetadata, type ModelMetadata } from './metadata.js';
import { compareModelNames, nameOfSidecar, sidecarFileName } from './naming.js';

export interface ModelEntry {
  name: string;
  /** Absolute path of the model file. */
  path: string;
  metadata: ModelMetadata;
}

export interface ListModelsOptions {
  signal?: AbortSignal;
}

/** Sidecars read at once: enough to hide latency, few enough to stay far from the fd limit. */
const CONCURRENT_READS = 16;

/** Newest first: by created_at, then by name (the counter orders saves within one millisecond). */
export function newestFirst(a: ModelEntry, b: ModelEntry): number {
  return Date.parse(b.metadata.created_at) - Date.parse(a.metadata.created_at) || compareModelNames(b.name, a.name);
}

async function readEntry(dir: string, name: string, signal?: AbortSignal): Promise<ModelEntry | undefined> {
  try {
    const metadata = await readMetadata(join(dir, sidecarFileName(name)), name, signal);
    const path = join(dir, metadata.file);
    if (!(await stat(path)).isFile()) return undefined;
    return { name, path, metadata };
  } catch (err) {
    if (err instanceof OhlcError) return undefined;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'EISDIR') return undefined;
    throw err;
  }
}

export async function listModelEntries(dir: string, signal?: AbortSignal): Promise<ModelEntry[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const names = files.map(nameOfSidecar).filter((n): n is string => n !== undefined);
  const entries: ModelEntry[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      throwIfAborted(signal);
      const entry = await readEntry(dir, names[next++], signal);
      if (entry) entries.push(entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_READS, names.length) }, worker));
  throwIfAborted(signal);
  return entries.sort(newestFirst);
}

/** The models in `dir`, newest first; [] when the directory does not exist. */
export async function listModels(dir: string, options?: ListModelsOptions): Promise<ModelEntry[]> {
  checkString('dir', dir, 'a directory path');
  const opts = checkOptionalObject('options', options);
  checkKnownKeys('options', opts, ['signal']);
  const signal = checkSignal('options.signal', opts.signal);
  throwIfAborted(signal);
  return listModelEntries(resolve(dir), signal);
}
