#!/usr/bin/env bash
# Builds the linux-x64 prebuild (npm run make-prebuild):
#
#   prebuilds/linux-x64/ohlc-native.napi.glibc.node   the addon (prebuildify's name, read by node-gyp-build)
#   prebuilds/linux-x64/libgomp.so.1                  GCC's OpenMP runtime (found through RUNPATH $ORIGIN)
#   prebuilds/linux-x64/licenses/                     notices of the code linked or bundled in
#
# HDF5 (C library, zlib filter), libdeflate and libjpeg-turbo are built here from Debian's source
# packages as static, position-independent libraries (Debian's own .a files are not all PIC) and
# linked into the addon; libstdc++/libgcc are linked statically (OHLC_PORTABLE_RUNTIME). What is left
# outside the folder is checked against ALLOWED_SYSTEM_LIBS below: libraries every Debian/Ubuntu
# system has. See prebuilds/README.md.
#
# Work and caches live in .prebuild-work/ (OHLC_PREBUILD_WORK): Debian sources in src/ (fetched
# with `apt-get source` when missing, which needs a deb-src entry), the built dependencies in
# prefix/ (rebuilt only when their source version or this recipe changes), the addon build in
# addon/. Delete src/ to pick up a newer Debian revision.
#
# Environment:
#   OHLC_PREBUILD_CUDA=auto|on|off   CUDA kernels: auto (default) compiles them when nvcc is found
#   OHLC_PREBUILD_JOBS=N             parallel jobs (default: nproc)
#   OHLC_PREBUILD_WORK=DIR           work directory (default: .prebuild-work)
#   OHLC_PREBUILD_CHECK=0            skip scripts/check-prebuild.sh (needs root or user namespaces)
set -euo pipefail

# Bump when a dependency's build recipe changes: the cached dependencies are then rebuilt.
RECIPE=3
# Shared libraries the prebuild may need from the system: glibc's, zlib's (zlib1g is Essential) and
# Nettle's (SHA-256; libnettle8 comes with GnuTLS, which apt itself depends on; linked dynamically,
# as its LGPL prefers).
ALLOWED_SYSTEM_LIBS=(libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libz.so.1 libnettle.so.8 ld-linux-x86-64.so.2)
# Shared libraries copied beside the .node when it needs them (no PIC static archive exists).
BUNDLEABLE_LIBS=(libgomp.so.1)
ADDON_NAME=ohlc-native.napi.glibc.node

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
work=${OHLC_PREBUILD_WORK:-$root/.prebuild-work}
jobs=${OHLC_PREBUILD_JOBS:-$(nproc)}
cuda=${OHLC_PREBUILD_CUDA:-auto}
out_dir=$root/prebuilds/linux-x64
prefix=$work/prefix
# Source paths compiled into the dependencies (HDF5's error stack names its files) are made relative
# to the work directory: no build-machine paths in the binary, the same bytes from any checkout.
dep_cflags="-ffile-prefix-map=$work/="
started=$SECONDS

log() { printf 'make-prebuild: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a step with its output in $work/logs/<name>.log; shows the log's tail when it fails.
step() {
  local name=$1
  shift
  local logfile=$work/logs/$name.log
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "$name failed (full log: $logfile)"
  fi
}

[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] || die "this script builds linux-x64 prebuilds only"
getconf GNU_LIBC_VERSION >/dev/null 2>&1 || die "needs a glibc system (the prebuild is tagged glibc)"
case $cuda in auto | on | off) ;; *) die "OHLC_PREBUILD_CUDA must be auto, on or off" ;; esac
for tool in cmake make gcc g++ node readelf nm strip dpkg-source; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install cmake build-essential dpkg-dev nodejs)"
done
[[ -f $root/node_modules/cmake-js/bin/cmake-js ]] || die "run npm install first (cmake-js is missing)"
generator="Unix Makefiles"
command -v ninja >/dev/null && generator=Ninja
mkdir -p "$work/src" "$work/logs" "$work/deps-src" "$work/deps-build" "$prefix/.stamps" "$prefix/licenses"
cd "$work" # nothing a build step writes to its current directory lands in the repository

