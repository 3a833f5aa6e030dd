// Hashing and compression off the critical path of the event loop: zlib's async API runs in the
// libuv thread pool, and SHA-256 is fed in slices with a yield between them, so saving or loading
// a large model never stalls timers and I/O for more than one slice.
import { constants as bufferConstants } from 'node:buffer';
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb, type ZlibOptions } from 'node:zlib';
import { throwIfAborted } from '../errors.js';

/** The gzip level for model files: fast, and close to the best ratio for weights. */
export const GZIP_LEVEL = 3;

const HASH_SLICE = 4 << 20;

const gzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gzipCb);
const gunzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gunzipCb);

export async function sha256Hex(bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for (let offset = 0; offset < bytes.length; offset += HASH_SLICE) {
    if (offset > 0) {
      await nextTurn();
      throwIfAborted(signal);
    }
    hash.update(bytes.subarray(offset, offset + HASH_SLICE));
  }
  return hash.digest('hex');
}

export function gzip(bytes: Uint8Array): Promise<Buffer> {
  return gzipAsync(bytes, { level: GZIP_LEVEL });
}

/**
 * Inflates at most `expectedBytes` (the size the metadata records): a file that would inflate to
 * more is rejected by zlib before it can fill memory. The caller still compares the exact size.
 */
export function gunzip(bytes: Uint8Array, expectedBytes: number): Promise<Buffer> {
  // One byte more than expected lets an oversized file show as such (and keeps the limit >= 1).
  return gunzipAsync(bytes, { maxOutputLength: Math.min(expectedBytes + 1, bufferConstants.MAX_LENGTH) });
}
