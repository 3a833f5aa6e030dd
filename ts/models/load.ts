// loadModel: a model file back into memory, verified. The sidecar says what the file must inflate
// to (size and SHA-256); anything else is refused with the file's path and both values.
//
// Loading never executes anything from the file: bytes come back as a Uint8Array and JSON is read
// with JSON.parse (no reviver, no eval, no require/import), so a model file from an untrusted
// source can at worst be rejected or be wrong data, never run code.
import type { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { abortError, invalidParameterError, isAbortError, throwIfAborted } from '../errors.js';
import { checkKnownKeys, checkOptionalObject, checkSignal, checkString } from '../validate.js';
import { checkRegularFile } from '../util/files.js';
import { sha256HexAsync } from '../util/hash.js';
import { gunzip } from './codec.js';
import { errnoCode, ModelErrorCode, modelError } from './errors.js';
import type { JsonValue } from './json.js';
import { listModelEntries } from './list.js';
import { readMetadata, type ModelMetadata } from './metadata.js';
import { parseModelFileName, sidecarFileName, type ModelFormat } from './naming.js';

export interface LoadModelOptions {
  signal?: AbortSignal;
}

interface LoadedCommon {
  name: string;
  /** Absolute path of the model file. */
  path: string;
}

/** A loaded model; `metadata.format` tells which kind `model` is. */
export type LoadedModel =
  | (LoadedCommon & { model: Uint8Array; metadata: ModelMetadata & { format: 'bytes' } })
  | (LoadedCommon & { model: JsonValue; metadata: ModelMetadata & { format: 'json' } });

type Target = { dir: string; latest: true } | { dir: string; latest: false; name: string; format?: ModelFormat };

const NAME_EXPECTED = `'latest' or a model name (model_YYYYMMDD_HHMMSS_mmm[_n], optionally with .bin.gz/.json.gz) inside dir`;
const PATH_EXPECTED = `the path of a model file (model_YYYYMMDD_HHMMSS_mmm[_n].bin.gz or .json.gz), or 'latest' or a name together with dir`;

/**
 * Where the model is. With `dir`, `ref` must be 'latest' or a bare name: it can hold no path
 * separator, and a name matches /^model_\d{8}_\d{6}_\d{3}(_\d+)?$/, so nothing can resolve outside
 * `dir`. Without `dir`, `ref` is a path to the model file (or its sidecar).
 */
function locate(ref: string, dir: string | undefined): Target {
  if (dir !== undefined) {
    checkString('dir', dir, 'a directory path');
    if (ref === 'latest') return { dir: resolve(dir), latest: true };
    const parsed = /[/\\]/.test(ref) ? undefined : parseModelFileName(ref);
    if (!parsed) throw invalidParameterError('model', NAME_EXPECTED, ref, true);
    return { dir: resolve(dir), latest: false, ...parsed };
  }
  if (ref === 'latest') throw invalidParameterError('dir', `a directory path (needed to find 'latest')`, dir);
  const parsed = parseModelFileName(basename(ref));
  if (!parsed) throw invalidParameterError('model', PATH_EXPECTED, ref, true);
  return { dir: resolve(dirname(ref)), latest: false, ...parsed };
}

async function readVerified(path: string, metadata: ModelMetadata, signal?: AbortSignal): Promise<Buffer> {
  let compressed: Buffer;
  try {
    await checkRegularFile(path, 'Model file', ModelErrorCode.notFound);
    compressed = await readFile(path, { signal });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw modelError(ModelErrorCode.notFound, `Model file ${path} is missing (its metadata sidecar exists)`, err);
    throw err;
  }
  throwIfAborted(signal);
  let raw: Buffer;
  try {
    raw = await gunzip(compressed, metadata.bytes);
  } catch (err) {
    const reason =
      errnoCode(err) === 'ERR_BUFFER_TOO_LARGE'
        ? `it inflates to more than the ${metadata.bytes} bytes its metadata records`
        : `it does not decompress (${(err as Error).message}); the file has ${compressed.length} bytes, the metadata records ${metadata.compressed_bytes}`;
    throw modelError(ModelErrorCode.corrupt, `Model file ${path} is corrupt or truncated: ${reason}; expected sha256 ${metadata.sha256}`, err);
  }
  throwIfAborted(signal);
  if (raw.length !== metadata.bytes) {
    throw modelError(ModelErrorCode.corrupt, `Model file ${path} inflates to ${raw.length} bytes, but its metadata records ${metadata.bytes}`);
  }
  const actual = await sha256HexAsync(raw, signal);
  if (actual !== metadata.sha256) {
    throw modelError(ModelErrorCode.corrupt, `Model file ${path} fails its SHA-256 check: expected ${metadata.sha256}, actual ${actual}`);
  }
  return raw;
}

/** The bytes as a plain Uint8Array that owns its memory (a small Buffer can be a view of a shared pool). */
function ownedBytes(raw: Buffer): Uint8Array {
  if (raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength) return new Uint8Array(raw.buffer);
  return new Uint8Array(raw);
}

async function load(target: Target, signal?: AbortSignal): Promise<LoadedModel> {
  let name: string;
  let metadata: ModelMetadata;
  if (target.latest) {
    const newest = (await listModelEntries(target.dir, signal))[0];
    if (!newest) throw modelError(ModelErrorCode.notFound, `No models in ${target.dir}`);
    ({ name, metadata } = newest);
  } else {
    name = target.name;
    const sidecar = join(target.dir, sidecarFileName(name));
    metadata = await readMetadata(sidecar, name, signal);
    if (target.format !== undefined && metadata.format !== target.format) {
      throw modelError(ModelErrorCode.badMetadata, `Metadata sidecar ${sidecar} records format "${metadata.format}" and file ${metadata.file}, not the file asked for`);
    }
  }
  const path = join(target.dir, metadata.file);
  const raw = await readVerified(path, metadata, signal);
  if (metadata.format === 'bytes') return { name, path, model: ownedBytes(raw), metadata: metadata as ModelMetadata & { format: 'bytes' } };
  let model: JsonValue;
  try {
    model = JSON.parse(raw.toString('utf8')) as JsonValue;
  } catch (err) {
    throw modelError(ModelErrorCode.corrupt, `Model file ${path} passes its SHA-256 check but is not JSON: ${(err as Error).message}`, err);
  }
  return { name, path, model, metadata: metadata as ModelMetadata & { format: 'json' } };
}

/**
 * Loads and verifies a model: `loadModel(path)` with the path saveModel returned (or the sidecar's
 * path), `loadModel('latest', dir)` for the newest by created_at (ties broken by name), or
 * `loadModel(name, dir)` for a name as listModels reports it.
 *
 * The content is checked against the sidecar (size and SHA-256) before it is returned. Nothing in
 * the file is ever executed: bytes are returned as a Uint8Array, JSON is parsed with JSON.parse.
 */
export function loadModel(model: string, dir?: string, options?: LoadModelOptions): Promise<LoadedModel>;
export function loadModel(model: string, options?: LoadModelOptions): Promise<LoadedModel>;
export async function loadModel(model: string, dirOrOptions?: string | LoadModelOptions, maybeOptions?: LoadModelOptions): Promise<LoadedModel> {
  const optionsGiven = typeof dirOrOptions === 'object' && dirOrOptions !== null && maybeOptions === undefined;
  const dir = optionsGiven ? undefined : (dirOrOptions as string | undefined);
  const options = optionsGiven ? dirOrOptions : maybeOptions;
  checkString('model', model, `a model file path, a model name or 'latest'`);
  const target = locate(model, dir);
  const opts = checkOptionalObject('options', options);
  checkKnownKeys('options', opts, ['signal']);
  const signal = checkSignal('options.signal', opts.signal);
  throwIfAborted(signal);
  try {
    return await load(target, signal);
  } catch (err) {
    if (isAbortError(err)) throw abortError(signal);
    throw err;
  }
}