if [[ -n $(git -C "$root" status --porcelain -- native CMakeLists.txt 2>/dev/null) ]]; then
  log "warning: native/ or CMakeLists.txt has uncommitted changes; the prebuild's source hash covers them"
fi

# --- Dependencies: Debian source packages, built static and -fPIC into $prefix -------------------

# Prints the .dsc of Debian source package $1, downloading it into $work/src when none is there.
debian_source() {
  local pkg=$1 dsc
  dsc=$(find "$work/src" -maxdepth 1 -name "${pkg}_*.dsc" | sort -V | tail -n 1)
  if [[ -z $dsc ]]; then
    log "fetching Debian source package $pkg"
    if ! (cd "$work/src" && apt-get source --download-only "$pkg") >"$work/logs/fetch-$pkg.log" 2>&1; then
      tail -n 20 "$work/logs/fetch-$pkg.log" >&2
      die "apt-get source $pkg failed: add a deb-src entry for your release (see prebuilds/README.md) and run apt-get update"
    fi
    dsc=$(find "$work/src" -maxdepth 1 -name "${pkg}_*.dsc" | sort -V | tail -n 1)
  fi
  [[ -n $dsc ]] || die "no .dsc for $pkg in $work/src"
  echo "$dsc"
}

# Unpacks (and patches) $1.dsc into a fresh directory $2. dpkg-source checks the files against the
# checksums in the .dsc, whose own checksums apt checked against the signed archive index.
unpack() {
  rm -rf "$2"
  step "unpack-$(basename "$2")" dpkg-source --no-copy -x "$1" "$2"
}

cmake_dep() { # source dir, build dir, extra cmake args...
  local src=$1 bld=$2
  shift 2
  rm -rf "$bld"
  mkdir -p "$bld"
  # Configured from inside the build directory: HDF5's configure checks run test programs that
  # write their results into the current directory and read them back from the build directory.
  step "configure-$(basename "$bld")" env -C "$bld" cmake -S "$src" -B "$bld" -G "$generator" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR="$prefix/lib" \
    -DCMAKE_INSTALL_INCLUDEDIR="$prefix/include" -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DCMAKE_C_FLAGS="$dep_cflags" "$@"
  step "build-$(basename "$bld")" cmake --build "$bld" --parallel "$jobs"
  step "install-$(basename "$bld")" cmake --install "$bld"
}

build_libdeflate() { # source dir
  step build-libdeflate make -C "$1" -j"$jobs" libdeflate.a CFLAGS="-fPIC $dep_cflags" DISABLE_SHARED=1
  install -D -m 644 "$1/libdeflate.a" "$prefix/lib/libdeflate.a"
  install -D -m 644 "$1/libdeflate.h" "$prefix/include/libdeflate.h"
  install -D -m 644 "$1/COPYING" "$prefix/licenses/libdeflate/COPYING"
}

build_libjpeg_turbo() { # source dir
  local simd=ON
  if ! command -v nasm >/dev/null && ! command -v yasm >/dev/null; then
    log "warning: nasm not found, libjpeg-turbo is built WITHOUT its SIMD code (slower JPEG); apt-get install nasm"
    simd=OFF
  fi
  cmake_dep "$1" "$work/deps-build/libjpeg-turbo" -DENABLE_SHARED=OFF -DENABLE_STATIC=ON \
    -DWITH_TURBOJPEG=OFF -DWITH_JAVA=OFF -DWITH_SIMD=$simd -DREQUIRE_SIMD=$simd
  install -D -m 644 "$1/LICENSE.md" "$prefix/licenses/libjpeg-turbo/LICENSE.md"
  install -D -m 644 "$1/README.ijg" "$prefix/licenses/libjpeg-turbo/README.ijg"
}

