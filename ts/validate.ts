// Argument checks shared by every public function. Each throws invalidParameterError, so a
// message always names the parameter, the kind expected and the value received.
import { invalidParameterError } from './errors.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

export function checkObject(name: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidParameterError(name, 'an object', value);
  return value;
}

export function checkOptionalObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  return checkObject(name, value);
}

/** An integer in [min, max]; TypeError for a non-number, RangeError for a number out of range. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  if (typeof value !== 'number') throw invalidParameterError(name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw invalidParameterError(name, expected, value, true);
  return value;
}

export function checkOptionalInteger(name: string, value: unknown, fallback: number, min: number, max?: number): number {
  return value === undefined ? fallback : checkInteger(name, value, min, max);
}

export function checkNumber(name: string, value: unknown, expected = 'a finite number'): number {
  if (typeof value !== 'number') throw invalidParameterError(name, expected, value);
  if (!Number.isFinite(value)) throw invalidParameterError(name, expected, value, true);
  return value;
}

export function checkString(name: string, value: unknown, expected = 'a non-empty string'): string {
  if (typeof value !== 'string') throw invalidParameterError(name, expected, value);
  if (value.length === 0) throw invalidParameterError(name, expected, value, true);
  return value;
}

export function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'a boolean', value);
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  const expected = `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  if (typeof value !== 'string') throw invalidParameterError(name, expected, value);
  if (!(allowed as readonly string[]).includes(value)) throw invalidParameterError(name, expected, value, true);
  return value as T;
}

/**
 * A typed array on memory that stays put while native code works on it: a SharedArrayBuffer or
 * a resizable ArrayBuffer can change under another thread, so both are refused, naming `name`.
 */
export function checkFixedBuffer<T extends ArrayBufferView>(name: string, view: T): T {
  const buffer = view.buffer as ArrayBufferLike & { resizable?: boolean };
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) {
    throw invalidParameterError(name, `a ${view.constructor.name} on an ordinary ArrayBuffer (SharedArrayBuffer memory is not supported)`, view);
  }
  if (buffer.resizable === true) {
    throw invalidParameterError(name, `a ${view.constructor.name} on a fixed-length ArrayBuffer (a resizable one could shrink while native code reads it)`, view);
  }
  return view;
}

export function checkFloat64Array(name: string, value: unknown): Float64Array {
  if (!(value instanceof Float64Array)) throw invalidParameterError(name, 'a Float64Array', value);
  return checkFixedBuffer(name, value);
}

export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidParameterError(name, 'an AbortSignal', value);
  return value;
}

export function checkFunction<F extends (...args: never[]) => unknown>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidParameterError(name, 'a function', value);
  return value as F;
}

/** Rejects keys the caller did not mean (a typo in an option name would otherwise be ignored). */
export function checkKnownKeys(name: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key) && value[key] !== undefined) {
      throw invalidParameterError(`${name}.${key}`, `no such option (known: ${known.join(', ')})`, value[key]);
    }
  }
}
