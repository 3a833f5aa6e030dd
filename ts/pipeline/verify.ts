// verifyDataset: does a dataset hold what its manifest says it was built from and holds? Its
// content digest is recomputed from the stored bytes; the input archives still in the cache are
// hashed again; a sample of images is redrawn from the stored prices and compared pixel for
// pixel; every label is recomputed from its stored return. Every difference is named.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAbortError, throwIfAborted } from '../errors.js';
import { rasterize } from '../images/rasterize.js';
import { digestFiles } from '../storage/digest.js';
import type { StorageFormat } from '../storage/formats.js';
import { loadImagesFromStorage } from '../storage/load.js';
import { sha256Hex } from '../util/hash.js';
import { readManifest } from './manifest.js';
import { masterShardFiles } from './shard-files.js';
import { imageWidth, layoutOf } from '../images/layout.js';

export interface VerifyOptions {
  /** Images to redraw (default 64; 0 for none). */
  sample?: number;
  /** The format, when the name does not say it (default: detected). */
  format?: StorageFormat;
  /** What the caller calls the format option, for the message when it cannot be detected ('--format'). */
  formatTerm?: string;
  /** Where the input archives are cached (default: the manifest's cache_dir). */
  cacheDir?: string;
  signal?: AbortSignal;
}

export interface VerifyReport {
  ok: boolean;
  /** One line per difference found. */
  problems: string[];
  manifest: string | null;
  checked: { contentSha256: string | null; inputs: number; inputsMissing: number; redrawn: number; labels: number };
}

/** Images compared per load when checking labels. */
const SLICE = 4 << 10;

