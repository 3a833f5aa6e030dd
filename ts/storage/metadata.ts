// Dataset metadata (docs/DATASET.md): assembled once, then handed to the addon both as typed
// attributes (HDF5) and as one JSON document (Zarr attributes, NPZ and picture sidecars).
import { packageInfo } from '../info.js';

export interface NativeAttribute {
  name: string;
  kind: 'int' | 'float' | 'bool' | 'string' | 'int[]' | 'float[]' | 'string[]';
  value: number | boolean | string | number[] | string[];
}

/**
 * Keys stored as JSON text in HDF5 attributes even when their value is a string or a list (objects
 * have no other portable form); files also list their JSON attributes in `json_attributes`.
 */
const JSON_KEYS = new Set(['config', 'sources', 'skipped', 'skipped_rows', 'symbol_table', 'skipped_symbols', 'universe', 'splits', 'split_balance', 'manifest']);

export interface CoreMetadata {
  seq_len: number;
  height: number;
  width: number;
  dtype: string;
  horizons: number[];
  /** The layout and what it implies (ts/images/layout.ts layoutMetadata): layout, background, and jkx's volume and ma. */
  layout: string;
  background: number;
  [key: string]: unknown;
}

/** The full metadata object of one output file. */
export function datasetMetadata(core: CoreMetadata, caller: Record<string, unknown>, createdAt: Date): Record<string, unknown> {
  const { name, version } = packageInfo();
  return {
    symbol: '',
    interval: '',
    stride: 1,
    config: {},
    sources: [],
    skipped: {},
    ...caller,
    ...core,
    created_at: createdAt.toISOString(),
    generator: `${name} ${version}`,
  };
}

function attribute(name: string, value: unknown): NativeAttribute {
  // Beyond 2^53 a whole number is not an exact int64 any more: store it as float64.
  if (typeof value === 'number') return { name, kind: Number.isSafeInteger(value) ? 'int' : 'float', value };
  if (typeof value === 'boolean') return { name, kind: 'bool', value };
  if (typeof value === 'string' && !JSON_KEYS.has(name)) return { name, kind: 'string', value };
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') && !JSON_KEYS.has(name)) {
    return { name, kind: 'string[]', value: value as string[] };
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'number') && !JSON_KEYS.has(name)) {
    const ints = value.every((v) => Number.isSafeInteger(v));
    return { name, kind: ints ? 'int[]' : 'float[]', value: value as number[] };
  }
  return { name, kind: 'string', value: JSON.stringify(value ?? null) };
}

/** The HDF5 attribute listing which other attributes hold JSON text (so readers decode exactly those). */
export const JSON_ATTRIBUTES = 'json_attributes';

export function nativeMetadata(meta: Record<string, unknown>): { attributes: NativeAttribute[]; json: string } {
  const attributes = Object.entries(meta)
    .filter(([k, v]) => v !== undefined && k !== JSON_ATTRIBUTES)
    .map(([k, v]) => attribute(k, v));
  const encoded = attributes.filter((a) => a.kind === 'string' && typeof meta[a.name] !== 'string').map((a) => a.name);
  if (encoded.length > 0) attributes.push({ name: JSON_ATTRIBUTES, kind: 'string[]', value: encoded });
  return { attributes, json: JSON.stringify(meta) };
}

/** Reverses the HDF5 encoding: JSON-text attributes back to objects. */
export function decodeAttributes(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const listed = Array.isArray(raw[JSON_ATTRIBUTES]) ? new Set(raw[JSON_ATTRIBUTES] as string[]) : JSON_KEYS;
  for (const [k, v] of Object.entries(raw)) {
    if (k === JSON_ATTRIBUTES) continue;
    if (listed.has(k) && typeof v === 'string') {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // fall through: keep the text
      }
    }
    out[k] = v;
  }
  return out;
}