build_hdf5() { # source dir
  # C library only, zlib filter on; no szip, tools, tests, examples, HL, C++, Fortran or Java.
  # Not thread-safe: the addon serialises every HDF5 call behind one mutex (storage/hdf5_util.cpp).
  cmake_dep "$1" "$work/deps-build/hdf5" -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
    -DONLY_SHARED_LIBS=OFF -DBUILD_TESTING=OFF -DHDF5_BUILD_TOOLS=OFF -DHDF5_BUILD_UTILS=OFF \
    -DHDF5_BUILD_EXAMPLES=OFF -DHDF5_BUILD_HL_LIB=OFF -DHDF5_BUILD_CPP_LIB=OFF \
    -DHDF5_BUILD_FORTRAN=OFF -DHDF5_BUILD_JAVA=OFF -DHDF5_ENABLE_PARALLEL=OFF \
    -DHDF5_ENABLE_THREADSAFE=OFF -DHDF5_ENABLE_Z_LIB_SUPPORT=ON -DHDF5_ENABLE_SZIP_SUPPORT=OFF \
    -DHDF5_ENABLE_EMBEDDED_LIBINFO=OFF
  install -D -m 644 "$1/COPYING" "$prefix/licenses/hdf5/COPYING"
}

# Builds Debian source package $1 with build_$2 unless $prefix already holds that exact build.
dependency() {
  local pkg=$1 fn=$2 dsc stamp
  dsc=$(debian_source "$pkg")
  stamp="$(basename "$dsc") recipe=$RECIPE gcc-$(gcc -dumpfullversion)"
  if [[ -f $prefix/.stamps/$pkg && $(cat "$prefix/.stamps/$pkg") == "$stamp" ]]; then
    log "$pkg: cached ($(basename "$dsc" .dsc))"
    return
  fi
  local t=$SECONDS
  log "$pkg: building $(basename "$dsc" .dsc) (static, -fPIC)"
  rm -f "$prefix/.stamps/$pkg"
  unpack "$dsc" "$work/deps-src/$pkg"
  "build_$fn" "$work/deps-src/$pkg"
  echo "$stamp" >"$prefix/.stamps/$pkg"
  log "$pkg: built in $((SECONDS - t)) s"
}

dependency libdeflate libdeflate
dependency libjpeg-turbo libjpeg_turbo
dependency hdf5 hdf5

for lib in libhdf5.a libdeflate.a libjpeg.a; do
  [[ -f $prefix/lib/$lib ]] || die "$prefix/lib/$lib is missing; delete $prefix and rerun"
done

# --- The addon ----------------------------------------------------------------------------------

case $cuda in
  off) with_cuda=OFF ;;
  *) with_cuda=ON ;; # auto: CMakeLists.txt compiles the CUDA kernels only when it finds nvcc
esac
if [[ $cuda == on ]] && ! command -v nvcc >/dev/null && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  die "OHLC_PREBUILD_CUDA=on but no nvcc found"
fi

addon_build=$work/addon
cmake_js=(node "$root/node_modules/cmake-js/bin/cmake-js" --directory "$root" -O "$addon_build"
  --CDOHLC_PORTABLE_RUNTIME=ON --CDOHLC_BUILD_TOOLS=OFF --CDOHLC_WITH_OPENMP=ON --CDOHLC_WITH_CUDA=$with_cuda
  "--CDHDF5_ROOT=$prefix" --CDHDF5_USE_STATIC_LIBRARIES=ON --CDHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON
  "--CDJPEG_INCLUDE_DIR=$prefix/include" "--CDJPEG_LIBRARY_RELEASE=$prefix/lib/libjpeg.a"
  "--CDLIBDEFLATE_INCLUDE_DIR=$prefix/include" "--CDLIBDEFLATE_LIBRARY=$prefix/lib/libdeflate.a")
