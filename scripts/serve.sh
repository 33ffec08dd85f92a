#!/usr/bin/env bash
# The main command: fetch the datasets into data/, build the web app
# (`trunk build --release` -> dist/), link data/ into dist/data, and serve dist/
# with Python's static server on 127.0.0.1 (Trunk's dev server cannot serve the
# ~170 MB of datasets without copying them into dist/ on every rebuild).
# Usage: bash scripts/serve.sh [PORT]   (or PORT=... ; default 8080; ADDRESS=127.0.0.1)
# Prerequisites: scripts/setup.sh serve installs them (trunk, wasm-bindgen, npm's wasm-opt, the datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-${PORT:-8080}}
ADDRESS=${ADDRESS:-127.0.0.1}
# npm's wasm-opt must win over any system (Debian) binaryen.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Install whatever is missing (idempotent), the datasets included.
bash scripts/setup.sh serve
for tool in trunk wasm-bindgen wasm-opt python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: \`$tool\` not found after scripts/setup.sh" >&2
    exit 1
  fi
done

echo "==> trunk build --release --skip-version-check"
trunk build --release --skip-version-check # no update check: offline machines

# A link, not a copy: the datasets stay in one place and dist/ stays small.
ln -sfn ../data dist/data

echo "==> serving dist/ at http://$ADDRESS:$PORT/  (Ctrl-C stops)"
exec python3 -m http.server "$PORT" --bind "$ADDRESS" --directory dist
