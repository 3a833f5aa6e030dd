#!/usr/bin/env bash
# One-time set-up of a fresh Debian/Ubuntu machine (as root, or with sudo): installs the system
# packages that are missing, then the npm dependencies (which build the addon from source).
#   scripts/setup.sh          what building and running needs
#   scripts/setup.sh --test   also what the tests check against: the stock readers (h5py, NumPy, zarr,
#                             h5dump), Pillow (the reference paper's renderer), PyTorch (the
#                             Dataset class and the example), and tmux (a real terminal)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make pkg-config libhdf5-dev libdeflate-dev libjpeg-dev zlib1g-dev nettle-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(hdf5-tools python3 python3-h5py python3-numpy python3-zarr python3-pil python3-torch tmux)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund   # builds the addon (scripts/install.mjs) and dist/ (prepare)
else
  node scripts/install.mjs      # an incremental rebuild where native/ changed
  npx tsc -p tsconfig.json
fi