# HDF5 is found as a plain library (not through its hdf5-config.cmake, whose hdf5-static target would
# add _POSIX_C_SOURCE, _GNU_SOURCE, _FILE_OFFSET_BITS=64... to every ohlc source): the addon's own
# code compiles exactly as in a development build. A changed configuration starts a clean build dir.
if [[ ! -f $addon_build/.configure-args || $(cat "$addon_build/.configure-args") != "${cmake_js[*]}" ]]; then
  rm -rf "$addon_build"
  mkdir -p "$addon_build"
  echo "${cmake_js[*]}" >"$addon_build/.configure-args"
fi
t=$SECONDS
log "addon: configuring and building in $addon_build"
step addon-configure "${cmake_js[@]}" configure
step addon-build "${cmake_js[@]}" build --parallel "$jobs"
built=$addon_build/Release/ohlc_native.node
[[ -f $built ]] || die "cmake-js produced no $built"
log "addon: built in $((SECONDS - t)) s"

# The configure step must have used the private static libraries, never the system's shared ones.
cache=$addon_build/CMakeCache.txt
grep -q "^FIND_PACKAGE_MESSAGE_DETAILS_HDF5:INTERNAL=\[$prefix/lib/libhdf5.a\]" "$cache" ||
  die "CMake did not find $prefix/lib/libhdf5.a (see $cache)"
grep -q "^JPEG_LIBRARY_RELEASE:FILEPATH=$prefix/lib/libjpeg.a" "$cache" || die "CMake did not use $prefix/lib/libjpeg.a"
grep -q "^LIBDEFLATE_LIBRARY:FILEPATH=$prefix/lib/libdeflate.a" "$cache" || die "CMake did not use $prefix/lib/libdeflate.a"

# --- Assemble, check, install ---------------------------------------------------------------------

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
contains() {
  local x=$1
  shift
  local y
  for y in "$@"; do [[ $x == "$y" ]] && return 0; done
  return 1
}

stage=$work/stage/linux-x64
rm -rf "$work/stage"
mkdir -p "$stage"
cp "$built" "$stage/$ADDON_NAME"
strip --strip-unneeded "$stage/$ADDON_NAME"

bad=()
for lib in $(needed "$stage/$ADDON_NAME"); do
  if contains "$lib" "${ALLOWED_SYSTEM_LIBS[@]}"; then
    continue
  elif contains "$lib" "${BUNDLEABLE_LIBS[@]}"; then
    src=$(gcc -print-file-name="$lib")
    [[ -f $src ]] || die "cannot find $lib to bundle (gcc -print-file-name gave $src)"
    cp -L "$src" "$stage/$lib"
    chmod 644 "$stage/$lib"
    for dep in $(needed "$stage/$lib"); do
      contains "$dep" "${ALLOWED_SYSTEM_LIBS[@]}" || bad+=("$dep (needed by bundled $lib)")
    done
  else
    bad+=("$lib")
  fi
