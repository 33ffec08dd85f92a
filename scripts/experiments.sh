#!/usr/bin/env bash
# Reproduces EXPERIMENTS.md on this machine (lavapipe or a real GPU): trains the
# demo VGG on MNIST and Fashion-MNIST, sweeps every conversion method over T,
# converts with Algorithm 1 at T=2 and T=3 and fine-tunes both. Outputs (JSON and
# logs) go to ${OUT:-runs/}. Long: hours on lavapipe, minutes on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs}
mkdir -p "$OUT"
bash scripts/fetch-datasets.sh data
cargo build --release
U=target/release/ultraspike
SWEEP_TEST=${SWEEP_TEST:-500}   # test images per sweep cell (10 000 = the full test set)
FT_SUBSET=${FT_SUBSET:-5000}    # training images per fine-tuning epoch

$U train --dataset mnist --model vgg-small --epochs 2 --batch 64 --seed 1 \
  --out "$OUT/mnist-vgg-small.safetensors"
for E in 3 4; do  # resumed one epoch at a time, lr /5 at 60/80 %
  $U train --dataset mnist --resume "$OUT/mnist-vgg-small.safetensors" --epochs $E --lr-gamma 0.2 \
    --batch 64 --seed 1 --out "$OUT/mnist-vgg-small.safetensors" --json > "$OUT/mnist-train.json"
done
# The recorded run: 2 epochs of a 7-epoch schedule, then resumed as a 4-epoch run with
# the learning rate divided by 5 at 60/80 % (to fit a 3-hour session).
$U train --dataset fashion-mnist --model vgg-small --epochs 7 --batch 64 --seed 1 --max-steps 1876 \
  --out "$OUT/fashion-vgg-small.safetensors"
$U train --dataset fashion-mnist --resume "$OUT/fashion-vgg-small.safetensors" --epochs 4 --lr-gamma 0.2 \
  --batch 64 --seed 1 --out "$OUT/fashion-vgg-small.safetensors" --json > "$OUT/fashion-train.json"
cp "$OUT/fashion-vgg-small.safetensors" "$OUT/fashion-epoch4.safetensors"   # the conversions below use this one
for E in 5 6; do
  $U train --dataset fashion-mnist --resume "$OUT/fashion-vgg-small.safetensors" --epochs $E --lr-gamma 0.2 \
    --batch 64 --seed 1 --out "$OUT/fashion-vgg-small.safetensors" --json > "$OUT/fashion-train-e$E.json"
done
$U sweep --dataset fashion-mnist --ckpt "$OUT/fashion-epoch4.safetensors" --test-subset "$SWEEP_TEST" \
  --calib-batches 10 --batch 100 --json > "$OUT/fashion-sweep.json"
for T in 2 3; do
  $U convert --dataset fashion-mnist --ckpt "$OUT/fashion-epoch4.safetensors" --method alpha-beta \
    --timesteps $T --calib-batches 10 --batch 100 --out "$OUT/fashion-snn-t$T.safetensors" --json > "$OUT/fashion-convert-t$T.json"
  $U finetune --dataset fashion-mnist --ckpt "$OUT/fashion-snn-t$T.safetensors" --timesteps $T --epochs 1 \
    --batch 32 --lr 1e-4 --train-subset "$FT_SUBSET" --out "$OUT/fashion-snn-t$T-ft.safetensors" --json > "$OUT/fashion-finetune-t$T.json"
  $U eval --dataset fashion-mnist --ckpt "$OUT/fashion-snn-t$T-ft.safetensors" --json > "$OUT/fashion-eval-t$T-ft.json"
done
# T=2: continue fine-tuning on 30 000 images
$U finetune --dataset fashion-mnist --ckpt "$OUT/fashion-snn-t2-ft.safetensors" --timesteps 2 --epochs 1 \
  --batch 32 --lr 1e-4 --train-subset 30000 --out "$OUT/fashion-snn-t2-ft35k.safetensors" --json > "$OUT/fashion-finetune-t2-35k.json"
$U eval --dataset fashion-mnist --ckpt "$OUT/fashion-snn-t2-ft35k.safetensors" --json > "$OUT/fashion-eval-t2-ft35k.json"
