// What the arrays of a dataset must be (docs/DATASET.md): images [N, H, W] uint8 or float32,
// sequences [N, L, 4] float64, timestamps [N] int64, labels [N, K] int8 and returns [N, K]
// float64, symbol_index [N] uint16, split [N] uint8, volumes and ma [N, L] float64, with H, W, L
// and K from the metadata and one N for all. Every reader checks what a file
// declares against this when it opens it, before any row is read or any buffer sized from it, so
// an edited header or metadata is refused with its file named rather than trusted.
import { OhlcError, ErrorCode } from '../errors.js';
import { MAX_DIMENSION, MAX_HORIZONS, MAX_IMAGE_PIXELS, MIN_HEIGHT, MIN_SEQ_LEN } from '../limits.js';
import { barWidth } from '../images/layout.js';

/** An array as a file declares it; `type` in numpy's words ('uint8', 'float64', ...). */
export interface DeclaredArray {
  name: string;
  type: string;
  shape: readonly number[];
}

/** What the metadata says each image and row is. */
export interface DatasetDims {
  height: number;
  width: number;
  seqLen: number;
  /** K: one label and one return per horizon. */
  horizons: number;
  dtype: 'uint8' | 'float32';
}

interface ArrayRule {
  types: readonly string[];
  /** The shape after N. */
  row: readonly number[];
  /** Where `row` comes from, for the message. */
  rowSource: string;
  required: boolean;
}

function storageError(path: string, problem: string): OhlcError {
  return new OhlcError(ErrorCode.storage, `${path}: ${problem}`);
}

function shapeText(shape: readonly unknown[]): string {
  return `[${shape.map(String).join(', ')}]`;
}

function wholeNumber(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** The dimensions the metadata gives, each within what a writer of this package can produce. */
export function metadataDims(path: string, meta: Record<string, unknown>): DatasetDims {
  const usable = (key: string, min: number, max: number): number => {
    const value = meta[key];
    if (!wholeNumber(value, min, max)) throw storageError(path, `its metadata has no usable ${key} (${JSON.stringify(value) ?? 'missing'})`);
    return value;
  };
  const height = usable('height', MIN_HEIGHT, MAX_DIMENSION);
  const seqLen = usable('seq_len', MIN_SEQ_LEN, MAX_DIMENSION);
  const width = usable('width', 3 * MIN_SEQ_LEN, 4 * MAX_DIMENSION);
  const layout = meta.layout ?? 'ohlc-4px';
  if (layout !== 'ohlc-4px' && layout !== 'jkx') throw storageError(path, `its metadata names layout ${JSON.stringify(layout)}, which this version does not know ("ohlc-4px" or "jkx")`);
  const bar = barWidth(layout);
  if (width !== bar * seqLen) throw storageError(path, `its metadata gives width ${width} and seq_len ${seqLen}; the ${layout} layout's width is ${bar} × seq_len`);
  if (height * width > MAX_IMAGE_PIXELS) throw storageError(path, `its metadata gives ${height}x${width} images, more than ${MAX_IMAGE_PIXELS} pixels`);
  const horizons = meta.horizons ?? [];
  if (!Array.isArray(horizons) || horizons.length > MAX_HORIZONS) throw storageError(path, `its metadata has no usable horizons (${JSON.stringify(horizons)})`);
  const dtype = meta.dtype;
  if (dtype !== 'uint8' && dtype !== 'float32') throw storageError(path, `its metadata has no usable dtype (${JSON.stringify(dtype) ?? 'missing'}; "uint8" or "float32")`);
  return { height, width, seqLen, horizons: horizons.length, dtype };
}

function rules(d: DatasetDims, images: boolean): Array<[string, ArrayRule]> {
  const perHorizon = `one column per horizon in its metadata`;
  return [
    ['images', { types: [d.dtype], row: [d.height, d.width], rowSource: 'height and width in its metadata', required: images }],
    ['sequences', { types: ['float64'], row: [d.seqLen, 4], rowSource: 'seq_len in its metadata, then open, high, low, close', required: true }],
    ['timestamps', { types: ['int64'], row: [], rowSource: 'one per image', required: true }],
    ['labels', { types: ['int8'], row: [d.horizons], rowSource: perHorizon, required: false }],
    ['returns', { types: ['float64'], row: [d.horizons], rowSource: perHorizon, required: false }],
    ['symbol_index', { types: ['uint16'], row: [], rowSource: 'one per image', required: false }],
    ['split', { types: ['uint8'], row: [], rowSource: 'one per image', required: false }],
    ['volumes', { types: ['float64'], row: [d.seqLen], rowSource: 'seq_len in its metadata', required: false }],
    ['ma', { types: ['float64'], row: [d.seqLen], rowSource: 'seq_len in its metadata', required: false }],
  ];
}

function checkArray(path: string, name: string, a: DeclaredArray, rule: ArrayRule): void {
  const where = `array '${name}'`;
  if (!a.shape.every((n) => wholeNumber(n, 0, Number.MAX_SAFE_INTEGER))) {
    throw storageError(path, `${where} has shape ${shapeText(a.shape)}: sizes must be whole numbers of at least 0`);
  }
  if (!rule.types.includes(a.type)) throw storageError(path, `${where} holds ${a.type}, expected ${rule.types.join(' or ')}`);
  if (a.shape.length !== rule.row.length + 1 || rule.row.some((n, i) => a.shape[i + 1] !== n)) {
    throw storageError(path, `${where} has shape ${shapeText(a.shape)}, expected ${shapeText(['N', ...rule.row])} (${rule.rowSource})`);
  }
}

/**
 * Checks the arrays a file declares against the contract and its metadata; returns the
 * dimensions. `images` false: a picture folder's arrays.npz, whose images are the pictures.
 */
export function checkDataset(path: string, arrays: readonly DeclaredArray[], meta: Record<string, unknown>, images = true): DatasetDims {
  const dims = metadataDims(path, meta);
  const byName = new Map(arrays.map((a) => [a.name, a]));
  let first: DeclaredArray | undefined;
  for (const [name, rule] of rules(dims, images)) {
    const a = byName.get(name);
    if (!a) {
      if (rule.required) throw new OhlcError(ErrorCode.storage, `${path} has no '${name}' array: not an ohlc-native dataset`);
      continue;
    }
    checkArray(path, name, a, rule);
    if (first && a.shape[0] !== first.shape[0]) throw storageError(path, `array '${name}' has ${a.shape[0]} rows, but '${first.name}' has ${first.shape[0]}`);
    first ??= a;
  }
  return dims;
}
