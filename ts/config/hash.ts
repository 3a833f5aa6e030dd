// The identity of a build: SHA-256 over the canonical JSON (keys sorted, no spaces) of the
// resolved configuration, without the parts that say where files go and how fast to work
// (`paths`, `runtime`): two machines running one config get one hash, and a dataset's hash says
// whether it was built from the config at hand.
import { sha256Hex } from '../util/hash.js';
import type { PipelineConfig } from './schema.js';

/** JSON with object keys in sorted order at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What decides a dataset's content (whether an old output may be replaced does not, nor do the
 * Zarr settings of an output in another format).
 */
export function contentConfig(config: PipelineConfig): Omit<PipelineConfig, 'paths' | 'runtime'> {
  const { paths: _paths, runtime: _runtime, ...content } = config;
  const { overwrite: _overwrite, zarr_format, zarr_shard_images, ...storage } = content.image.storage;
  const zarr = storage.format === 'zarr' ? { zarr_format, ...(zarr_format === 3 ? { zarr_shard_images } : {}) } : {};
  return { ...content, image: { ...content.image, storage: { ...storage, ...zarr } as typeof content.image.storage } };
}

export function configSha256(config: PipelineConfig): string {
  return sha256Hex(canonicalJson(contentConfig(config)));
}
