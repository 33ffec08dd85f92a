#!/usr/bin/env bash
# The e2e step of scripts/test.sh: train a tiny checkpoint with the CLI and
# evaluate it (`ultraspike eval --json`), build the app (`trunk build --release`),
# then drive the page in headless Chromium (tests/e2e/run.mjs): the quick demo
# on an MNIST subset, every view, and the CLI checkpoint's accuracy in the page.
# Screenshots: test-output/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
OUT=test-output/e2e
mkdir -p "$OUT"

bash scripts/fetch-datasets.sh data
# ULTRASPIKE_BIN: an already built CLI (else the debug build `cargo test` left).
BIN=${ULTRASPIKE_BIN:-}
if [[ -z "$BIN" ]]; then
  cargo build --bin ultraspike
  BIN=${CARGO_TARGET_DIR:-target}/debug/ultraspike
fi
CKPT="$OUT/cli-dnn.safetensors"
"$BIN" train --dataset mnist --model vgg-tiny --train-subset 1000 --test-subset 500 --epochs 1 --out "$CKPT"
"$BIN" eval --dataset mnist --test-subset 500 --ckpt "$CKPT" --json | tee "$OUT/cli-eval.json"
CLI_ACC=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).accuracy)' "$OUT/cli-eval.json")

trunk build --release --skip-version-check
CKPT="$CKPT" CLI_ACC="$CLI_ACC" node tests/e2e/run.mjs --out "$OUT" | tee "$OUT/e2e.log"
# Belt and braces: any failed check fails the step, whatever the script's exit status says.
if grep -q '^FAIL' "$OUT/e2e.log"; then
  echo "e2e: $(grep -c '^FAIL' "$OUT/e2e.log") check(s) failed (lines starting with FAIL above)" >&2
  exit 1
fi
