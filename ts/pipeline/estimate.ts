// What a build will make, worked out from the config alone (before any download), so a person
// about to start a multi-gigabyte build hears so first. Rough by design: candles from the dates
// and the interval, windows from the stride, bytes per image and images/s from bench/RESULTS.md.
import { intervalMs } from '../data/binance.js';
import { parseDateArg } from '../data/dates.js';
import type { PipelineConfig } from '../config/schema.js';
import { imageWidth } from '../images/layout.js';

export interface BuildEstimate {
  images: number;
  bytes: number;
  seconds: number;
}

/** Beyond either of these a build on a terminal asks before it starts (unless --yes). */
export const LARGE_BUILD = { images: 500_000, bytes: 1e9 } as const;

/** Compressed bytes per raw image byte, as measured (bench/RESULTS.md: ~2 KB for a 200 KB image). */
const COMPRESSED_FRACTION: Record<string, number> = { hdf5: 0.011, npz: 0.011, zarr: 0.011, png: 0.02, jpeg: 0.15 };
/** Candles → closed file on two cores (bench/RESULTS.md), per 200 KB of raw image. */
const IMAGES_PER_SECOND_AT_200KB = 38_000;

export function estimateBuild(config: PipelineConfig): BuildEstimate {
  const { data, image, labels } = config;
  const span = parseDateArg('end_date', data.end_date).end - parseDateArg('start_date', data.start_date).start;
  const step = intervalMs(data.interval) ?? 30.44 * 86_400_000;
  const candles = Math.floor(span / step);
  const images = Math.max(0, Math.floor((candles - image.seq_len) / image.stride) + 1);
  const raw = image.resolution.height * imageWidth(image.layout, image.seq_len) * (image.dtype === 'uint8' ? 1 : 4);
  const compressed = image.storage.compression === 'none' ? raw : raw * (COMPRESSED_FRACTION[image.storage.format] ?? 0.02);
  const rows = image.seq_len * 32 + 8 + labels.horizons.length * 9;
  const seconds = (images * Math.max(raw, 20_000)) / 200_000 / IMAGES_PER_SECOND_AT_200KB;
  return { images, bytes: Math.round(images * (compressed + rows * 0.6)), seconds };
}

export function isLargeBuild(e: BuildEstimate): boolean {
  return e.images > LARGE_BUILD.images || e.bytes > LARGE_BUILD.bytes;
}
