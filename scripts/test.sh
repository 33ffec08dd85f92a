#!/usr/bin/env bash
# The project's test command (README): formatting, lints, native tests (a real GPU, or Mesa
# lavapipe's Vulkan CPU adapter) and the same kernel checks in headless Chromium's
# WebGPU. Fails at the first failing step; ends with one summary line.
# Prerequisites: installed by scripts/setup.sh, which this script runs first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT
STEPS=()

# Totals of every `test result:` line (cargo test and wasm-bindgen-test-runner print the same form).
summary() {
  echo "steps: ${STEPS[*]}"
  cat "$LOG_DIR"/*.log 2>/dev/null | awk '
    /^test result: / { for (i = 1; i < NF; i++) {
        if ($(i + 1) ~ /^passed;/) p += $i
        if ($(i + 1) ~ /^failed;/) f += $i } }
    END { printf "summary: %d passed, %d failed\n", p, f }'
}

# step NAME CMD...: run, keep its output for the summary, stop everything on failure.
step() {
  local name=$1
  shift
  echo
  echo "==> [$name] $*"
  local t0=$SECONDS
  if "$@" 2>&1 | tee "$LOG_DIR/${#STEPS[@]}-$name.log"; then
    STEPS+=("$name:ok($((SECONDS - t0))s)")
  else
    STEPS+=("$name:FAILED($((SECONDS - t0))s)")
    echo "==> [$name] FAILED"
    summary
    exit 1
  fi
}

# Install whatever is missing (idempotent; seconds when all is there).
bash scripts/setup.sh test

require() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "error: \`$1\` not found after scripts/setup.sh: $2" >&2
    exit 1
  fi
}
require wasm-bindgen-test-runner "cargo install wasm-bindgen-cli --version 0.2.130"
require wasm-pack "cargo install wasm-pack --version 0.15.1 --locked"
require tsc "npm ci (package.json: typescript)"
require eslint "npm ci (package.json: eslint)"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
# The native tests that check Python readers (NIR, the PyTorch module) run this interpreter.
export ULTRASPIKE_PYTHON=${ULTRASPIKE_PYTHON:-$PWD/.venv/bin/python}
require "$ULTRASPIKE_PYTHON" "python3 -m venv .venv && .venv/bin/pip install -r python/requirements.txt"
require .venv/bin/ruff "python3 -m venv .venv && .venv/bin/pip install -r python/requirements.txt"
require "$CHROMEDRIVER" "apt-get install chromium chromium-driver"

step fmt cargo fmt --check
# The page's scripts (www/*.js): TypeScript's checker on their JSDoc types (tsconfig.json:
# checkJs, strict but for implicit any), then ESLint's recommended rules over every script
# (eslint.config.mjs); the Python module and checkers: ruff's default rules (python/ruff.toml).
step js-types tsc -p tsconfig.json
step js-lint eslint .
step py-lint .venv/bin/ruff check python/
step clippy-native cargo clippy --all-targets -- -D warnings
step clippy-wasm cargo clippy --target wasm32-unknown-unknown --lib --bins --test browser -- -D warnings
step test-native cargo test
# Seeded mutation fuzzing of every parser of user bytes / JSON (tests/fuzz_parsers.rs; longer runs: see its header).
step fuzz cargo test --test fuzz_parsers -- --ignored --nocapture
# Each browser test opens its own WebGPU device in SwiftShader (CPU): slow, hence the long timeout.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-900}
# wasm-pack as a user types it (chromedriver and wasm-bindgen-test-runner from PATH, flags from
# webdriver.json); only tests/browser.rs runs in the browser (the native tests are cfg'd out there).
step test-browser wasm-pack test --headless --chrome

# ---- end-to-end page test (Playwright) ------------------------------------------
# A CLI-trained checkpoint + `ultraspike eval --json`, `trunk build --release`, then
# tests/e2e/run.mjs serves dist/ on 127.0.0.1 and drives the page in /usr/bin/chromium
# (flags as in webdriver.json): train -> convert -> sweep -> fine-tune -> evaluate,
# every view, the CLI checkpoint's accuracy; screenshots in test-output/e2e/.
step e2e bash tests/e2e/run.sh
# ----------------------------------------------------------------------------------

summary