done
((${#bad[@]} == 0)) || die "the addon needs libraries outside the allow-list: ${bad[*]}"

runpath=$(readelf -d "$stage/$ADDON_NAME" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
[[ $runpath == '$ORIGIN' ]] || die "expected RUNPATH \$ORIGIN, found '$runpath'"

# The static libraries' symbols stay inside the addon (-Wl,--exclude-libs,ALL): nothing for another
# HDF5, libjpeg or libdeflate in the same process to collide with.
leaked=$(nm -D --defined-only "$stage/$ADDON_NAME" | awk '{print $NF}' | grep -E '^(H5|jpeg_|jinit_|libdeflate_|inflate|deflate)' | head -n 5 || true)
[[ -z $leaked ]] || die "the addon exports symbols of its static libraries, e.g.: $leaked"

# Every undefined (non-weak) symbol must be Node's own (napi_*, node_api_*, uv_*) or defined by one
# of the libraries the addon needs: an unresolved symbol would otherwise only fail when first called
# (an addon cannot link with -z defs, Node-API comes from the node executable).
libpaths=$(ldd "$stage/$ADDON_NAME" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
provided=$(for lib in $libpaths; do nm -D --defined-only "$lib" | awk '{sub(/@.*/, "", $NF); print $NF}'; done | sort -u)
unresolved=$(readelf --dyn-syms -W "$stage/$ADDON_NAME" |
  awk '$7 == "UND" && $5 != "WEAK" && $8 != "" {sub(/@.*/, "", $8); print $8}' | grep -Ev '^(napi_|node_api_|uv_)' |
  sort -u | comm -23 - <(echo "$provided") | head -n 10 || true)
[[ -z $unresolved ]] || die "the addon has unresolved symbols: $(echo $unresolved)"

mkdir -p "$stage/licenses"
cp -r "$prefix/licenses/." "$stage/licenses/"
# libgomp (bundled) and the static libstdc++/libgcc: GPL with the GCC Runtime Library Exception.
install -D -m 644 /usr/share/doc/libgomp1/copyright "$stage/licenses/gcc-runtime/copyright"

# Loads the staged binary and checks its embedded source hash against the sources it was built from.
expected=$(node "$root/scripts/source-hash.mjs" "$root")
info=$(node -e '
  const info = require(process.argv[1]).info();
  console.log(JSON.stringify({ sourceHash: info.sourceHash, openmp: info.openmp, cuda: info.cuda.compiled }));
' "$stage/$ADDON_NAME") || die "the staged addon does not load"
embedded=$(node -e 'console.log(JSON.parse(process.argv[1]).sourceHash)' "$info")
[[ $embedded == "$expected" ]] || die "embedded source hash $embedded differs from the sources' $expected (did native/ change during the build?)"
[[ $(node -e 'console.log(JSON.parse(process.argv[1]).openmp)' "$info") == true ]] || die "the addon was built without OpenMP"
cuda_compiled=$(node -e 'console.log(JSON.parse(process.argv[1]).cuda)' "$info")
if [[ $cuda == on && $cuda_compiled != true ]]; then
  die "OHLC_PREBUILD_CUDA=on but the addon has no CUDA kernels"
fi

# The no-dev-packages load check (a minimal chroot, see check-prebuild.sh), on the staged folder.
if [[ ${OHLC_PREBUILD_CHECK:-1} == 1 ]]; then
  log "checking the staged prebuild in a minimal root (scripts/check-prebuild.sh)"
  step check-prebuild bash "$root/scripts/check-prebuild.sh" "$stage"
  grep -E '^(hdf5|npz|jpeg):|PASSED' "$work/logs/check-prebuild.log" | sed 's/^/  /' >&2
else
  log "warning: OHLC_PREBUILD_CHECK=0, skipping scripts/check-prebuild.sh"
fi

rm -rf "$out_dir.new"
cp -r "$stage" "$out_dir.new"
rm -rf "$out_dir"
mv "$out_dir.new" "$out_dir"

glibc=$(objdump -T "$out_dir"/*.node "$out_dir"/*.so.* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1 || true)
log "done in $((SECONDS - started)) s"
echo "prebuild:    $out_dir/$ADDON_NAME"
echo "source hash: $embedded"
echo "openmp:      true, cuda kernels: $cuda_compiled"
echo "needs glibc: ${glibc#GLIBC_} or newer"
echo "files:"
(cd "$out_dir" && find . -type f -printf '  %-50P %10s bytes\n' | sort)
echo "NEEDED ($ADDON_NAME):"
needed "$out_dir/$ADDON_NAME" | sed 's/^/  /'
for lib in "$out_dir"/*.so.*; do
  [[ -f $lib ]] || continue
  echo "NEEDED ($(basename "$lib"), bundled):"
  needed "$lib" | sed 's/^/  /'
done
echo "RUNPATH:     $runpath"
echo "allow-list:  ${ALLOWED_SYSTEM_LIBS[*]} (+ bundled: ${BUNDLEABLE_LIBS[*]})"
