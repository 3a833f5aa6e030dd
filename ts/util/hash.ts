// SHA-256, the one hash of the package (archives, models, datasets, configs). Large inputs are
// hashed in slices with a turn of the event loop between them, so a big model or dataset never
// stalls timers and I/O for more than one slice.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { throwIfAborted } from '../errors.js';

const SLICE_BYTES = 4 << 20;

/** Hex SHA-256 of `bytes`, at once (for inputs of a few MB at most). */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hex SHA-256 of `bytes`, yielding to the event loop between 4 MiB slices. */
export async function sha256HexAsync(bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for (let offset = 0; offset < bytes.length; offset += SLICE_BYTES) {
    if (offset > 0) {
      await nextTurn();
      throwIfAborted(signal);
    }
    hash.update(bytes.subarray(offset, offset + SLICE_BYTES));
  }
  return hash.digest('hex');
}

/** Hex SHA-256 of a file, read as a stream (memory: one read buffer, whatever the file's size). */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
