// Loads the addon: a local build (build/Release) first, then prebuilds/<platform>-<arch>/, through
// node-gyp-build. A binary whose embedded source hash differs from the native/ sources shipped
// beside it (a stale prebuild or a forgotten rebuild) is refused, never loaded silently.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeSourceHash } from '../scripts/source-hash.mjs';
import type { NativeAddon } from './native-types.js';

export type { NativeAddon } from './native-types.js';

const require = createRequire(import.meta.url);
/** The package root: this file lives in dist/ (or ts/ under tsx). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let cached: NativeAddon | undefined;
let cachedPath: string | undefined;

export function addonPath(): string {
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  return nodeGypBuild.resolve(packageRoot);
}

/** The loaded addon (loaded once, on first use). */
export function native(): NativeAddon {
  if (cached) return cached;
  const path = addonPath();
  const addon = require(path) as NativeAddon;
  const built = addon.info().sourceHash;
  const expected = process.env.OHLC_NATIVE_SKIP_HASH_CHECK === '1' ? null : nativeSourceHash(packageRoot);
  if (expected !== null && built !== expected) {
    throw new Error(
      `The ohlc-native binary ${path} was built from other native sources than those in ${join(packageRoot, 'native')} ` +
        `(binary ${built.slice(0, 12)}, sources ${expected.slice(0, 12)}). Rebuild it with \`npm run build:native\`, ` +
        'or remove the stale binary.',
    );
  }
  cached = addon;
  cachedPath = path;
  return addon;
}

export function loadedAddonPath(): string | undefined {
  return cachedPath;
}
