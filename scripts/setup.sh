#!/usr/bin/env bash
# Install what the README's two commands need, skipping what is already there
# at the right version (idempotent; says what it does and skips). One script for
# all callers: `bash scripts/serve.sh` runs `setup.sh serve`, `bash scripts/test.sh`
# and CI (.ci/run) run `setup.sh test`.
#   serve: the wasm32 target, wasm-bindgen-cli and trunk (cargo install, pinned),
#          the npm tools (wasm-opt; the test command's too), and the datasets
#          (MNIST, Fashion-MNIST) in data/
#   test:  the same, plus Mesa lavapipe (Vulkan on the CPU), Chromium and its
#          driver (WebGPU on SwiftShader), wasm-pack and a Python .venv (with ruff)
# A fresh 2-core machine spends most of the time in `cargo install` (trunk ~10-15 min,
# wasm-bindgen-cli ~7 min); a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-test}
case "$MODE" in
  serve) APT_PACKAGES=() ;;
  test) APT_PACKAGES=(mesa-vulkan-drivers chromium chromium-driver) ;;
  *) echo "usage: $0 [serve|test]" >&2; exit 2 ;;
esac
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive
WASM_BINDGEN_VERSION=0.2.130 # must equal the `wasm-bindgen = "=..."` pin in Cargo.toml
TRUNK_VERSION=0.21.14        # 0.22 needs a newer rustc than the machine's 1.95
WASM_PACK_VERSION=0.15.1

log() { echo "[setup] $*"; }

# Debian: lavapipe (Vulkan on the CPU) for the native GPU tests; Chromium and
# its driver for the browser tests (WebGPU via SwiftShader).
apt_missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    log "apt: $pkg $(dpkg-query -W -f='${Version}' "$pkg") already installed"
  else
    apt_missing+=("$pkg")
  fi
done
if ((${#apt_missing[@]})); then
  log "apt: installing ${apt_missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "error: install ${apt_missing[*]} (Debian/Ubuntu packages) as root, then rerun" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update
  $SUDO apt-get install -y "${apt_missing[@]}"
fi

# Rust: the wasm32 standard library.
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: wasm32-unknown-unknown already installed"
else
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# cargo-installed tools, skipped when the right version answers.
cargo_tool() { # cargo_tool BINARY CRATE VERSION [EXTRA cargo install ARGS...]
  local bin=$1 crate=$2 version=$3
  shift 3
  local have
  have=$("$bin" --version 2>/dev/null || true)
  if [[ "$have" == *" $version"* ]]; then
    log "cargo: $have already installed"
  else
    log "cargo: installing $crate $version (found: ${have:-none}); this takes minutes"
    cargo install "$crate" --version "$version" "$@"
  fi
}
# No --locked: wasm-bindgen-cli's own lock file does not build with this rustc.
cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
cargo_tool trunk trunk "$TRUNK_VERSION" --locked
# wasm-pack: the browser tests (`wasm-pack test --headless --chrome`) and the npm-style
# package in pkg/ (`wasm-pack build --target web`). Offline it needs nothing else: it
# takes wasm-bindgen (same version) and chromedriver from PATH, wasm-opt from node_modules.
if [[ "$MODE" == test ]]; then cargo_tool wasm-pack wasm-pack "$WASM_PACK_VERSION" --locked; fi

# npm (package.json + package-lock.json at the root): wasm-opt from `binaryen`
# for Trunk release builds, `playwright-core` for the end-to-end page test, and
# the test command's checks of the page's scripts: `typescript` (tsc) and `eslint`
# (with `@eslint/js` and `globals`).
npm_ok() {
  node -e '
    const want = require("./package.json").devDependencies;
    for (const [name, v] of Object.entries(want)) {
      if (require("./node_modules/" + name + "/package.json").version !== v) process.exit(1);
    }' 2>/dev/null
}
if npm_ok; then
  log "npm: node_modules matches package.json ($(node --version))"
else
  log "npm: npm ci (node $(node --version))"
  npm ci --no-audit --no-fund
fi

# Python (test only): a virtual environment in .venv/ with python/requirements.txt
# (numpy, safetensors, h5py, nir: the NIR and PyTorch checks; ruff: the lint of
# python/); redone only when the requirements file changes (its copy in .venv/ is the stamp).
if [[ "$MODE" == test ]]; then
  if cmp -s python/requirements.txt .venv/requirements.txt; then
    log "python: .venv matches python/requirements.txt"
  else
    log "python: creating .venv and installing python/requirements.txt"
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements.txt
    cp python/requirements.txt .venv/requirements.txt
  fi
fi

# Datasets (MNIST, Fashion-MNIST) into data/, verified by sha256; a complete data/ is left alone.
log "datasets: bash scripts/fetch-datasets.sh data"
bash scripts/fetch-datasets.sh data

version() { "$@" --version 2>/dev/null | head -1 || echo "$1: not installed"; }
log "tools: $(version rustc); $(version wasm-bindgen); $(version trunk); $(version wasm-pack); $(version wasm-opt); tsc $(version tsc); eslint $(version eslint); $(version .venv/bin/ruff); $(version chromium); $(version chromedriver)"
