// The file formats and how their outputs are named (docs/DATASET.md). Every format has its own
// suffix, folders included, so outputs of two formats never share a path: `<stem>.h5`,
// `<stem>.npz`, `<stem>.zarr/`, `<stem>_png/`, `<stem>_jpeg/`; batch sets number the stem:
// `<stem>_00000.h5`, `<stem>_00001.h5`, ...
import { basename, dirname, join } from 'node:path';
import { invalidParameterError } from '../errors.js';
import { MAX_CHUNK_BYTES, MAX_JPEG_DIMENSION } from '../limits.js';
import { barWidth, imageWidth, type LayoutName } from '../images/layout.js';

export const STORAGE_FORMATS = ['hdf5', 'npz', 'zarr', 'jpeg', 'png'] as const;
export type StorageFormat = (typeof STORAGE_FORMATS)[number];
export type StorageMode = 'single' | 'batch';

/** The native format codes (native/storage/layout.hpp). */
export const FORMAT_CODE: Record<StorageFormat, number> = { hdf5: 0, npz: 1, zarr: 2, png: 3, jpeg: 4 };

/** What ends an output's name: a file (.h5, .npz), a directory (.zarr), a picture folder (_png, _jpeg). */
export const EXTENSION: Record<StorageFormat, string> = { hdf5: '.h5', npz: '.npz', zarr: '.zarr', jpeg: '_jpeg', png: '_png' };

/** Whether the format's output is a directory. */
export const IS_DIRECTORY: Record<StorageFormat, boolean> = { hdf5: false, npz: false, zarr: true, jpeg: true, png: true };

/** Picture file extension inside a picture folder (native/storage/picture_sink.cpp writes the same). */
export const PICTURE_EXTENSION = { jpeg: '.jpg', png: '.png' } as const;

/** Suffixes a user may type for a format, longest first (case-insensitive). */
const SUFFIXES: Array<[string, StorageFormat]> = [
  ['.hdf5', 'hdf5'],
  ['_jpeg', 'jpeg'],
  ['.zarr', 'zarr'],
  ['.npz', 'npz'],
  ['_png', 'png'],
  ['.h5', 'hdf5'],
];

/** The format a path's suffix names, if any. */
export function formatFromExtension(path: string): StorageFormat | undefined {
  const name = basename(path).toLowerCase();
  return SUFFIXES.find(([suffix]) => name.endsWith(suffix) && name.length > suffix.length)?.[1];
}

/** The suffix `path` ends with for `format`, or ''. */
function suffixOf(path: string, format: StorageFormat): string {
  const name = basename(path).toLowerCase();
  return SUFFIXES.find(([suffix, f]) => f === format && name.endsWith(suffix) && name.length > suffix.length)?.[0] ?? '';
}

/** `path` without the format's suffix: the stem batch files are numbered from. */
export function stemOf(path: string, format: StorageFormat): string {
  const suffix = suffixOf(path, format);
  return suffix ? path.slice(0, -suffix.length) : path;
}

/** The output for a single-mode dataset at `path` (the suffix added when missing). */
export function singleOutputPath(path: string, format: StorageFormat): string {
  return stemOf(path, format) + EXTENSION[format];
}

/** The i-th output of a batch-mode dataset: <stem>_00000.h5, <stem>_00001.h5, ... */
export function batchOutputPath(path: string, format: StorageFormat, index: number): string {
  return `${stemOf(path, format)}_${String(index).padStart(5, '0')}${EXTENSION[format]}`;
}

/** For `<stem>_NNNNN<suffix>`: the stem and the index; null for any other name. */
export function parseBatchOutput(path: string, format: StorageFormat): { stem: string; index: number } | null {
  const stem = stemOf(path, format);
  const m = /^(.*)_(\d{5})$/.exec(basename(stem));
  return m ? { stem: join(dirname(stem), m[1]), index: Number(m[2]) } : null;
}

/**
 * The image sizes a format can hold, checked before anything is written: JPEG pictures are at
 * most 65,500 pixels on a side, and an image is one chunk (HDF5, Zarr), which holds under 4 GiB.
 * Throws an argument error naming `height` or `seqLen`.
 */
export function checkImageSize(format: StorageFormat, seqLen: number, height: number, dtype: 'uint8' | 'float32', layout: LayoutName = 'ohlc-4px'): void {
  const width = imageWidth(layout, seqLen);
  if (format === 'jpeg' && height > MAX_JPEG_DIMENSION) throw invalidParameterError('height', `at most ${MAX_JPEG_DIMENSION} rows for JPEG pictures`, height, true);
  if (format === 'jpeg' && width > MAX_JPEG_DIMENSION) {
    throw invalidParameterError('seqLen', `at most ${Math.floor(MAX_JPEG_DIMENSION / barWidth(layout))} bars for JPEG pictures (${MAX_JPEG_DIMENSION} pixels wide)`, seqLen, true);
  }
  const bytes = height * width * (dtype === 'uint8' ? 1 : 4);
  if ((format === 'hdf5' || format === 'zarr') && bytes > MAX_CHUNK_BYTES) {
    throw invalidParameterError('height', `an image under 4 GiB (one chunk; ${height} x ${width} ${dtype} is ${bytes} bytes)`, height, true);
  }
}
