// The model store's error codes, as named in the package's one table (ErrorCode in ts/errors.ts).
// Every message names the file it is about.
import { ErrorCode, OhlcError } from '../errors.js';

export const ModelErrorCode = {
  /** No such model, sidecar or model file; or no models at all for 'latest'. */
  notFound: ErrorCode.modelNotFound,
  /** The sidecar is not valid JSON, lacks a field, or disagrees with its file name. */
  badMetadata: ErrorCode.modelMetadata,
  /** The model file does not inflate, or its size or SHA-256 differs from the sidecar's. */
  corrupt: ErrorCode.modelCorrupt,
  /** No free name could be reserved (another writer keeps taking them). */
  nameTaken: ErrorCode.modelNameTaken,
} as const;

export function modelError(code: (typeof ModelErrorCode)[keyof typeof ModelErrorCode], message: string, cause?: unknown): OhlcError {
  return new OhlcError(code, message, cause === undefined ? undefined : { cause });
}

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}
