// The one way the TS layer runs native work: runNativeTask starts an addon call, wires its
// AbortSignal to the call's cancel function and its progress to a callback, keeps the buffers it
// was lent in place, and turns native failures into the package's own errors (fromNative), with
// the stack of the JS caller. Every async binding goes through here (binding/task.hpp is the
// native half).
import { markAsUntransferable } from 'node:worker_threads';
import { abortError, ErrorCode, isAbortError, OhlcError, type ErrorCodeValue } from '../errors.js';
import type { NativeCancel, NativeDone, NativeProgress } from './addon.js';

export interface NativeTaskOptions {
  signal?: AbortSignal;
  onProgress?: NativeProgress;
  /**
   * Typed arrays the native work reads or writes after the call returns. Their buffers are
   * marked untransferable, so a structuredClone/postMessage transfer copies them instead of
   * moving their memory away from under the worker (resizable and shared buffers are refused
   * earlier, by checkFixedBuffer).
   */
  lend?: ReadonlyArray<ArrayBufferView | null | undefined>;
  /** Rewrites an error after fromNative (e.g. to name the file it is about). */
  mapError?: (err: Error) => Error;
}

const VALID_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Marks the buffers of `views` untransferable, at once. Call it when the caller hands them over
 * (e.g. when an append is queued behind another), not only when the native work starts.
 */
export function lendToNative(views: ReadonlyArray<ArrayBufferView | null | undefined>): void {
  for (const view of views) if (view) markAsUntransferable(view.buffer);
}

function withStack<T extends Error>(err: T, stack: string | undefined): T {
  if (stack) err.stack = `${err.name}: ${err.message}${stack.slice(stack.indexOf('\n'))}`;
  return err;
}

/**
 * A native failure as the package's error of the same meaning: an abort becomes the AbortError of
 * `signal`, an argument failure a TypeError/RangeError, an invalid price a RangeError, anything
 * else an OhlcError; detail properties (param, window, candle, file, line, ...) are kept.
 */
export function fromNative(err: unknown, signal?: AbortSignal, stack?: string): Error {
  if (!(err instanceof Error)) return new OhlcError(ErrorCode.native, String(err));
  if (isAbortError(err)) return abortError(signal);
  const { code, ...details } = Object.fromEntries(Object.entries(err)) as { code?: string } & Record<string, unknown>;
  let out: Error;
  if (code === ErrorCode.invalidArgument || code === ErrorCode.invalidPrice || err instanceof RangeError || err instanceof TypeError) {
    const Ctor = err instanceof RangeError ? RangeError : TypeError;
    out = Object.assign(new Ctor(err.message), { code: code ?? ErrorCode.native });
  } else {
    out = new OhlcError(code !== undefined && VALID_CODES.has(code) ? (code as ErrorCodeValue) : ErrorCode.native, err.message);
  }
  Object.assign(out, details);
  if (stack === undefined) Error.captureStackTrace(out, fromNative);
  return withStack(out, stack);
}

/**
 * Runs one native task: `start(done, progress)` makes the addon call and returns its cancel
 * function. Resolves with the task's result; rejects with fromNative's error, or the signal's
 * AbortError once the signal fired (whatever the task then reported).
 */
export function runNativeTask<T = void>(start: (done: NativeDone<T>, progress: NativeProgress | undefined) => NativeCancel, options: NativeTaskOptions = {}): Promise<T> {
  const { signal, onProgress, lend, mapError } = options;
  const caller: { stack?: string } = {};
  Error.captureStackTrace(caller, runNativeTask);
  const fail = (err: unknown) => {
    const e = fromNative(err, signal, caller.stack);
    return mapError && !isAbortError(e) ? mapError(e) : e;
  };
  if (signal?.aborted) return Promise.reject(abortError(signal));
  lendToNative(lend ?? []);
  return new Promise<T>((resolve, reject) => {
    let cancel: NativeCancel | undefined;
    const onAbort = () => cancel?.();
    const done: NativeDone<T> = (err, result) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(abortError(signal));
      else if (err) reject(fail(err));
      else resolve(result as T);
    };
    try {
      cancel = start(done, onProgress);
    } catch (err) {
      reject(fail(err));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A synchronous addon call with the same error mapping. */
export function callNative<T>(call: () => T, mapError?: (err: Error) => Error): T {
  try {
    return call();
  } catch (err) {
    const e = fromNative(err);
    throw mapError ? mapError(e) : e;
  }
}
