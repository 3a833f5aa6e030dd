// listModels: every complete model in a directory, newest first. A model is its sidecar plus its
// model file; anything else (junk, temporary files, a half-written save, a sidecar that does not
// parse) is skipped, never an error; a damaged one is reported through onSkipped.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { invalidParameterError, OhlcError, throwIfAborted } from '../errors.js';
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
  /** Called for each sidecar that is there but unusable (not JSON, malformed, its model file gone); it is left out. */
  onSkipped?: (skipped: SkippedModel) => void;
}

/** Sidecars read at once: enough to hide latency, few enough to stay far from the fd limit. */
const CONCURRENT_READS = 16;

/** Newest first: by created_at, then by name (the counter orders saves within one millisecond). */
export function newestFirst(a: ModelEntry, b: ModelEntry): number {
  return Date.parse(b.metadata.created_at) - Date.parse(a.metadata.created_at) || compareModelNames(b.name, a.name);
}

/** A sidecar that is there but cannot be used: its model name and why. */
export interface SkippedModel {
  name: string;
  reason: string;
}

async function readEntry(dir: string, name: string, signal?: AbortSignal, onSkipped?: (skipped: SkippedModel) => void): Promise<ModelEntry | undefined> {
  const sidecar = join(dir, sidecarFileName(name));
  try {
    const metadata = await readMetadata(sidecar, name, signal);
    const path = join(dir, metadata.file);
    if (!(await stat(path)).isFile()) {
      onSkipped?.({ name, reason: `its model file ${path} is not a regular file` });
      return undefined;
    }
    return { name, path, metadata };
  } catch (err) {
    const code = errnoCode(err);
    if (!(err instanceof OhlcError) && code !== 'ENOENT' && code !== 'EISDIR') throw err;
    // An empty sidecar is a save in progress (its name reserved): no model yet, and nothing wrong.
    // Any other that does not read is a damaged model, skipped but said to whoever asks.
    const size = await stat(sidecar).then((s) => s.size, () => 0);
    if (size > 0) onSkipped?.({ name, reason: code === 'ENOENT' ? `its model file is missing` : (err as Error).message });
    return undefined;
  }
}

export async function listModelEntries(dir: string, signal?: AbortSignal, onSkipped?: (skipped: SkippedModel) => void): Promise<ModelEntry[]> {
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
      const entry = await readEntry(dir, names[next++], signal, onSkipped);
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
  checkKnownKeys('options', opts, ['signal', 'onSkipped']);
  const signal = checkSignal('options.signal', opts.signal);
  if (opts.onSkipped !== undefined && typeof opts.onSkipped !== 'function') throw invalidParameterError('options.onSkipped', 'a function', opts.onSkipped);
  throwIfAborted(signal);
  return listModelEntries(resolve(dir), signal, opts.onSkipped as ListModelsOptions['onSkipped']);
}
