// What a shard's output on disk is: missing, incomplete (a dataset without its manifest, or a
// manifest that does not describe the file), built from another config or as another shard, or
// complete. A shard's file only ever appears under its final name complete (the writer renames
// it into place), and its manifest is written after it, so both there and agreeing is complete.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { StorageFormat } from '../storage/formats.js';
import { inspectOutput } from '../storage/outputs.js';
import { manifestPath, type Manifest } from './manifest.js';
import type { ShardSpec } from './shards.js';

/**
 * The shard files a master of a sharded build maps (its metadata's `shards.files`, relative to it),
 * or null for any other dataset. A master stores no array of its own: its bytes are the shards'.
 */
export function masterShardFiles(metadata: Record<string, unknown>, file: string): string[] | null {
  const list = (metadata.shards as { files?: unknown } | undefined)?.files;
  return Array.isArray(list) && list.every((f) => typeof f === 'string') ? list.map((f: string) => join(dirname(file), f)) : null;
}

export type ShardState =
  | { state: 'missing'; path: string }
  | { state: 'incomplete'; path: string; why: string }
  | { state: 'mismatch'; path: string; why: string }
  | { state: 'complete'; path: string; manifest: string; images: number; contentSha256: string; metadata: Record<string, unknown>; manifestData: Manifest };

/**
 * The state of shard `shard` at `path` (its final name). `configHash`, when given, is the config
 * it must have been built from; without one any config is accepted (merge then compares shards).
 */
export async function shardState(path: string, format: StorageFormat, configHash: string | null, shard: ShardSpec): Promise<ShardState> {
  const found = await inspectOutput(path, format);
  if (found.kind === 'none') return { state: 'missing', path };
  if (found.kind === 'other') return { state: 'mismatch', path, why: `it is ${found.what}` };
  const meta = found.metadata;
  if (configHash !== null && meta.config_sha256 !== configHash) {
    return { state: 'mismatch', path, why: `it was built from another configuration (config sha256 ${String(meta.config_sha256).slice(0, 12)}…, this one ${configHash.slice(0, 12)}…)` };
  }
  const own = meta.shard as { index?: unknown; count?: unknown } | undefined;
  if (!own || own.index !== shard.index || own.count !== shard.count) {
    return { state: 'mismatch', path, why: own ? `its metadata says it is shard ${String(own.index)} of ${String(own.count)}` : 'its metadata names no shard (it is not a shard of a build)' };
  }
  const sidecar = manifestPath(path, format);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(sidecar, 'utf8')) as Manifest;
  } catch {
    return { state: 'incomplete', path, why: `its manifest ${basename(sidecar)} is missing or unreadable (the shard stopped before the end)` };
  }
  const entry = manifest.outputs?.[0];
  const bytes = await stat(path).then((s) => (s.isFile() ? s.size : null));
  if (manifest.config_sha256 !== meta.config_sha256 || !entry || basename(entry.file) !== basename(path) || (bytes !== null && entry.bytes !== bytes)) {
    return { state: 'incomplete', path, why: `its manifest ${basename(sidecar)} does not describe it (another build's, or the file changed after it)` };
  }
  const images = typeof manifest.counts?.images === 'number' ? manifest.counts.images : 0;
  return { state: 'complete', path, manifest: sidecar, images, contentSha256: manifest.content_sha256, metadata: meta, manifestData: manifest };
}
