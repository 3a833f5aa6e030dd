// Errors users see: one table of codes (the README's "Errors" section lists the same), one error
// class for every stage of work, and one helper for bad arguments, so every message reads the
// same way. Native failures arrive through ts/native/task.ts and become these errors there.

/** Every code an error of this package carries. */
export const ErrorCode = {
  /** A bad argument or option: a TypeError (wrong kind) or RangeError (right kind, bad value). */
  invalidArgument: 'ERR_INVALID_ARG_VALUE',
  /** The operation was aborted through its AbortSignal (or Ctrl-C in the CLI). */
  aborted: 'ABORT_ERR',
  /** The configuration (file, --set or defaults) is invalid; nothing was done. */
  config: 'ERR_OHLC_CONFIG',
  /** A window to draw holds a price that is not finite and > 0. */
  invalidPrice: 'ERR_OHLC_INVALID_PRICE',
  /** A window to draw in the jkx layout holds a volume that is not finite and >= 0. */
  invalidVolume: 'ERR_OHLC_INVALID_VOLUME',
  /** A window cannot be drawn in the jkx layout: flat after scaling, or a scaled value overflows float64. */
  undrawable: 'ERR_OHLC_UNDRAWABLE',
  /** A kline CSV row cannot be read. */
  malformedRow: 'ERR_OHLC_MALFORMED_ROW',
  /** An archive is not a usable ZIP with one CSV member. */
  zip: 'ERR_OHLC_ZIP',
  /** An archive member declares more bytes than its period can hold. */
  zipBomb: 'ERR_OHLC_ZIP_BOMB',
  /** An archive does not match its .CHECKSUM, or the checksum file is unusable. */
  checksum: 'ERR_OHLC_CHECKSUM',
  /** An archive's content cannot be right: no candles, or rows outside its own period (timestamps in seconds, say). */
  badData: 'ERR_OHLC_BAD_DATA',
  /** Nothing to build: dates in the future, fewer candles than a window, or no usable window. */
  noData: 'ERR_OHLC_NO_DATA',
  /** A file or URL that should exist does not (HTTP 404, a missing dataset). */
  notFound: 'ERR_OHLC_NOT_FOUND',
  /** The network failed after every retry. */
  network: 'ERR_OHLC_NETWORK',
  /** The server answered with an HTTP error that retrying cannot fix. */
  http: 'ERR_OHLC_HTTP',
  /** A bucket listing is not a usable S3 ListBucketResult, or its pages do not advance. */
  listing: 'ERR_OHLC_LISTING',
  /** A download is larger than such a file can be. */
  tooLarge: 'ERR_OHLC_TOO_LARGE',
  /** Writing or reading a dataset failed (the message names the file and the cause). */
  storage: 'ERR_OHLC_STORAGE',
  /** The output exists and replacing it was not allowed. */
  exists: 'ERR_OHLC_EXISTS',
  /** A sharded build cannot be merged: a shard is missing, incomplete, or built from another config. */
  shards: 'ERR_OHLC_SHARDS',
  /** device 'cuda' was asked for but no usable GPU is there. */
  noCuda: 'ERR_OHLC_NO_CUDA',
  /** No such model, sidecar or model file; or no models at all for 'latest'. */
  modelNotFound: 'ERR_OHLC_MODEL_NOT_FOUND',
  /** A model's metadata sidecar is not valid JSON, lacks a field, or disagrees with its file name. */
  modelMetadata: 'ERR_OHLC_MODEL_METADATA',
  /** A model file does not inflate, or its size or SHA-256 differs from its sidecar's. */
  modelCorrupt: 'ERR_OHLC_MODEL_CORRUPT',
  /** No free model name could be reserved (another writer keeps taking them). */
  modelNameTaken: 'ERR_OHLC_MODEL_NAME_TAKEN',
  /** The native addon failed in a way no other code describes. */
  native: 'ERR_OHLC_NATIVE',
  /** A bug: something the package itself should have prevented. */
  internal: 'ERR_OHLC_INTERNAL',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Short, readable rendering of a received value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${String(value)} (${typeof value})`;
  if (typeof value === 'function') return 'a function';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    return 'length' in value ? `${name}(${(value as unknown as { length: number }).length})` : name;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const ctor = (value as object).constructor;
  return ctor && ctor !== Object ? `a ${ctor.name}` : 'an object';
}

/** What an argument error says about itself, so callers never parse its message. */
export interface ArgumentErrorDetail {
  code: typeof ErrorCode.invalidArgument;
  /** The parameter as the caller named it ('seqLen', 'batch.starts[3]', ...). */
  param: string;
  /** What was expected, as a phrase ('an integer between 1 and 100'). */
  expected: string;
  /** describeValue of what was received. */
  received: string;
}

export type ArgumentError = (TypeError | RangeError) & ArgumentErrorDetail;

/**
 * The error for a bad argument: a TypeError when the kind is wrong, a RangeError when the kind is
 * right and the value is not (pass `range: true`).
 */
export function invalidParameterError(name: string, expected: string, value: unknown, range = false): ArgumentError {
  const received = describeValue(value);
  const message = `Expected ${expected} for ${name} but received ${received}`;
  const err = (range ? new RangeError(message) : new TypeError(message)) as ArgumentError;
  Object.assign(err, { code: ErrorCode.invalidArgument, param: name, expected, received });
  return err;
}

export function isArgumentError(err: unknown): err is ArgumentError {
  return err instanceof Error && (err as { code?: string }).code === ErrorCode.invalidArgument && typeof (err as { param?: unknown }).param === 'string';
}

/** An error from a stage of work (data, storage, pipeline, models) with a stable `code`. */
export class OhlcError extends Error {
  readonly code: string;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OhlcError';
    this.code = code;
  }
}

/** An invalid configuration: one problem per entry, each naming the key and the value. */
export class ConfigError extends OhlcError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(ErrorCode.config, `Invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The AbortError every long operation rejects with, carrying the signal's reason. */
export function abortError(signal?: AbortSignal): Error {
  const reason = signal?.reason;
  const err = new Error('The operation was aborted', { cause: reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = ErrorCode.aborted;
  return err;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === ErrorCode.aborted);
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}
