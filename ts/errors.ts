// Errors users see. Argument errors name the parameter, the expected kind and the value received
// (one helper, so every message reads the same); native errors are rethrown with a JS stack.

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

/**
 * The error for a bad argument: a TypeError when the kind is wrong, a RangeError when the kind is
 * right and the value is not (pass `range: true`).
 */
export function invalidParameterError(name: string, expected: string, value: unknown, range = false): TypeError | RangeError {
  const message = `Expected ${expected} for ${name} but received ${describeValue(value)}`;
  const err = range ? new RangeError(message) : new TypeError(message);
  (err as Error & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

/** An error from a stage of work (data, storage, pipeline) with a stable `code`. */
export class OhlcError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OhlcError';
    this.code = code;
  }
}

/** The AbortError every long operation rejects with, carrying the signal's reason. */
export function abortError(signal?: AbortSignal): Error {
  const reason = signal?.reason;
  const err = new Error('The operation was aborted', { cause: reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Native code creates plain errors on the native side; this makes them errors of the same kind
 * whose stack shows the JS caller, keeping `code` and any detail properties (an abort becomes the
 * AbortError of `signal`).
 */
export function nativeError(err: unknown, signal?: AbortSignal): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  if (isAbortError(err)) return abortError(signal);
  const Ctor = err instanceof RangeError ? RangeError : err instanceof TypeError ? TypeError : Error;
  const copy = new Ctor(err.message);
  for (const [k, v] of Object.entries(err)) (copy as unknown as Record<string, unknown>)[k] = v;
  Error.captureStackTrace(copy, nativeError);
  return copy;
}

export function rethrowNative(err: unknown, signal?: AbortSignal): never {
  throw nativeError(err, signal);
}
