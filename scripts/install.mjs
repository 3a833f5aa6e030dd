#!/usr/bin/env node
// npm install hook. Uses the prebuild in prebuilds/<platform>-<arch>/ when it loads on this machine
// and was built from exactly the native/ sources shipped with it; otherwise builds from source with
// cmake-js (node-gyp-build's own fallback would call node-gyp, which cannot build this CMake project).
//   OHLC_NATIVE_BUILD_FROM_SOURCE=1  always build from source
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeSourceHash } from './source-hash.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const log = (msg) => console.error(`ohlc-native: ${msg}`);

function usablePrebuild() {
  process.env.PREBUILDS_ONLY = '1';
  let path;
  try {
    path = require('node-gyp-build').resolve(root);
  } catch {
    return null;
  }
  try {
    const addon = require(path);
    const expected = nativeSourceHash(root);
    if (expected !== null && addon.info().sourceHash !== expected) {
      log(`prebuild ${path} was built from other sources; building from source instead`);
      return null;
    }
    return path;
  } catch (err) {
    log(`prebuild ${path} does not load here (${err.message.split('\n')[0]}); building from source instead`);
    return null;
  }
}

if (process.env.OHLC_NATIVE_BUILD_FROM_SOURCE !== '1') {
  const prebuild = usablePrebuild();
  if (prebuild) {
    log(`using prebuild ${prebuild}`);
    process.exit(0);
  }
}

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  log('building from source needs CMake, a C++17 compiler and the libraries the addon links.');
  log('On Debian/Ubuntu: apt-get install cmake g++ libhdf5-dev libdeflate-dev libjpeg-dev zlib1g-dev');
  log('(or run scripts/setup.sh, which installs what is missing)');
  process.exit(1);
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'compile', '--directory', root];
if (process.env.OHLC_NATIVE_CMAKE_ARGS) {
  for (const a of process.env.OHLC_NATIVE_CMAKE_ARGS.split(/\s+/).filter(Boolean)) args.push(`--CD${a.replace(/^-D/, '')}`);
}
const build = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(build.status ?? 1);
