// saveModel: bytes or JSON -> <dir>/model_<UTC time>.{bin,json}.gz + <name>_metadata.json.
//
// Atomic and never overwriting: the name is reserved by creating its sidecar exclusively (an empty
// sidecar is not a model, so readers skip it); the compressed model is written under a temporary
// name, fsynced and renamed into place; the real sidecar goes in last, by the same steps. A failed
// or aborted save removes everything it created.
import { Buffer } from 'node:buffer';
import { mkdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { invalidParameterError, throwIfAborted } from '../errors.js';
import { packageInfo } from '../info.js';
import { checkKnownKeys, checkOptionalObject, checkSignal, checkString } from '../validate.js';
import { sha256HexAsync } from '../util/hash.js';
import { gzip } from './codec.js';
import { ModelErrorCode, modelError } from './errors.js';
import { exists, removeQuietly, syncDirectory, temporaryPath, writeNewFile } from '../util/files.js';
import { createExclusive } from './files.js';
import { checkJsonObject, checkJsonValue } from './json.js';
import type { ModelMetadata } from './metadata.js';
import { MODEL_FORMATS, modelFileName, modelName, nameStem, sidecarFileName, type ModelFormat } from './naming.js';

export interface SaveModelOptions {
  /** The resolved configuration the model was trained with; stored in the sidecar as `config`. */
  config?: Record<string, unknown>;
  /** A human name for the model (names stay time-ordered: this is a label, e.g. "cnn-h5"). */
  label?: string;
  /** What the model was trained on (datasetLink gives it for a dataset path); stored as `dataset`. */
  dataset?: Record<string, unknown>;
  signal?: AbortSignal;
}

const MODEL_EXPECTED = 'bytes (a Uint8Array or Buffer) or a JSON-serialisable object or array';
/** Names tried per save before giving up; only other writers racing on one millisecond use them. */
const MAX_NAME_ATTEMPTS = 10_000;

function encodeModel(model: unknown): { format: ModelFormat; bytes: Buffer } {
  // A copy: the caller may change its array while the hash and the compression run.
  if (model instanceof Uint8Array) return { format: 'bytes', bytes: Buffer.from(model) };
  // A bare string is refused rather than stored: it is far more often a file path meant as bytes.
  if (typeof model !== 'object' || model === null || ArrayBuffer.isView(model) || model instanceof ArrayBuffer) {
    throw invalidParameterError('model', MODEL_EXPECTED, model);
  }
  checkJsonValue('model', model);
  return { format: 'json', bytes: Buffer.from(JSON.stringify(model), 'utf8') };
}

// Saves in this process that land on one millisecond take successive counters without trying
// taken names first; the exclusive create still guards against other processes.
let lastStem = '';
let lastCounter = -1;

function nextName(stem: string): string {
  if (stem !== lastStem) {
    lastStem = stem;
    lastCounter = -1;
  }
  lastCounter += 1;
  return modelName(stem, lastCounter);
}

/** A label: printable, one line, short (it is shown in lists). */
function checkLabel(value: unknown): string {
  const label = checkString('options.label', value, 'a model label');
  if (label.length > 200 || /[\u0000-\u001f\u007f]/.test(label)) throw invalidParameterError('options.label', 'a label of at most 200 printable characters on one line', value, true);
  return label;
}

/** Reserves a free name for `now` in `dir` by creating its (empty) sidecar. */
async function reserveName(dir: string, now: Date): Promise<string> {
  const stem = nameStem(now);
  for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
    const name = nextName(stem);
    const sidecar = join(dir, sidecarFileName(name));
    if (!(await createExclusive(sidecar))) continue;
    // A model file whose sidecar was lost still owns its name: leave it alone and move on.
    const orphans = await Promise.all(MODEL_FORMATS.map((f) => exists(join(dir, modelFileName(name, f)))));
    if (!orphans.includes(true)) return name;
    await removeQuietly(sidecar);
  }
  throw modelError(ModelErrorCode.nameTaken, `No free model name for ${stem} in ${dir} after ${MAX_NAME_ATTEMPTS} tries`);
}

/**
 * Saves `model` into `dir` (created if missing) and returns the model file's absolute path.
 *
 * `model` is either bytes (a Uint8Array or Buffer, e.g. an ONNX file), stored as `.bin.gz`, or a
 * JSON-serialisable plain object or array (of plain objects, arrays, strings, finite numbers,
 * booleans and null), stored as `.json.gz`. `metrics` is a plain object of JSON values recorded in the sidecar.
 */
export async function saveModel(model: unknown, dir: string, metrics?: Record<string, unknown>, options?: SaveModelOptions): Promise<string> {
  const { format, bytes } = encodeModel(model);
  checkString('dir', dir, 'a directory path');
  const metricsValue = checkJsonObject('metrics', metrics === undefined ? {} : metrics);
  const opts = checkOptionalObject('options', options);
  checkKnownKeys('options', opts, ['config', 'label', 'dataset', 'signal']);
  const config = opts.config === undefined ? undefined : checkJsonObject('options.config', opts.config);
  const label = opts.label === undefined ? undefined : checkLabel(opts.label);
  const dataset = opts.dataset === undefined ? undefined : checkJsonObject('options.dataset', opts.dataset);
  const signal = checkSignal('options.signal', opts.signal);
  throwIfAborted(signal);

  const [sha256, compressed] = await Promise.all([sha256HexAsync(bytes, signal), gzip(bytes)]);
  throwIfAborted(signal);

  const absDir = resolve(dir);
  await mkdir(absDir, { recursive: true });
  const createdAt = new Date();
  const name = await reserveName(absDir, createdAt);
  const file = modelFileName(name, format);
  const modelPath = join(absDir, file);
  const sidecarPath = join(absDir, sidecarFileName(name));
  const metadata: ModelMetadata = {
    name,
    created_at: createdAt.toISOString(),
    format,
    bytes: bytes.length,
    compressed_bytes: compressed.length,
    sha256,
    metrics: metricsValue,
    ...(config === undefined ? {} : { config }),
    ...(label === undefined ? {} : { label }),
    ...(dataset === undefined ? {} : { dataset }),
    generator: packageInfo(),
    file,
  };

  // Everything this save has put on disk so far; removed if it does not finish.
  const ours = [sidecarPath];
  try {
    throwIfAborted(signal);
    const tempModel = temporaryPath(modelPath);
    ours.push(tempModel);
    await writeNewFile(tempModel, compressed);
    throwIfAborted(signal);
    await rename(tempModel, modelPath);
    ours.push(modelPath);
    // The model's rename must be durable before a sidecar can announce it.
    await syncDirectory(absDir);
    throwIfAborted(signal);
    const tempSidecar = temporaryPath(sidecarPath);
    ours.push(tempSidecar);
    await writeNewFile(tempSidecar, Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`, 'utf8'));
    throwIfAborted(signal);
    await rename(tempSidecar, sidecarPath);
  } catch (err) {
    await Promise.all(ours.map(removeQuietly));
    throw err;
  }
  await syncDirectory(absDir);
  return modelPath;
}
