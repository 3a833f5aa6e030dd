// Kline CSV -> columns, through the addon's parser (native/kernels/klines_csv). The async forms
// run on a libuv worker thread; the input buffer is pinned there, not copied, so callers hand
// over a buffer they no longer touch. parseKlinesMemberAsync reads a ZIP member straight from its
// archive: inflated, checked and parsed in one worker call, the CSV never reaching JS.
import { abortError, OhlcError, rethrowNative } from '../errors.js';
import { native } from '../native.js';
import type { NativeKlines, NativeKlinesCall, NativeKlinesCallback } from './native-klines.js';
import type { MalformedRowPolicy } from './types.js';
import { fromNativeZipError, type ZipMember } from './zip.js';

export type ParsedKlines = NativeKlines;

export interface ParseKlinesOptions {
  /** The archive name used in error messages. */
  name: string;
  onMalformedRow?: MalformedRowPolicy;
  signal?: AbortSignal;
}

/** A malformed row (or a bad ZIP member) as an OhlcError carrying its details; anything else rethrown. */
function rethrowParseError(err: unknown, signal?: AbortSignal): never {
  const e = err as Error & { code?: string; file?: string; line?: number; field?: string | null };
  if (e instanceof Error && e.code === 'ERR_OHLC_MALFORMED_ROW') {
    const out = new OhlcError('ERR_OHLC_MALFORMED_ROW', `${e.message} (pass onMalformedRow: 'skip' to skip such rows)`);
    Object.assign(out, { file: e.file, line: e.line, field: e.field });
    throw out;
  }
  const zipErr = fromNativeZipError(err);
  if (zipErr) throw zipErr;
  rethrowNative(err, signal);
}

function call(options: ParseKlinesOptions): NativeKlinesCall {
  return { name: options.name, skipMalformed: options.onMalformedRow === 'skip' };
}

export function parseKlinesCsv(csv: Uint8Array, options: ParseKlinesOptions): ParsedKlines {
  try {
    return native().parseKlines(csv, call(options));
  } catch (err) {
    rethrowParseError(err);
  }
}

/** Runs one cancellable native parse: the abort signal cancels it, errors come back rethrown. */
function runAsync(start: (callback: NativeKlinesCallback) => () => void, signal?: AbortSignal): Promise<ParsedKlines> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    let cancel: (() => void) | undefined;
    const onAbort = () => cancel?.();
    try {
      cancel = start((err, result) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(abortError(signal));
        else if (err || !result) {
          try {
            rethrowParseError(err ?? new Error('native: the parse returned nothing'), signal);
          } catch (e) {
            reject(e);
          }
        } else resolve(result);
      });
    } catch (err) {
      try {
        rethrowParseError(err, signal);
      } catch (e) {
        reject(e);
      }
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function parseKlinesCsvAsync(csv: Uint8Array, options: ParseKlinesOptions): Promise<ParsedKlines> {
  return runAsync((callback) => native().parseKlinesAsync(csv, call(options), callback), options.signal);
}

/**
 * Inflates a ZIP member located by `locateCsvMember` (size and CRC-32 checked, errors naming the
 * archive) and parses it, in one worker call. `archive` must not change until this settles.
 */
export function parseKlinesMemberAsync(archive: Uint8Array, member: ZipMember, options: ParseKlinesOptions): Promise<ParsedKlines> {
  return runAsync((callback) => native().parseKlinesMemberAsync(archive, member, call(options), callback), options.signal);
}
