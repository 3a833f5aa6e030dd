#!/usr/bin/env bash
# Proves that prebuilds/linux-x64 loads and works on a machine without compilers or the HDF5,
# libdeflate, libjpeg (or libgomp, libstdc++ dev) packages: in a throwaway mount namespace it builds
# a minimal root holding only
#   - the node binary, the dynamic loader and the shared libraries node itself needs (ldd),
#   - the system libraries the prebuild is allowed to need (glibc's libraries and zlib),
#   - /pkg/prebuilds/linux-x64 and /pkg/node_modules/node-gyp-build (read-only),
#   - an empty /tmp, /proc, /dev/null and /dev/urandom,
# chroots into it and, with PREBUILDS_ONLY=1, resolves the addon through node-gyp-build, checks
# info() (source hash, OpenMP), rasterizes, writes and reads back an HDF5 file (zlib filter), an NPZ
# file and a JPEG picture folder through the addon's exports.
#
#   scripts/check-prebuild.sh [prebuild dir]     (default prebuilds/linux-x64; needs root, or
#                                                 unprivileged user namespaces)
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

if [[ ${1:-} == --inside ]]; then
  # ---- Runs inside the new mount namespace: everything mounted here vanishes with it. ----------
  new=$2 prebuild=$3 node_bin=$4
  shift 4
  libs=("$@")
  mount -t tmpfs -o size=64m,mode=755 ohlc-check "$new"
  mkdir -p "$new"/{usr/bin,lib64,lib/x86_64-linux-gnu,tmp,dev,proc,pkg/prebuilds/linux-x64,pkg/node_modules/node-gyp-build}
  chmod 1777 "$new/tmp"
  bind() { # host path, path inside the new root (read-only)
    if [[ -d $1 ]]; then mkdir -p "$new$2"; else touch "$new$2"; fi
    mount --bind "$1" "$new$2"
    mount -o remount,bind,ro "$new$2"
  }
  bind "$node_bin" /usr/bin/node
  bind /lib64/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
  for lib in "${libs[@]}"; do bind "$lib" "/lib/x86_64-linux-gnu/$(basename "$lib")"; done
  bind "$prebuild" /pkg/prebuilds/linux-x64
  bind "$root/node_modules/node-gyp-build" /pkg/node_modules/node-gyp-build
  bind /dev/null /dev/null
  bind /dev/urandom /dev/urandom
  mount -t proc proc "$new/proc"
  echo '{ "name": "ohlc-native", "private": true }' >"$new/pkg/package.json"
  cat >"$new/pkg/check.cjs" <<'EOF'
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { promisify } = require('node:util');

