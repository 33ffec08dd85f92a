#!/usr/bin/env bash
# Training speed of `ultraspike train` against PyTorch CPU, back to back on this machine:
# vgg-small on Fashion-MNIST, batch 64, the CLI's recipe (SGD 0.01, momentum 0.95, weight decay
# 5e-4, dropout), the same number of training images on both sides, ROUNDS alternating rounds
# (shared machines drift: compare within a round). PyTorch's side is python/bench_torch_train.py,
# run by the first interpreter that imports torch: $TORCH_PYTHON, .venv/bin/python, python3.
# Without torch it still measures ultraspike and says that torch is missing.
#
#   bash scripts/bench-vs-torch.sh                 # 3,200 images, 2 rounds, the default adapter
#   IMAGES=6400 ROUNDS=3 ULTRASPIKE_FALLBACK=1 bash scripts/bench-vs-torch.sh   # lavapipe
#   BASE_BIN=/path/to/older/ultraspike bash scripts/bench-vs-torch.sh  # also an older build, same rounds
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-3200}
ROUNDS=${ROUNDS:-2}
DATA=data/fashion-mnist
[[ -f $DATA/train-images-idx3-ubyte ]] || bash scripts/fetch-datasets.sh data
cargo build --release --bin ultraspike --quiet
BIN=target/release/ultraspike
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

torch_python() {
  for py in "${TORCH_PYTHON:-}" .venv/bin/python python3; do
    [[ -n $py ]] && command -v "$py" >/dev/null 2>&1 && "$py" -c 'import torch, safetensors' 2>/dev/null && { echo "$py"; return; }
  done
}
PY=$(torch_python || true)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BIN" info 2>/dev/null | grep -iE "^ *(adapter|backend)" | head -2 || true
[[ -n $PY ]] && echo "torch: $("$PY" -c 'import torch; print(torch.__version__, torch.get_num_threads(), "threads")') ($PY)" \
  || echo "torch: not importable (set TORCH_PYTHON to a python with torch and safetensors)"

# The epoch's training rate of one `ultraspike train` binary (the test pass is not counted).
train_rate() {
  "$1" train --dataset fashion-mnist --model vgg-small --epochs 1 --batch 64 \
    --train-subset "$IMAGES" --test-subset 500 --seed 1 --out "$TMP/ck.safetensors" --json >"$TMP/us.json" 2>/dev/null
  grep -o '"images_per_s": [0-9.]*' "$TMP/us.json" | tail -1 | awk '{ printf "%.1f", $2 }'
}

for round in $(seq 1 "$ROUNDS"); do
  line="round $round:"
  [[ -n ${BASE_BIN:-} ]] && line+=" base build $(train_rate "$BASE_BIN") img/s,"
  us=$(train_rate "$BIN")
  line+=" ultraspike ${us} img/s"
  if [[ -n $PY ]]; then
    PYTHONPATH=python "$PY" python/bench_torch_train.py "$TMP/ck.safetensors" --images "$DATA/train-images-idx3-ubyte" \
      --labels "$DATA/train-labels-idx1-ubyte" --images-count "$IMAGES" --batch 64 >"$TMP/torch.json"
    th=$(grep -o '"images_per_s": [0-9.]*' "$TMP/torch.json" | cut -d' ' -f2)
    line+=", pytorch-cpu ${th} img/s, ratio $(awk -v a="$us" -v b="$th" 'BEGIN { printf "%.2f", a / b }')x"
  fi
  echo "$line"
done
