// The manifest: what a dataset was built from and what it holds, so anyone can verify it. Written
// beside the dataset as <output>.manifest.json, and the same JSON (but for the file sizes, which
// a file cannot know of itself) in the dataset's metadata as `manifest`.
import { readFile } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import type { PipelineConfig } from '../config/schema.js';
import { contentConfig } from '../config/hash.js';
import type { CandleSource } from '../data/types.js';
import { buildInfo } from '../info.js';
import { EXTENSION, singleOutputPath, stemOf, type StorageFormat } from '../storage/formats.js';
import type { FileDigest } from '../storage/writer.js';
import { setDigest } from '../storage/writer.js';
import { pathBytes, writeFileAtomic } from '../util/files.js';

export const MANIFEST_FORMAT = 'ohlc-native-manifest';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  generator: { name: string; version: string; native_source_hash: string };
  runtime: { node: string; platform: string; arch: string; device: string };
  created_at: string;
  /** The resolved configuration (without paths and runtime) and its SHA-256 (canonical JSON). */
  config: Record<string, unknown>;
  config_sha256: string;
  /** Where the input archives were cached when it was built (verify looks there first). */
  cache_dir: string;
  inputs: Array<{ name: string; path: string; sha256: string; synthetic: boolean }>;
  counts: Record<string, unknown>;
  /** Files relative to the manifest's folder, in order; bytes only in the sidecar. */
  outputs: Array<{ file: string; bytes?: number; content_sha256: string; arrays: Record<string, string> }>;
  content_sha256: string;
}

/** Where a dataset's manifest sidecar lives: beside its single output, or its batch set's stem. */
export function manifestPath(output: string, format: StorageFormat): string {
  return `${singleOutputPath(stemOf(output, format), format)}.manifest.json`;
}

export interface ManifestInput {
  config: PipelineConfig;
  configHash: string;
  device: string;
  sources: CandleSource[];
  counts: Record<string, unknown>;
  /** The dataset's output path (as given to the writer). */
  output: string;
}

/** Everything but the outputs: known before the files are finished. */
export function manifestCore(m: ManifestInput): Omit<Manifest, 'outputs' | 'content_sha256'> {
  const info = buildInfo();
  return {
    format: MANIFEST_FORMAT,
    version: 1,
    generator: { name: info.name, version: info.version, native_source_hash: info.sourceHash },
    runtime: { node: process.version, platform: process.platform, arch: process.arch, device: m.device },
    created_at: new Date().toISOString(),
    config: contentConfig(m.config) as Record<string, unknown>,
    config_sha256: m.configHash,
    cache_dir: m.config.data.source === 'sample' ? `${m.config.paths.raw_data}/synthetic` : m.config.paths.raw_data,
    inputs: m.sources.map((s) => ({ name: s.name, path: s.path, sha256: s.sha256, synthetic: s.synthetic })),
    counts: m.counts,
  };
}

/** The files' part of a manifest, for the file `index` of a set whose earlier digests are known. */
export function withOutputs(core: Omit<Manifest, 'outputs' | 'content_sha256'>, output: string, format: StorageFormat, files: string[], digests: FileDigest[]): Manifest {
  const dir = dirname(manifestPath(output, format));
  return {
    ...core,
    outputs: files.map((f, i) => ({ file: relative(dir, f), content_sha256: digests[i].contentSha256, arrays: digests[i].arrays })),
    content_sha256: setDigest(digests),
  };
}

/** Writes the sidecar (with each file's size), atomically; returns its path. */
export async function writeManifest(manifest: Manifest, output: string, format: StorageFormat): Promise<string> {
  const path = manifestPath(output, format);
  const dir = dirname(path);
  const outputs = await Promise.all(manifest.outputs.map(async (o) => ({ ...o, bytes: await pathBytes(`${dir}/${o.file}`) })));
  await writeFileAtomic(path, Buffer.from(`${JSON.stringify({ ...manifest, outputs }, null, 2)}\n`, 'utf8'), { durable: true });
  return path;
}

/** A dataset's manifest: its sidecar when there, else the copy in its metadata; null when neither. */
export interface FoundManifest {
  manifest: Manifest;
  /** The sidecar's path, or "the metadata of <file>" when there is no readable sidecar. */
  from: string;
  /** The copy in the dataset's own metadata, when it has one. */
  embedded: Manifest | null;
  /** Why a sidecar that is there cannot be used (not JSON, not a manifest); null when it can or is absent. */
  sidecarProblem: string | null;
}

export async function readManifest(files: string[], format: StorageFormat, metadata: Record<string, unknown>): Promise<FoundManifest | null> {
  const first = files[0];
  const m = /^(.*)_\d{5}$/.exec(stemOf(first, format));
  const output = m ? `${m[1]}${EXTENSION[format]}` : first;
  const path = manifestPath(output, format);
  let embedded: Manifest | null = null;
  try {
    const copy = typeof metadata.manifest === 'string' ? (JSON.parse(metadata.manifest) as Manifest) : (metadata.manifest as Manifest | undefined);
    if (copy && copy.format === MANIFEST_FORMAT) embedded = copy;
  } catch {
    // a metadata copy that does not parse is no manifest
  }
  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    // no sidecar: the metadata's copy
  }
  let sidecarProblem: string | null = null;
  if (text !== null) {
    try {
      const parsed = JSON.parse(text) as Manifest;
      if (parsed?.format === MANIFEST_FORMAT) return { manifest: parsed, from: path, embedded, sidecarProblem };
      sidecarProblem = `the manifest ${path} is not a manifest of this package (no format ${MANIFEST_FORMAT})`;
    } catch (err) {
      sidecarProblem = `the manifest ${path} is not valid JSON (${(err as Error).message})`;
    }
  }
  return embedded ? { manifest: embedded, from: `the metadata of ${basename(first)}`, embedded, sidecarProblem } : null;
}
