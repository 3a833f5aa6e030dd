// Loads the addon: a local build (build/Release) first, then prebuilds/<platform>-<arch>/, through
// node-gyp-build. A binary whose embedded source hash differs from the native/ sources shipped
// beside it (a stale prebuild or a forgotten rebuild) is refused, never loaded silently.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeSourceHash } from '../../scripts/source-hash.mjs';
import type { NativeAddon } from './addon.js';

export type { NativeAddon } from './addon.js';

const require = createRequire(import.meta.url);
/** The package root: this file lives in dist/native/ (or ts/native/ under tsx). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: NativeAddon | undefined;
let cachedPath: string | undefined;

export function addonPath(): string {
  return resolveAddon(packageRoot);
}

function resolveAddon(root: string): string {
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  return nodeGypBuild.resolve(root);
}

/**
 * @internal Loads the addon that node-gyp-build finds under `root` (build/Release, then
 * prebuilds/<platform>-<arch>/) and refuses it when its embedded source hash differs from the
 * native/ sources under `root`. Not cached; `native()` is this for the package root, loaded once.
 */
export function loadAddonFrom(root: string): { addon: NativeAddon; path: string } {
  const path = resolveAddon(root);
  const addon = require(path) as NativeAddon;
  const built = addon.info().sourceHash;
  const expected = process.env.OHLC_NATIVE_SKIP_HASH_CHECK === '1' ? null : nativeSourceHash(root);
  if (expected !== null && built !== expected) {
    throw new Error(
      `The ohlc-native binary ${path} was built from other native sources than those in ${join(root, 'native')} ` +
        `(binary ${built.slice(0, 12)}, sources ${expected.slice(0, 12)}). Rebuild it with \`npm run build:native\`, ` +
        'or remove the stale binary.',
    );
  }
  return { addon, path };
}

/** The loaded addon (loaded once, on first use). */
export function native(): NativeAddon {
  if (cached) return cached;
  const { addon, path } = loadAddonFrom(packageRoot);
  cached = addon;
  cachedPath = path;
  return addon;
}

export function loadedAddonPath(): string | undefined {
  return cachedPath;
}
