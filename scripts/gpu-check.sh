#!/usr/bin/env bash
# One-shot GPU check: runs the prebuilt native/tools/raster_check (GPU vs CPU byte for byte, then
# the throughput table), then native/tools/jkx_check --require-gpu --bench (the jkx layout's CUDA
# kernel against its CPU kernel, then both layouts' rates) on a machine with an NVIDIA GPU. Needs no Node and builds nothing there;
# the binary is built on a development machine (bench/CUDA.md) and carried over. cudart is
# linked statically, so the GPU machine needs only the NVIDIA driver (>= 580 for a CUDA 13 build)
# and the usual system libraries.
#
#   scripts/gpu-check.sh [--dir DIR] [--sanitize] [-- raster_check options]
#       run the check (DIR defaults to build-tools; OHLC_RASTER_CHECK and OHLC_JKX_CHECK name the
#       binaries instead)
#       --sanitize  afterwards, short runs under compute-sanitizer memcheck and racecheck, when
#                   that tool is installed
#   scripts/gpu-check.sh --bundle [--dir DIR]
#       on the build machine: copy libstdc++, libgcc_s and libgomp next to the binary (DIR/lib),
#       used on the GPU machine only where its system lacks them
#
# Exit status: raster_check's, else jkx_check's (0 passed, 1 mismatch, 3 CUDA error, 4 no usable
# GPU; see their --help), 5 when a binary is missing or cannot be loaded, 6 when a sanitizer run
# reports errors.
set -uo pipefail

dir=build-tools
bundle=0
sanitize=0
args=()
while (($#)); do
  case $1 in
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    --bundle) bundle=1; shift ;;
    --sanitize) sanitize=1; shift ;;
    --) shift; args+=("$@"); break ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done

bin=${OHLC_RASTER_CHECK:-$dir/raster_check}
jkx=${OHLC_JKX_CHECK:-$dir/jkx_check}
for tool in "$bin" "$jkx"; do
  if [[ ! -x $tool ]]; then
    echo "gpu-check: no $(basename "$tool") at $tool. Build both first (bench/CUDA.md):" >&2
    echo "  cmake -S . -B build-tools -DCMAKE_BUILD_TYPE=Release && cmake --build build-tools --target raster_check jkx_check -j2" >&2
    exit 5
  fi
done

if ((bundle)); then
  mkdir -p "$(dirname "$bin")/lib"
  for lib in libstdc++.so.6 libgcc_s.so.1 libgomp.so.1; do
    path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
    [[ -n $path && -e $path ]] || continue
    cp -L "$path" "$(dirname "$bin")/lib/$lib" && echo "bundled $path"
  done
  exit 0
fi

echo "== gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n) ($(uname -m))"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current,clocks.max.sm \
    --format=csv 2>/dev/null || nvidia-smi -L || true
else
  echo "nvidia-smi: not found"
fi

# Use the bundled runtime libraries only where the system's are missing.
if ldd "$bin" 2>/dev/null | grep -q 'not found' && [[ -d $(dirname "$bin")/lib ]]; then
  export LD_LIBRARY_PATH="$(cd "$(dirname "$bin")/lib" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "using bundled libraries from $(dirname "$bin")/lib"
fi
for tool in "$bin" "$jkx"; do
  if missing=$(ldd "$tool" 2>&1 | grep 'not found'); then
    echo "gpu-check: $tool cannot be loaded here:" >&2
    echo "$missing" >&2
    echo "(run 'scripts/gpu-check.sh --bundle' on the build machine and carry $(dirname "$tool")/lib too)" >&2
    exit 5
  fi
done

echo
limit=() && command -v timeout >/dev/null && limit=(timeout 300)
"${limit[@]}" "$bin" --require-gpu "${args[@]}"
status=$?

echo
echo "== jkx layout: CUDA kernel vs CPU kernel, then rates"
"${limit[@]}" "$jkx" --require-gpu --bench --cases 400 | tail -n 8
jkx_status=${PIPESTATUS[0]}
((status == 0)) && status=$jkx_status

if ((sanitize)) && ((status == 0)); then
  if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck; do
      echo
      echo "== compute-sanitizer --tool $tool (a short run)"
      "${limit[@]}" compute-sanitizer --tool "$tool" --error-exitcode 66 \
        "$bin" --require-gpu --light --cases 6 --no-bench --seed 7 | tail -n 6
      rc=${PIPESTATUS[0]}
      if ((rc != 0)); then
        echo "gpu-check: compute-sanitizer $tool exited $rc" >&2
        status=6
      fi
    done
  else
    echo "compute-sanitizer: not found, sanitizer runs skipped"
  fi
fi
exit "$status"
