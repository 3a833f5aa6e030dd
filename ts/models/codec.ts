// Compression of model files off the critical path of the event loop: zlib's async API runs in
// the libuv thread pool (hashing is sliced the same way, in util/hash.ts).
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb, type ZlibOptions } from 'node:zlib';

/** The gzip level for model files: fast, and close to the best ratio for weights. */
export const GZIP_LEVEL = 3;

const gzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gzipCb);
const gunzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gunzipCb);

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
