// The `<name>_metadata.json` sidecar: what was saved, when, by what, and the hash that proves the
// model file still holds it. Read back strictly: a sidecar that does not match its own file name
// or lacks a field is refused, so a path inside it is never trusted.
import { readFile } from 'node:fs/promises';
import { checkRegularFile } from '../util/files.js';
import type { JsonValue } from './json.js';
import { errnoCode, ModelErrorCode, modelError } from './errors.js';
import { MODEL_FORMATS, isModelName, modelFileName, type ModelFormat } from './naming.js';

export interface ModelMetadata {
  name: string;
  /** ISO 8601 UTC, to the millisecond; the same instant the name encodes. */
  created_at: string;
  format: ModelFormat;
  /** Uncompressed size in bytes (UTF-8 JSON text for format 'json'). */
  bytes: number;
  /** Size of the gzip file. */
  compressed_bytes: number;
  /** SHA-256 of the uncompressed bytes, lowercase hex. */
  sha256: string;
  metrics: Record<string, JsonValue>;
  /** The resolved configuration the caller passed, if any. */
  config?: Record<string, JsonValue>;
  /** The caller's name for the model, if any. */
  label?: string;
  /** The dataset it was trained on (content hash, config hash, split rule, horizons, layout), if given. */
  dataset?: Record<string, JsonValue>;
  generator: { name: string; version: string };
  /** The model file's name, in the same directory as the sidecar. */
  file: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** What is wrong with a parsed sidecar for model `name`, or undefined when nothing is. */
function metadataProblem(meta: unknown, name: string): string | undefined {
  if (!isRecord(meta)) return 'it is not a JSON object';
  if (meta.name !== name) return `its name is ${JSON.stringify(meta.name)}, not ${JSON.stringify(name)}`;
  if (typeof meta.created_at !== 'string' || !ISO_UTC.test(meta.created_at) || Number.isNaN(Date.parse(meta.created_at))) {
    return 'created_at is not an ISO 8601 UTC time';
  }
  if (!(MODEL_FORMATS as readonly unknown[]).includes(meta.format)) return `format is ${JSON.stringify(meta.format)}, not "bytes" or "json"`;
  if (!isSize(meta.bytes)) return 'bytes is not a non-negative integer';
  if (!isSize(meta.compressed_bytes)) return 'compressed_bytes is not a non-negative integer';
  if (typeof meta.sha256 !== 'string' || !SHA256_HEX.test(meta.sha256)) return 'sha256 is not 64 lowercase hex digits';
  if (!isRecord(meta.metrics)) return 'metrics is not an object';
  if (meta.config !== undefined && !isRecord(meta.config)) return 'config is not an object';
  if (meta.label !== undefined && typeof meta.label !== 'string') return 'label is not a string';
  if (meta.dataset !== undefined && !isRecord(meta.dataset)) return 'dataset is not an object';
  const gen = meta.generator;
  if (!isRecord(gen) || typeof gen.name !== 'string' || typeof gen.version !== 'string') return 'generator is not { name, version }';
  const file = modelFileName(name, meta.format as ModelFormat);
  // The file is derived from the name, never taken from the sidecar: it cannot point elsewhere.
  if (meta.file !== file) return `file is ${JSON.stringify(meta.file)}, expected ${JSON.stringify(file)}`;
  return undefined;
}

/** Reads and checks the sidecar at `path` for model `name`; throws MODEL_NOT_FOUND or MODEL_METADATA_INVALID. */
export async function readMetadata(path: string, name: string, signal?: AbortSignal): Promise<ModelMetadata> {
  if (!isModelName(name)) throw modelError(ModelErrorCode.badMetadata, `${path} is not the sidecar of a model`);
  let text: string;
  try {
    await checkRegularFile(path, 'Metadata sidecar', ModelErrorCode.notFound);
    text = await readFile(path, { encoding: 'utf8', signal });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw modelError(ModelErrorCode.notFound, `Model ${name} has no metadata sidecar ${path}`, err);
    throw err;
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw modelError(ModelErrorCode.badMetadata, `Metadata sidecar ${path} is not valid JSON: ${(err as Error).message}`, err);
  }
  const problem = metadataProblem(meta, name);
  if (problem !== undefined) throw modelError(ModelErrorCode.badMetadata, `Metadata sidecar ${path} is malformed: ${problem}`);
  return meta as ModelMetadata;
}
