// The arrays of a dataset besides `images` (docs/DATASET.md), as one table: the name in the file,
// the key in TS objects, the element type, and whether every dataset has it. Writers, readers and
// the loader all go by it, so an array is added in one place.

export type RowArray = Float64Array | Int8Array | Uint8Array | Uint16Array;

export interface RowArraySpec {
  /** Name in the file (HDF5 dataset, NPZ member, Zarr array). */
  name: string;
  /** Key in DatasetBatch / LoadedDataset. */
  key: 'sequences' | 'timestamps' | 'labels' | 'returns' | 'symbolIndex' | 'split' | 'volumes' | 'ma';
  type: { new (n: number): RowArray; readonly name: string };
  /** Every dataset has it (else only some: labels with horizons, symbol_index with symbols, ...). */
  required: boolean;
}

export const ROW_ARRAYS: readonly RowArraySpec[] = [
  { name: 'sequences', key: 'sequences', type: Float64Array, required: true },
  // int64 in the file; a double holds every millisecond time stamp exactly.
  { name: 'timestamps', key: 'timestamps', type: Float64Array, required: true },
  { name: 'labels', key: 'labels', type: Int8Array, required: false },
  { name: 'returns', key: 'returns', type: Float64Array, required: false },
  { name: 'symbol_index', key: 'symbolIndex', type: Uint16Array, required: false },
  { name: 'split', key: 'split', type: Uint8Array, required: false },
  { name: 'volumes', key: 'volumes', type: Float64Array, required: false },
  { name: 'ma', key: 'ma', type: Float64Array, required: false },
];

export const ARRAY_NAMES = ['images', ...ROW_ARRAYS.map((a) => a.name)];
