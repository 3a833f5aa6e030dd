// The file formats and how their outputs are named (docs/DATASET.md).
import { extname } from 'node:path';

export const STORAGE_FORMATS = ['hdf5', 'npz', 'zarr', 'jpeg', 'png'] as const;
export type StorageFormat = (typeof STORAGE_FORMATS)[number];
export type StorageMode = 'single' | 'batch';

/** The native format codes (native/storage/layout.hpp). */
export const FORMAT_CODE: Record<StorageFormat, number> = { hdf5: 0, npz: 1, zarr: 2, png: 3, jpeg: 4 };

/** Extension of a single output: a file (.h5, .npz), a directory (.zarr), or a folder (pictures). */
export const EXTENSION: Record<StorageFormat, string> = { hdf5: '.h5', npz: '.npz', zarr: '.zarr', jpeg: '', png: '' };

/** Picture file extension inside a picture folder (native/storage/picture_sink.cpp writes the same). */
export const PICTURE_EXTENSION = { jpeg: '.jpg', png: '.png' } as const;

const KNOWN_EXTENSIONS: Record<string, StorageFormat> = { '.h5': 'hdf5', '.hdf5': 'hdf5', '.npz': 'npz', '.zarr': 'zarr' };

/** The format a path's extension names, if any. */
export function formatFromExtension(path: string): StorageFormat | undefined {
  return KNOWN_EXTENSIONS[extname(path).toLowerCase()];
}

/** `path` without the format's extension: the stem batch files are numbered from. */
export function stemOf(path: string, format: StorageFormat): string {
  const ext = extname(path).toLowerCase();
  if (ext && KNOWN_EXTENSIONS[ext] === format) return path.slice(0, -ext.length);
  return path;
}

/** The output for a single-mode dataset at `path` (the extension added when missing). */
export function singleOutputPath(path: string, format: StorageFormat): string {
  return stemOf(path, format) + EXTENSION[format];
}

/** The i-th output of a batch-mode dataset: <stem>_00000.h5, <stem>_00001.h5, ... */
export function batchOutputPath(path: string, format: StorageFormat, index: number): string {
  return `${stemOf(path, format)}_${String(index).padStart(5, '0')}${EXTENSION[format]}`;
}
