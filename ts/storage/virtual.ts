// The HDF5 master of a sharded build: a new file whose datasets are virtual datasets laying the
// shards' rows end to end (native/storage/hdf5_virtual.cpp), each shard named by the path given
// (relative to the master's folder, so the folder can move).
import { native } from '../native/load.js';
import { runNativeTask } from '../native/task.js';
import type { NativeVirtualResult } from '../native/addon.js';
import { nativeMetadata } from './metadata.js';

export interface VirtualSource {
  /** Where this process opens the shard (to check its datasets). */
  openPath: string;
  /** The name the mapping stores. */
  storedPath: string;
}

/** Writes the master at `tempPath` (which must not exist) with `metadata` as its root attributes. */
export function writeVirtualHdf5(tempPath: string, sources: VirtualSource[], metadata: Record<string, unknown>, signal?: AbortSignal): Promise<NativeVirtualResult> {
  return runNativeTask<NativeVirtualResult>((done) => native().writeVirtualHdf5(tempPath, sources, nativeMetadata(metadata), done), { signal });
}
