/** Hash of the native sources under `root` (see source-hash.mjs), or null where none are shipped. */
export function nativeSourceHash(root: string): string | null;
