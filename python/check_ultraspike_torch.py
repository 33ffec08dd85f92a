"""CI checks of python/ultraspike_torch.py with numpy only (run by tests/python_torch.rs).

``forward DIR``: DIR/model.safetensors (a DNN or SNN checkpoint with metadata)
and DIR/expected.safetensors (``pixels`` [N,C,H,W] u8 values as float32,
``logits`` [N, classes] from the Rust CPU reference, for an SNN ``spikes`` per
neuron layer): the numpy forward must give the same logits within
1e-5 * max(1, max |logit|) and, for an SNN, exactly the same spike counts.
``forward DIR --torch`` (an interpreter with torch; not in CI): the torch
module too, within 1e-4 * max(1, max |logit|).

``state-dict DIR``: write a bare PyTorch-named state dict (no metadata) of a
small MNIST-shaped model (DIR/model.json, DIR/plain.safetensors), MNIST IDX
files under DIR/mnist/ and DIR/expected.json with the accuracy the numpy
forward gives on them; the Rust test evaluates the file with
``ultraspike eval --model DIR/model.json`` and compares.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ultraspike_torch as ut

F32 = np.float32

MODEL = {
    "name": "torch-in",
    "input": [1, 28, 28],
    "classes": 10,
    "layers": [
        {"conv": {"out": 4, "k": 3, "stride": 1, "pad": 1}},
        {"act": {"mu": 2.0}},
        {"max_pool": {"k": 2, "stride": 2}},
        {"block": {"out": 6, "stride": 2, "dropout": 0.1}},
        {"block": {"out": 6, "stride": 1}},
        {"avg_pool": {"k": 2, "stride": 1}},
        "flatten",
        {"linear": {"out": 16}},
        {"act": {}},
        {"dropout": {"p": 0.2}},
        {"linear": {"out": 10, "bias": False}},
    ],
}


def check_forward(d):
    """Numpy forward of DIR/model.safetensors against the Rust logits (and spikes)."""
    p, meta = ut.load(os.path.join(d, "model.safetensors"))
    exp, _ = ut.load(os.path.join(d, "expected.safetensors"))
    pixels = exp["pixels"].astype(np.uint8)
    x = ut.normalize(pixels, *ut.normalization(meta, pixels.shape[1]))
    if meta["kind"] == "snn":
        logits, spikes = ut.snn_forward(meta, p, x)
        want = [int(v) for v in exp["spikes"]]
        assert spikes == want, f"spike counts: numpy {spikes}, rust {want}"
    else:
        logits = ut.dnn_forward(meta["model"], p, x)
    diff = float(np.max(np.abs(logits - exp["logits"])))
    scale = max(1.0, float(np.max(np.abs(exp["logits"]))))
    spikes = f", spikes per layer {[int(v) for v in exp['spikes']]}" if "spikes" in exp else ""
    print(f"{meta['kind']} {meta['model']['name']}: max |numpy - rust| = {diff:.3g}, max |rust| = {np.max(np.abs(exp['logits'])):.3g}{spikes}")
    assert diff <= 1e-5 * scale, f"numpy and the Rust CPU reference differ by {diff}"
    if "--torch" in sys.argv:
        check_torch(os.path.join(d, "model.safetensors"), x, exp["logits"], scale)


def check_torch(path, x, want, scale):
    """The torch module of the checkpoint against the Rust logits, within 1e-4 * scale (torch sums
    in its own float32 order; a spike that flips on a near tie would exceed it)."""
    import torch

    with torch.no_grad():
        got = ut.torch_model(path)(torch.from_numpy(x)).numpy()
    diff = float(np.max(np.abs(got - want)))
    print(f"  torch {torch.__version__}: max |torch - rust| = {diff:.3g}")
    assert diff <= 1e-4 * scale, f"torch and the Rust CPU reference differ by {diff}"


def random_state_dict(model, rng):
    """PyTorch-named tensors for ``model``: conv std sqrt(2/(k*k*out)), linear sqrt(1/in), mu in [0.5, 2]."""
    sd = {}

    def conv(name, c_in, out, k, bias=True):
        sd[f"{name}.weight"] = rng.normal(0, np.sqrt(2 / (k * k * out)), (out, c_in, k, k))
        if bias:
            sd[f"{name}.bias"] = rng.normal(0, 0.1, out)

    for s in ut.plan(model):
        n, kind = s["name"], s["kind"]
        if kind == "conv":
            conv(n, s["in_shape"][0], s["out"], s["k"], s["bias"])
        elif kind == "linear":
            sd[f"{n}.weight"] = rng.normal(0, np.sqrt(1 / s["in_shape"][0]), (s["out"], s["in_shape"][0]))
            if s["bias"]:
                sd[f"{n}.bias"] = rng.normal(0, 0.1, s["out"])
        elif kind == "block":
            conv(f"{n}.conv1", s["in_shape"][0], s["out"], 3)
            conv(f"{n}.conv2", s["out"], s["out"], 3)
            if s["shortcut"]:
                conv(f"{n}.shortcut", s["in_shape"][0], s["out"], 1)
        for a in {"act": [n], "block": [f"{n}.act1", f"{n}.act2"]}.get(kind, []):
            sd[f"{a}.mu"] = rng.uniform(0.5, 2.0, 1)
    return {k: v.astype(F32) for k, v in sd.items()}


def write_idx(path, a):
    """A u8 IDX file (big-endian dims), as MNIST's."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.tobytes())


def pick_images(p, rng, n, margin):
    """``n`` random MNIST-shaped images whose top two numpy logits differ by more than ``margin``
    (so that float32 summation order on the GPU cannot change the prediction), and their predictions."""
    mean, std = ut.normalization({"normalization": {"mean": [0.1307], "std": [0.3081]}}, 1)
    cand = rng.integers(0, 256, (8 * n, 1, 28, 28), dtype=np.uint8)
    logits = ut.dnn_forward(MODEL, p, ut.normalize(cand, mean, std))
    top = np.sort(logits, 1)
    keep = np.nonzero(top[:, -1] - top[:, -2] > margin)[0][:n]
    assert len(keep) == n, f"only {len(keep)} candidate images with a clear margin"
    return cand[keep], logits[keep].argmax(1), float(np.min(top[keep, -1] - top[keep, -2]))


def write_state_dict(d):
    """The bare state dict, the MNIST files (70% labelled with the numpy prediction) and the expected accuracy."""
    rng = np.random.default_rng(7)
    p = random_state_dict(MODEL, rng)
    ut.save_state_dict(os.path.join(d, "plain.safetensors"), p)
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump(MODEL, f)
    n = 50
    images, pred, margin = pick_images(p, rng, n, 1e-3)
    labels = pred.copy()
    wrong = np.arange(n) >= int(0.7 * n)
    labels[wrong] = (pred[wrong] + 1 + rng.integers(0, 9, wrong.sum())) % 10
    os.makedirs(os.path.join(d, "mnist"), exist_ok=True)
    for split in ("train", "t10k"):
        write_idx(os.path.join(d, "mnist", f"{split}-images-idx3-ubyte"), images[:, 0])
        write_idx(os.path.join(d, "mnist", f"{split}-labels-idx1-ubyte"), labels.astype(np.uint8))
    acc = float(np.mean(pred == labels))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"accuracy": acc, "images": n, "min_margin": margin}, f)
    print(f"wrote {len(p)} tensors, {n} images; numpy accuracy {acc:.4f}, smallest top-2 margin {margin:.3g}")


if __name__ == "__main__":
    {"forward": check_forward, "state-dict": write_state_dict}[sys.argv[1]](sys.argv[2])
