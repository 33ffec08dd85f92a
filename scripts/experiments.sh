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

# Section 1: full schedules from scratch (lr 0.01, /5 at 60/80/90 % of the epochs).
$U train --dataset fashion-mnist --model vgg-small --epochs 10 --batch 64 --lr-gamma 0.2 --seed 1 \
  --out "$OUT/fashion-vgg-small-e10.safetensors" --json > "$OUT/fashion-train-e10.json"
$U train --dataset mnist --model vgg-small --epochs 5 --batch 64 --lr-gamma 0.2 --seed 1 \
  --out "$OUT/mnist-vgg-small-e5.safetensors" --json > "$OUT/mnist-train-e5.json"
# Sections 2-3 use the first session's shorter run: 2 epochs of a 7-epoch schedule, then
# resumed as a 4-epoch run with the learning rate divided by 5 at 60/80 % (90.80 %).
$U train --dataset fashion-mnist --model vgg-small --epochs 7 --batch 64 --seed 1 --max-steps 1876 \
  --out "$OUT/fashion-vgg-small.safetensors"
$U train --dataset fashion-mnist --resume "$OUT/fashion-vgg-small.safetensors" --epochs 4 --lr-gamma 0.2 \
  --batch 64 --seed 1 --out "$OUT/fashion-vgg-small.safetensors" --json > "$OUT/fashion-train.json"
cp "$OUT/fashion-vgg-small.safetensors" "$OUT/fashion-epoch4.safetensors"   # the conversions below use this one
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
# Section 3, last part: the same T=2 recipe on the 10-epoch DNN of section 1.
E10="$OUT/fashion-vgg-small-e10"
$U convert --dataset fashion-mnist --ckpt "$E10.safetensors" --method alpha-beta --timesteps 2 --calib-batches 10 \
  --batch 100 --out "$E10-snn-t2.safetensors" --json > "$E10-convert-t2.json"
$U finetune --dataset fashion-mnist --ckpt "$E10-snn-t2.safetensors" --timesteps 2 --epochs 1 --batch 32 --lr 1e-4 \
  --train-subset "$FT_SUBSET" --out "$E10-snn-t2-ft.safetensors" --json > "$E10-finetune-t2.json"
$U finetune --dataset fashion-mnist --ckpt "$E10-snn-t2-ft.safetensors" --timesteps 2 --epochs 1 --batch 32 --lr 1e-4 \
  --train-subset 30000 --out "$E10-snn-t2-ft35k.safetensors" --json > "$E10-finetune-t2-35k.json"
$U eval --dataset fashion-mnist --ckpt "$E10-snn-t2-ft35k.safetensors" --json > "$E10-eval-t2-ft35k.json"
# Section 5 (issue: conversion at every T): QCFS vs the plain clip on vgg-small-avg.
for run in "plain:" "qcfs4:--qcfs 4"; do
  name=${run%%:*}
  $U train --dataset fashion-mnist --model vgg-small-avg ${run#*:} --epochs 5 --batch 64 --lr-gamma 0.2 --seed 1 \
    --out "$OUT/fashion-avg-$name.safetensors" --json > "$OUT/fashion-avg-$name-train.json"
done
$U sweep --dataset fashion-mnist --ckpt "$OUT/fashion-avg-qcfs4.safetensors" --methods qcfs,qcfs+bias \
  --timesteps 1,2,3,4,5,8,16 --calib-batches 10 --batch 100 --json > "$OUT/fashion-avg-qcfs4-sweep.json"
$U sweep --dataset fashion-mnist --ckpt "$OUT/fashion-avg-plain.safetensors" --test-subset 2000 \
  --methods alpha-beta,alpha-beta-mse,max-norm,percentile,deng,qcfs,alpha-beta+half --timesteps 1,2,3,4,5,8,16 \
  --calib-batches 10 --batch 100 --json > "$OUT/fashion-avg-plain-sweep.json"
Q="$OUT/fashion-avg-qcfs4"
# Every other method on the same QCFS DNN, full test set (EXPERIMENTS §5, the 8-row table).
$U sweep --dataset fashion-mnist --ckpt "$Q.safetensors" \
  --methods alpha-beta,alpha-beta-mse,max-norm,percentile,deng,alpha-beta+half --timesteps 1,2,3,4,5,8,16 \
  --calib-batches 10 --batch 100 --json > "$Q-sweep-all.json"
$U convert --dataset fashion-mnist --ckpt "$Q.safetensors" --method qcfs+bias --timesteps 2 --calib-batches 10 \
  --batch 100 --out "$Q-snn-t2.safetensors" --json > "$Q-convert-t2.json"
$U finetune --dataset fashion-mnist --ckpt "$Q-snn-t2.safetensors" --timesteps 2 --epochs 1 --batch 32 --lr 1e-5 \
  --dropout 0 --train-subset 5000 --out "$Q-snn-t2-ft.safetensors" --json > "$Q-finetune-t2.json"
# The same fine-tuning with the defaults on the whole training set (2026-12-02: 89.72 %).
$U finetune --dataset fashion-mnist --ckpt "$Q-snn-t2.safetensors" --timesteps 2 --epochs 1 --batch 32 --lr 1e-4 \
  --out "$Q-snn-t2-ft-full.safetensors" --json > "$Q-finetune-t2-full.json"
# Section 8 (issue 24, part 3): the accuracy frontier. The avg-pool QCFS net with the 10-epoch
# recipe of the max-pool model above (no augmentation on Fashion-MNIST, as there), then the QCFS
# conversions at every T on the full test set.
A="$OUT/fashion-avg-qcfs4-e10"
$U train --dataset fashion-mnist --model vgg-small-avg --qcfs 4 --epochs 10 --batch 64 --lr-gamma 0.2 --seed 1 \
  --out "$A.safetensors" --json > "$A-train.json"
$U sweep --dataset fashion-mnist --ckpt "$A.safetensors" --methods qcfs,qcfs+bias --timesteps 1,2,3,4,5,8,16 \
  --calib-batches 10 --batch 100 --json > "$A-sweep.json"
$U train --dataset mnist --model vgg-small-avg --qcfs 4 --epochs 5 --batch 64 --lr-gamma 0.2 --seed 1 \
  --out "$OUT/mnist-avg-qcfs4-e5.safetensors" --json > "$OUT/mnist-avg-qcfs4-e5-train.json"
$U sweep --dataset mnist --ckpt "$OUT/mnist-avg-qcfs4-e5.safetensors" --methods qcfs,qcfs+bias --timesteps 1,2,4 \
  --calib-batches 10 --batch 100 --json > "$OUT/mnist-avg-qcfs4-e5-sweep.json"