async function main() {
  const path = require('node-gyp-build').resolve('/pkg');
  assert.equal(path, '/pkg/prebuilds/linux-x64/ohlc-native.napi.glibc.node');
  const addon = require(path);
  const info = addon.info();
  console.log('info()', JSON.stringify(info));
  assert.equal(info.sourceHash, process.env.EXPECTED_HASH, 'embedded source hash');
  assert.equal(info.openmp, true);
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5]).filter((p) => p && p.startsWith('/'));
  const loaded = [...new Set(maps)].filter((p) => p.includes('.so') || p.endsWith('.node')).sort();
  console.log('mapped files:', loaded.join(' '));
  assert.ok(loaded.includes('/pkg/prebuilds/linux-x64/libgomp.so.1') || !fs.existsSync('/pkg/prebuilds/linux-x64/libgomp.so.1'));

  // 3 windows of 5 candles, 16 pixels high.
  const n = 12, seqLen = 5, height = 16, count = 3, pixels = height * 4 * seqLen;
  const close = Float64Array.from({ length: n }, (_, i) => 100 + 3 * Math.sin(i));
  const open = Float64Array.from(close, (c, i) => (i ? close[i - 1] : c - 0.5));
  const high = Float64Array.from(close, (c, i) => Math.max(c, open[i]) + 0.7);
  const low = Float64Array.from(close, (c, i) => Math.min(c, open[i]) - 0.4);
  const out = new Uint8Array(count * pixels);
  addon.rasterize({ open, high, low, close, starts: null, first: 0, stride: 2, count, seqLen, height, dtype: 0, out, threads: 2, device: 0 });
  assert.ok(new Set(out).size > 1, 'rasterize drew something');
  const starts = Float64Array.from([0, 2, 4]);
  const batch = { count, open, high, low, close, starts, timestamps: Float64Array.from([1, 2, 3]), labels: Int8Array.from([1, -1, 0]), returns: Float64Array.from([0.01, -0.02, 0]) };
  const meta = { attributes: [{ name: 'symbol', kind: 'string', value: 'TESTUSDT' }], json: '{"check":true}' };

  async function write(format, path) {
    const writer = await promisify(addon.openWriter)({ format, path, tempPath: `${path}.partial`, overwrite: false, seqLen, height, dtype: 0, horizons: 1, compression: 6, jpegQuality: 90, threads: 2 });
    await new Promise((res, rej) => writer.append(batch, (err) => (err ? rej(err) : res())));
    await new Promise((res, rej) => writer.close(meta, (err) => (err ? rej(err) : res())));
  }
  const read = (path, format) => new Promise((res, rej) => addon.readDataset(path, format, Float64Array.from([0, 1, 2]), (err, r) => (err ? rej(err) : res(r))));
  const images = (r) => new Uint8Array(r.arrays.find((a) => a.name === 'images').data);

  await write(0, '/tmp/check.h5');
  const h5 = await read('/tmp/check.h5', 'hdf5');
  assert.equal(h5.rows, 3);
  assert.deepEqual(images(h5), out, 'HDF5 images read back');
  assert.equal(h5.attributes.symbol, 'TESTUSDT');
  console.log(`hdf5: wrote and read ${fs.statSync('/tmp/check.h5').size} bytes, images identical`);

  await write(1, '/tmp/check.npz');
  assert.deepEqual(images(await read('/tmp/check.npz', 'npz')), out, 'NPZ images read back');
  console.log(`npz: wrote and read ${fs.statSync('/tmp/check.npz').size} bytes, images identical`);

  await write(4, '/tmp/pictures');
  const jpgs = fs.readdirSync('/tmp/pictures').filter((f) => f.endsWith('.jpg') || f.endsWith('.jpeg'));
  assert.equal(jpgs.length, 3, 'three JPEG files');
  const decoded = await promisify(addon.decodeJpeg)(fs.readFileSync(`/tmp/pictures/${jpgs[0]}`));
  assert.equal(decoded.height, height);
  assert.equal(decoded.width, 4 * seqLen);
  console.log(`jpeg: wrote ${jpgs.length} files, decoded ${jpgs[0]} (${decoded.width}x${decoded.height})`);
  console.log('PREBUILD CHECK PASSED');
}
main().catch((err) => {
  console.error('PREBUILD CHECK FAILED:', err);
  process.exit(1);
});
EOF
  echo "root for the check (everything else on the machine is invisible):"
  (cd "$new" && find . -mindepth 1 \( -path ./proc -o -path ./pkg/node_modules \) -prune -o -print | sort | sed 's/^\./  /')
  exec env -i PATH=/usr/bin HOME=/tmp PREBUILDS_ONLY=1 "EXPECTED_HASH=$EXPECTED_HASH" \
    "$(command -v chroot)" "$new" /usr/bin/node /pkg/check.cjs
fi

# ---- Outside: gather what the new root needs, then re-run this script in a mount namespace. -----
prebuild=$(cd -- "${1:-$root/prebuilds/linux-x64}" && pwd)
[[ -f $prebuild/ohlc-native.napi.glibc.node ]] || { echo "no prebuild in $prebuild: run npm run make-prebuild" >&2; exit 1; }
node_bin=$(readlink -f "$(command -v node)")
[[ $(uname -m) == x86_64 && -e /lib64/ld-linux-x86-64.so.2 ]] || { echo "linux-x64 only" >&2; exit 1; }

# node's own libraries (as ldd resolves them) plus the allowed system libraries: nothing else.
mapfile -t libs < <(
  {
    ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
    for name in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libz.so.1 libnettle.so.8; do
      for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu; do
        [[ -e $dir/$name ]] && { echo "$dir/$name"; break; }
      done
    done
  } | awk -F/ '!seen[$NF]++'
)
EXPECTED_HASH=$(node "$root/scripts/source-hash.mjs" "$root")
export EXPECTED_HASH
echo "prebuild:   $prebuild"
(cd "$prebuild" && find . -maxdepth 1 -type f -printf '  %f %s bytes\n' | sort)
echo "node:       $node_bin ($(node --version))"
echo "sources:    $EXPECTED_HASH"

new=$(mktemp -d "${TMPDIR:-/tmp}/ohlc-check.XXXXXX")
trap 'rmdir "$new" 2>/dev/null || true' EXIT
ns=(unshare --mount --pid --fork --propagation private)
[[ $EUID -eq 0 ]] || ns=(unshare --map-root-user --mount --pid --fork --propagation private)
"${ns[@]}" bash "${BASH_SOURCE[0]}" --inside "$new" "$prebuild" "$node_bin" "${libs[@]}"
