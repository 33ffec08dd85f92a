#!/usr/bin/env python3
"""Arithmetic intensity and roofline bounds of the workgroup-tiled kernels (ConvAlgo::Tiled,
LinearAlgo::Tiled) on VGG-16's layers (CIFAR 32x32 input, batch 32), printed as the Markdown
table in BENCHMARKS.md ("On paper"). Run: python3 scripts/roofline.py

Traffic model, from the kernels' tiling (shaders/*_tiled.wgsl): a workgroup owns a 64 (m) x 128
(n) output tile and, per step of 16 k, every one of its 256 threads issues 4 A and 8 B loads
(clamped or masked lanes included: a select still loads), so a tile costs (64 + 128) x 4 B per
k below K. No credit for caches. Outputs are written once (4 B each); a split-K backward-weight
writes S partial planes, and its reduce reads them and writes dw. FLOPs = 2 M N K (useful only).
  step AI = 2*64*128*16 / ((64+128)*16*4) = 21.3 FLOP/B (a full tile, loads only)
  pass AI = useful FLOPs / (all loads issued + all stores)
Bound = min(peak, AI x bandwidth).
"""
from math import ceil

TM, TN, SG_CB, PX, WG, MIN_THREADS = 64, 128, 32, 4, 64, 8192
H200 = (67e12, 4.8e12)
LAPTOP = (15e12, 256e9)  # RTX 4060 Laptop class
BATCH = 32

# VGG-16 on 32x32 inputs: (name, Ci, Co, H=W), 3x3/s1/p1; pools between the blocks.
CONVS = [("conv1_1", 3, 64, 32), ("conv1_2", 64, 64, 32),
         ("conv2_1", 64, 128, 16), ("conv2_2", 128, 128, 16),
         ("conv3_1", 128, 256, 8), ("conv3_2", 256, 256, 8), ("conv3_3", 256, 256, 8),
         ("conv4_1", 256, 512, 4), ("conv4_2", 512, 512, 4), ("conv4_3", 512, 512, 4),
         ("conv5_1", 512, 512, 2), ("conv5_2", 512, 512, 2), ("conv5_3", 512, 512, 2)]
# Classifier: 512*2*2 -> 4096 -> 4096 -> 10.
LINEARS = [("fc1", 2048, 4096), ("fc2", 4096, 4096), ("fc3", 4096, 10)]


def splits(ci, co, oh):
    """conv::split_k with Subgroup's 32 channels per thread (Tiled takes its slices)."""
    rs = ci * 9
    threads = ceil(ceil(rs / PX) / WG) * WG * ceil(co / SG_CB)
    rows = BATCH * oh
    want = min(max(ceil(MIN_THREADS / threads), 1), rows)
    rows_per = ceil(rows / want)
    return ceil(rows / rows_per)


def gemm(m, n, k, s=1):
    """(useful FLOPs, bytes, workgroups) of one tiled GEMM pass with s split-K slices."""
    tiles = ceil(m / TM) * ceil(n / TN)
    loads = tiles * k * (TM + TN) * 4
    stores = s * m * n * 4 + (s * m * n * 4 + m * n * 4 if s > 1 else 0)
    return 2 * m * n * k, loads + stores, tiles * s


def bound(flops, nbytes, dev):
    peak, bw = dev
    return min(peak, flops / nbytes * bw)


def cell(flops, nbytes, dev):
    b = bound(flops, nbytes, dev)
    return f"{b / 1e12:.1f}" + (" (C)" if b >= dev[0] else "")


def row(name, shape, passes):
    ais = " / ".join(f"{f / b:.1f}" for f, b, _ in passes)
    h200 = " / ".join(cell(f, b, H200) for f, b, _ in passes)
    lap = " / ".join(cell(f, b, LAPTOP) for f, b, _ in passes)
    wgs = " / ".join(str(g) for _, _, g in passes)
    return f"| {name} | {shape} | {ais} | {h200} | {lap} | {wgs} |"


def main():
    print("| layer | GEMM shape (fwd M x N x K) | pass AI fwd / bwd-in / bwd-w (FLOP/B) "
          "| H200 bound, TFLOP/s | laptop bound, TFLOP/s | workgroups |")
    print("|---|---|---|---|---|---|")
    tot = {"f": 0, "b": 0}
    for name, ci, co, hw in CONVS:
        px = BATCH * hw * hw
        s = splits(ci, co, hw)
        passes = [gemm(co, px, 9 * ci), gemm(ci, px, 9 * co), gemm(co, 9 * ci, px, s)]
        for f, b, _ in passes:
            tot["f"] += f
            tot["b"] += b
        print(row(name, f"{co} x {px} x {9 * ci} (bwd-w split {s})", passes))
    for name, fin, fout in LINEARS:
        passes = [gemm(BATCH, fout, fin), gemm(BATCH, fin, fout), gemm(fout, fin, BATCH)]
        print(row(name, f"{BATCH} x {fout} x {fin}", passes))
    f, b = tot["f"], tot["b"]
    print(f"\nAll 13 conv layers, 3 passes: {f / 1e9:.1f} GFLOP over {b / 1e6:.0f} MB = "
          f"{f / b:.1f} FLOP/B; H200 bound {bound(f, b, H200) / 1e12:.1f} TFLOP/s, "
          f"laptop {bound(f, b, LAPTOP) / 1e12:.1f} TFLOP/s. (C) = compute-bound.")


if __name__ == "__main__":
    main()
