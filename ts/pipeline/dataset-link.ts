// What a model records about the dataset it was trained on: enough to find it again and to know
// it is the same one (its content digest, recomputed from the stored bytes, and its config hash),
// and what it held (split rule, horizons, layout).
import { resolve } from 'node:path';
import { digestFiles } from '../storage/digest.js';
import { loadImagesFromStorage } from '../storage/load.js';
import { masterShardFiles } from './shard-files.js';

export interface DatasetLink {
  path: string;
  format: string;
  files: number;
  images: number;
  content_sha256: string;
  config_sha256: string | null;
  splits: unknown;
  horizons: unknown;
  layout: string;
  symbols: string[];
}

export async function datasetLink(path: string, terms?: { format?: string }): Promise<DatasetLink> {
  const head = await loadImagesFromStorage(path, { indices: [], images: false, ...(terms ? { terms } : {}) });
  const m = head.metadata;
  // A sharded build's master is digested as verify digests it: through its shards' stored bytes.
  const { contentSha256 } = await digestFiles(masterShardFiles(m, head.files[0]) ?? head.files, head.format);
  const symbols = Array.isArray(m.symbols) ? (m.symbols as string[]) : typeof m.symbol === 'string' && m.symbol ? [m.symbol] : [];
  return {
    path: resolve(path),
    format: head.format,
    files: head.files.length,
    images: head.total,
    content_sha256: contentSha256,
    config_sha256: typeof m.config_sha256 === 'string' ? m.config_sha256 : null,
    splits: m.splits ?? null,
    horizons: m.horizons ?? [],
    layout: typeof m.layout === 'string' ? m.layout : 'ohlc-4px',
    symbols,
  };
}
