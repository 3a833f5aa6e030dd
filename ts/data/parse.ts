// Kline CSV -> columns, through the addon's parser (native/kernels/klines_csv). The async form
// runs on a libuv worker thread; the CSV buffer is pinned there, not copied, so callers hand
// over a buffer they no longer touch.
import { abortError, OhlcError, rethrowNative } from '../errors.js';
import { native } from '../native.js';
import type { NativeKlines, NativeKlinesCall } from './native-klines.js';
import type { MalformedRowPolicy } from './types.js';

export type ParsedKlines = NativeKlines;

export interface ParseKlinesOptions {
  /** The archive name used in error messages. */
  name: string;
  onMalformedRow?: MalformedRowPolicy;
  signal?: AbortSignal;
}

/** A malformed row as an OhlcError carrying file, line and field; anything else rethrown. */
function rethrowParseError(err: unknown, signal?: AbortSignal): never {
  const e = err as Error & { code?: string; file?: string; line?: number; field?: string | null };
  if (e instanceof Error && e.code === 'ERR_OHLC_MALFORMED_ROW') {
    const out = new OhlcError('ERR_OHLC_MALFORMED_ROW', `${e.message} (pass onMalformedRow: 'skip' to skip such rows)`);
    Object.assign(out, { file: e.file, line: e.line, field: e.field });
    throw out;
  }
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

export function parseKlinesCsvAsync(csv: Uint8Array, options: ParseKlinesOptions): Promise<ParsedKlines> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    let cancel: (() => void) | undefined;
    const onAbort = () => cancel?.();
    try {
      cancel = native().parseKlinesAsync(csv, call(options), (err, result) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(abortError(signal));
        else if (err || !result) {
          try {
            rethrowParseError(err ?? new Error('native: parseKlinesAsync returned nothing'), signal);
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
