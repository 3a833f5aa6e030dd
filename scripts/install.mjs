#!/usr/bin/env node
// npm install hook. Uses the prebuild in prebuilds/<platform>-<arch>/ when it loads on this machine
// and was built from exactly the native/ sources shipped with it; otherwise builds from source with
// cmake-js (node-gyp-build's own fallback would call node-gyp, which cannot build this CMake project).
//   OHLC_NATIVE_BUILD_FROM_SOURCE=1  always build from source
//   --dry-run                        print the decision as JSON and build nothing
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeSourceHash } from './source-hash.mjs';

const require = createRequire(import.meta.url);
const log = (msg) => console.error(`ohlc-native: ${msg}`);

/**
 * Whether installing the package at `root` can use its prebuild: { action: 'prebuild', path } when
 * node-gyp-build finds one under root/prebuilds/ that loads here and whose embedded source hash
 * matches root's native/ sources (or no sources are shipped); otherwise { action: 'build', reason }.
 * Loads the candidate prebuild into this process.
 */
export function decideInstall(root, env = process.env) {
  if (env.OHLC_NATIVE_BUILD_FROM_SOURCE === '1') {
    return { action: 'build', reason: 'OHLC_NATIVE_BUILD_FROM_SOURCE=1' };
  }
  let path;
  try {
    path = require('node-gyp-build').resolve(root);
  } catch {
    return { action: 'build', reason: `no prebuild for ${process.platform}-${process.arch} in ${join(root, 'prebuilds')}` };
  }
  // node-gyp-build also looks in build/ (unless PREBUILDS_ONLY was set before it loaded) and beside
  // the node executable: only a prebuild shipped with the package counts here.
  const rel = relative(join(root, 'prebuilds'), path);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    return { action: 'build', reason: `no prebuild for ${process.platform}-${process.arch} in ${join(root, 'prebuilds')}` };
  }
  let built;
  try {
    built = require(path).info().sourceHash;
  } catch (err) {
    return { action: 'build', path, reason: `prebuild ${path} does not load here (${String(err.message).split('\n')[0]})` };
  }
  const expected = nativeSourceHash(root);
  if (expected !== null && built !== expected) {
    return {
      action: 'build',
      path,
      reason: `prebuild ${path} was built from other sources (binary ${String(built).slice(0, 12)}, sources ${expected.slice(0, 12)})`,
    };
  }
  return { action: 'prebuild', path };
}

function buildFromSource(root) {
  const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (cmake.error || cmake.status !== 0) {
    log('building from source needs CMake, a C++17 compiler and the libraries the addon links.');
    log('On Debian/Ubuntu: apt-get install cmake g++ libhdf5-dev libdeflate-dev libjpeg-dev zlib1g-dev');
    log('(or run scripts/setup.sh, which installs what is missing)');
    return 1;
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'compile', '--directory', root];
  if (process.env.OHLC_NATIVE_CMAKE_ARGS) {
    for (const a of process.env.OHLC_NATIVE_CMAKE_ARGS.split(/\s+/).filter(Boolean)) args.push(`--CD${a.replace(/^-D/, '')}`);
  }
  const build = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  return build.status ?? 1;
}

function isMain() {
  // realpath: under pnpm or npm link argv[1] is a symlinked path, import.meta.url the real one.
  try {
    return realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  process.env.PREBUILDS_ONLY = '1'; // before node-gyp-build loads: never pick up a build/ directory
  const decision = decideInstall(root);
  if (process.argv.includes('--dry-run')) {
    console.log(JSON.stringify(decision));
    process.exit(0);
  }
  if (decision.action === 'prebuild') {
    log(`using prebuild ${decision.path}`);
    process.exit(0);
  }
  if (decision.path) log(`${decision.reason}; building from source instead`);
  process.exit(buildFromSource(root));
}