export async function verifyDataset(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: string[] = [];
  const head = await loadImagesFromStorage(path, options.format, { indices: [], ...(options.formatTerm ? { terms: { format: options.formatTerm } } : {}) });
  const { files, format, total } = head;
  const found = await readManifest(files, format, head.metadata);
  const checked = { contentSha256: null as string | null, inputs: 0, inputsMissing: 0, redrawn: 0, labels: 0 };
  if (!found) problems.push(`${path} has no manifest (no sidecar, none in its metadata): nothing to check it against`);
  const manifest = found?.manifest;
  if (found?.sidecarProblem) problems.push(found.sidecarProblem);
  // The sidecar beside the dataset and the copy inside it were written by one build: a sidecar
  // copied from another dataset (or edited) disagrees with the copy the files carry.
  if (found?.embedded && found.embedded !== manifest && manifest && (manifest.content_sha256 !== found.embedded.content_sha256 || manifest.config_sha256 !== found.embedded.config_sha256)) {
    const other = manifest.outputs.map((o) => o.file).join(', ');
    problems.push(`the manifest ${found.from} is not the one in the dataset's metadata (it describes ${other || 'no file'}, content ${manifest.content_sha256}; the metadata says content ${found.embedded.content_sha256}): a manifest of another dataset, or an edited one`);
  }

  // 1. The stored bytes. A master of a sharded build stores no array of its own: its manifest
  // lists the shards, and theirs are the bytes checked.
  const shards = masterShardFiles(head.metadata, files[0]);
  const stored = shards ?? files;
  const digest = await readStep(problems, 'its content digest', () => digestFiles(stored, format));
  if (digest) checked.contentSha256 = digest.contentSha256;
  if (manifest && digest) {
    if (manifest.outputs.length !== stored.length) problems.push(`the manifest lists ${manifest.outputs.length} files, the dataset has ${stored.length}`);
    digest.digests.forEach((d, i) => {
      const expected = manifest.outputs[i];
      if (!expected) return;
      for (const [name, hex] of Object.entries(expected.arrays)) {
        if (d.arrays[name] === undefined) problems.push(`${stored[i]}: its ${name} array is missing`);
        else if (d.arrays[name] !== hex) problems.push(`${stored[i]}: ${name} differs from the manifest (stored SHA-256 ${d.arrays[name]}, manifest ${hex})`);
      }
      for (const name of Object.keys(d.arrays)) if (expected.arrays[name] === undefined) problems.push(`${stored[i]}: holds a ${name} array the manifest does not list`);
    });
    if (digest.contentSha256 !== manifest.content_sha256) problems.push(`content digest ${digest.contentSha256} is not the manifest's ${manifest.content_sha256}`);
  }

  // 2. The inputs that are still in the cache.
  for (const input of manifest?.inputs ?? []) {
    throwIfAborted(options.signal);
    const where = join(options.cacheDir ?? manifest!.cache_dir, ...input.path.split('/'));
    let bytes: Buffer;
    try {
      bytes = await readFile(where);
    } catch {
      checked.inputsMissing++;
      continue;
    }
    checked.inputs++;
    const actual = sha256Hex(bytes);
    if (actual !== input.sha256) problems.push(`input ${input.name} in the cache (${where}) has SHA-256 ${actual}, the manifest ${input.sha256}: the archive changed since the build`);
  }

  // 3. A sample of images, redrawn from their stored prices.
  const m = head.metadata;
  const seqLen = Number(m.seq_len);
  const height = Number(m.height);
  const dtype = m.dtype === 'float32' ? 'float32' : 'uint8';
  const wanted = Math.min(total, options.sample ?? 64);
  const picks = [...new Set(Array.from({ length: wanted }, (_, i) => Math.floor(((i + 0.5) * total) / wanted)))];
  const some = picks.length > 0 && format !== 'jpeg' ? await readStep(problems, 'the images to redraw', () => loadImagesFromStorage(path, format, { indices: picks, signal: options.signal })) : null;
  if (some) {
    const n = picks.length;
    const col = (f: number) => Float64Array.from({ length: n * seqLen }, (_, k) => some.sequences[k * 4 + f]);
    const starts = Int32Array.from({ length: n }, (_, i) => i * seqLen);
    const layout = layoutOf(m);
    // A jkx image is redrawn from the file alone: its volumes, and the MA values its line was drawn from.
    const jkx = layout.layout === 'jkx' ? { layout: 'jkx' as const, volume: layout.volume, ma: layout.ma, ...(layout.ma > 0 && some.ma ? { maValues: some.ma } : {}) } : {};
    const candles = { open: col(0), high: col(1), low: col(2), close: col(3), ...(some.volumes ? { volume: some.volumes } : {}) };
    const drawn = rasterize(candles, { seqLen, height, dtype, starts, device: 'cpu', ...jkx });
    const pixels = height * imageWidth(layout.layout, seqLen);
    for (let i = 0; i < n; i++) {
      let differ = 0;
      for (let p = i * pixels; p < (i + 1) * pixels; p++) if (drawn.images[p] !== some.images[p]) differ++;
      if (differ > 0) problems.push(`image ${picks[i]} differs from its redrawing from the stored sequences at ${differ} pixel${differ === 1 ? '' : 's'}`);
    }
    checked.redrawn = n;
  }

  // 4. Every label, from its stored return.
  const horizons = Array.isArray(m.horizons) ? (m.horizons as number[]) : [];
  if (horizons.length > 0) {
    for (let from = 0; from < total; from += SLICE) {
      throwIfAborted(options.signal);
      const part = await readStep(problems, 'the labels', () => loadImagesFromStorage(path, format, { indices: { start: from, end: Math.min(total, from + SLICE) }, images: false, signal: options.signal }));
      if (!part) break;
      part.labels!.forEach((label, k) => {
        const r = part.returns![k];
        const expected = Number.isNaN(r) ? -1 : r > 0 ? 1 : 0;
        if (label !== expected) problems.push(`image ${from + Math.floor(k / horizons.length)}: label ${label} for horizon ${horizons[k % horizons.length]}, but its return ${r} says ${expected}`);
      });
      checked.labels += part.labels!.length;
    }
  }
  return { ok: problems.length === 0, problems, manifest: found?.from ?? null, checked };
}

/**
 * Runs one reading step of the check; a dataset that cannot be read there (a file deleted, a
 * shard cut short) is a difference like any other, said once, not a crash of the command.
 */
async function readStep<T>(problems: string[], what: string, read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (isAbortError(err)) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' && e.path ? `${e.path} is missing` : e.message;
    const problem = `cannot read ${what}: ${why}`;
    if (!problems.some((p) => p.endsWith(`: ${why}`))) problems.push(problem);
    return null;
  }
}
