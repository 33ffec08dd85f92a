#!/usr/bin/env bash
# The e2e step of scripts/test.sh: train a tiny checkpoint with the CLI and
# evaluate it (`ultraspike eval --json`), build the app (`trunk build --release`),
# then drive the page in headless Chromium (tests/e2e/run.mjs): the quick demo
# on an MNIST subset, every view, and the CLI checkpoint's accuracy in the page;
# then the wasm-pack package and the embedding example (tests/e2e/embed.mjs).
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
# An avg-pool SNN (NIR can express it) and its NIR file, for the page's export to equal.
AVG_DNN="$OUT/cli-avg-dnn.safetensors" SNN_AVG="$OUT/cli-avg-snn.safetensors" NIR_CLI="$OUT/cli-avg-snn.nir"
"$BIN" train --dataset mnist --model vgg-tiny-avg --train-subset 500 --test-subset 100 --epochs 1 --out "$AVG_DNN"
"$BIN" convert --dataset mnist --ckpt "$AVG_DNN" --timesteps 2 --calib-batches 1 --batch 100 --test-subset 100 --out "$SNN_AVG"
"$BIN" export --format nir --ckpt "$SNN_AVG" --out "$NIR_CLI"
CLI_ACC=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).accuracy)' "$OUT/cli-eval.json")

trunk build --release --skip-version-check
CKPT="$CKPT" CLI_ACC="$CLI_ACC" SNN_AVG="$SNN_AVG" NIR_CLI="$NIR_CLI" node tests/e2e/run.mjs --out "$OUT" | tee "$OUT/e2e.log"
# The npm-style package (pkg/: ultraspike.js, .d.ts, .wasm, package.json) and the
# third-party example page that imports it (examples/embed/).
wasm-pack build --target web --release
CKPT="$CKPT" CLI_ACC="$CLI_ACC" node tests/e2e/embed.mjs --out "$OUT" | tee "$OUT/embed.log"
# Belt and braces: any failed check fails the step, whatever the script's exit status says.
for log in "$OUT/e2e.log" "$OUT/embed.log"; do
  if grep -q '^FAIL' "$log"; then
    echo "e2e: $(grep -c '^FAIL' "$log") check(s) failed in $log (lines starting with FAIL above)" >&2
    exit 1
  fi
done
