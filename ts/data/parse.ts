// Kline CSV -> columns, through the addon's parser (native/kernels/klines_csv). The async forms
// run as native tasks; the input buffer is lent, not copied, so callers hand over a buffer they no
// longer touch. parseKlinesMemberAsync reads a ZIP member straight from its archive: inflated,
// checked and parsed in one task, the CSV never reaching JS; a large member (a month of 1s
// candles) is inflated in slices into an incremental parser, so it never exists whole in memory.
import { ErrorCode, OhlcError } from '../errors.js';
import type { NativeKlines, NativeKlinesCall, NativeMemberKlinesCall } from '../native/addon.js';
import { native } from '../native/load.js';
import { callNative, runNativeTask } from '../native/task.js';
import type { MalformedRowPolicy } from './types.js';
import type { ZipMember } from './zip.js';

export type ParsedKlines = NativeKlines;

/**
 * Members larger than this are inflated and parsed slice by slice: peak memory is then the columns
 * and one slice, not the columns and the whole CSV (350 MB for a month of 1s candles). Smaller
 * ones take the faster whole-buffer path (libdeflate, one call).
 */
export const STREAM_MEMBER_BYTES = 32 << 20;
/** The slice a large member is inflated into at a time. */
export const STREAM_SLICE_BYTES = 4 << 20;

export interface ParseKlinesOptions {
  /** The archive name used in error messages. */
  name: string;
  onMalformedRow?: MalformedRowPolicy;
  /** What the caller's users call the onMalformedRow option (for the advice in the error). */
  policyName?: string;
  signal?: AbortSignal;
}

export interface ParseMemberOptions extends ParseKlinesOptions {
  /** Rows the archive's period can hold (`expectedRows` in archive.ts): the columns are reserved once for them. */
  expectedRows?: number;
  /** Inflate in slices of this many bytes (0: whole). Default: slices of STREAM_SLICE_BYTES above STREAM_MEMBER_BYTES. */
  sliceBytes?: number;
}

/** A malformed row's error says how to skip such rows, in the caller's words. */
function withAdvice(options: ParseKlinesOptions): (err: Error) => Error {
  return (err) => {
    if ((err as { code?: string }).code !== ErrorCode.malformedRow) return err;
    const { file, line, field } = err as Error & { file?: string; line?: number; field?: string | null };
    const advice = `set ${options.policyName ?? 'onMalformedRow'} to 'skip' to skip such rows`;
    return Object.assign(new OhlcError(ErrorCode.malformedRow, `${err.message} (${advice})`), { file, line, field });
  };
}

function call(options: ParseKlinesOptions): NativeKlinesCall {
  return { name: options.name, skipMalformed: options.onMalformedRow === 'skip' };
}

export function parseKlinesCsv(csv: Uint8Array, options: ParseKlinesOptions): ParsedKlines {
  return callNative(() => native().parseKlines(csv, call(options)), withAdvice(options));
}

export function parseKlinesCsvAsync(csv: Uint8Array, options: ParseKlinesOptions): Promise<ParsedKlines> {
  return runNativeTask<NativeKlines>((done) => native().parseKlinesAsync(csv, call(options), done), { signal: options.signal, lend: [csv], mapError: withAdvice(options) });
}

/**
 * Inflates a ZIP member located by `locateCsvMember` (size and CRC-32 checked, errors naming the
 * archive) and parses it, in one task: whole, or slice by slice for a large member (the same
 * columns, the same errors at the same lines). `archive` is the archive in memory (it must not
 * change until this settles) or its file's path: then the member is read from disk a block at a
 * time and inflated in slices, so not even the compressed archive is held whole.
 */
export function parseKlinesMemberAsync(archive: Uint8Array | string, member: ZipMember, options: ParseMemberOptions): Promise<ParsedKlines> {
  const defaultSlice = member.uncompressedSize > STREAM_MEMBER_BYTES ? STREAM_SLICE_BYTES : 0;
  const memberCall: NativeMemberKlinesCall = {
    ...call(options),
    // A file is always read in slices.
    sliceBytes: typeof archive === 'string' ? options.sliceBytes || STREAM_SLICE_BYTES : (options.sliceBytes ?? defaultSlice),
    expectedRows: options.expectedRows ?? 0,
  };
  return runNativeTask<NativeKlines>((done) => native().parseKlinesMemberAsync(archive, member, memberCall, done), {
    signal: options.signal,
    lend: typeof archive === 'string' ? [] : [archive],
    mapError: withAdvice(options),
  });
}

/**
 * Frees parsed columns now rather than at V8's next collection, by detaching their buffers (every
 * view of them becomes empty): for a caller that is done with a month's columns and holds no other
 * view of them. Returns the bytes released.
 */
export function releaseKlineColumns(columns: Partial<Record<keyof NativeKlines, unknown>>): number {
  const arrays = Object.values(columns).filter((v): v is Float64Array => v instanceof Float64Array);
  return native().releaseColumns(arrays);
}
