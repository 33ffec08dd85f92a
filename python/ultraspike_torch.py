"""Rebuild an ultraspike checkpoint's DNN or T-step SNN outside Rust.

Two forward paths share one layer walk (``plan``):

* numpy only (``dnn_forward`` / ``snn_forward``): float32, in the same
  operation order as the Rust CPU reference (``src/cpu``), so that CI checks
  it against that reference without torch;
* PyTorch (``build_dnn`` / ``build_snn``, torch imported lazily): modules whose
  ``state_dict`` names are the checkpoint's, loaded with ``strict=True``.

This module reads and writes the files, runs either path on a checkpoint and
is the command line; the rest lives beside it, by what it does, and is
re-exported here (``import ultraspike_torch as ut`` gives all of it):
``ultraspike_plan`` (the layer walk, the normalization), ``ultraspike_numpy``
(the numpy kernels and forwards), ``ultraspike_nn`` (the torch modules).

Conventions (those of the checkpoint and of ``src/models``):

* activations NCHW float32; conv weights OIHW ``[out, in, k, k]``, linear
  weights ``[out, in]`` (PyTorch's layouts); a conv output is
  ``(size + 2*pad - k) // stride + 1``; pools have no padding;
* names follow a ``Sequential``: layer ``i`` before the first ``flatten`` is
  ``features.{i}``, layer ``i`` after it ``classifier.{i - f - 1}`` (the
  flatten itself is ``features.{f}``); a residual block names its parts
  ``.conv1 .act1 .conv2 .shortcut .act2``; a threshold ReLU clip(x, 0, mu)
  has ``.mu`` (shape [1]); a model with ``act_levels`` L uses QCFS instead,
  ``mu * clip(floor(x*L/mu + 1/2) / L, 0, 1)`` (floor straight-through in
  torch); an SNN replaces either by ``.vth`` and ``.leak``;
  a bias the config turned off (``"bias": false``) has no tensor;
* the metadata JSON sits in ``__metadata__["ultraspike"]``: ``model`` (the
  config), ``normalization`` (x = (pixel/255 - mean[c]) / std[c]) and, for an
  SNN, ``timesteps``, ``out_scale`` and per spiking layer ``neurons``
  (``beta``, ``shift``, ``init``; ``vth`` and ``leak`` come from the tensors);
* SNN (``src/cpu/snn.rs``): layers before the first neuron run once (analog
  direct encoding) and the first neuron takes that current at every step;
  the membrane starts at ``init * vth`` (``init`` 0 when absent, 0.5 for
  QCFS); per step ``u = leak*u + I + shift``, a spike when ``u > vth`` (strict) of
  height ``beta * vth * out_scale``, soft reset ``u -= vth``; the logits are
  the output layer's values summed over the T steps (not averaged).

Example::

    python python/ultraspike_torch.py snn.safetensors --images t10k-images-idx3-ubyte --labels t10k-labels-idx1-ubyte
"""

import gzip
import json
import sys

import numpy as np

from ultraspike_nn import build_dnn, build_snn
from ultraspike_numpy import (
    avg_pool,
    clip,
    conv2d,
    dnn_forward,
    linear,
    max_pool,
    qcfs,
    snn_forward,
)
from ultraspike_plan import F32, normalization, normalize, plan

__all__ = [
    "F32", "OPTIMIZER_PREFIX", "avg_pool", "build_dnn", "build_snn", "clip", "conv2d", "dnn_forward", "forward",
    "linear", "load", "main", "max_pool", "normalization", "normalize", "plan", "qcfs", "read_idx",
    "save_state_dict", "snn_forward", "torch_model",
]


# ---------------------------------------------------------------- checkpoints


OPTIMIZER_PREFIX = "optimizer."


def load(path, optimizer=False):
    """(tensors, meta): the model's tensors as float32 numpy arrays by name (a
    training checkpoint's SGD momentum, ``optimizer.<name>.momentum_buffer``,
    only with ``optimizer``), and the ``ultraspike`` metadata dict (None for a
    bare PyTorch state dict). f16 and f64 tensors are converted; numpy has no
    bf16 (``ultraspike`` itself reads bf16 files)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        # (a safetensors file handle, not a dict: it has keys() but cannot be iterated)
        keys = [k for k in f.keys() if optimizer or not k.startswith(OPTIMIZER_PREFIX)]  # noqa: SIM118
        tensors = {k: f.get_tensor(k).astype(F32) for k in keys}
        extra = f.metadata() or {}
    meta = json.loads(extra["ultraspike"]) if "ultraspike" in extra else None
    return tensors, meta


def save_state_dict(path, tensors):
    """Write a bare PyTorch-style state dict (float32, no ultraspike metadata),
    as ``safetensors.torch.save_file(model.state_dict(), path)`` would."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v, dtype=F32) for k, v in tensors.items()}, str(path), {"format": "pt"})


def forward(path_or_loaded, pixels, t=None, model=None, norm=None):
    """Logits of a checkpoint (path or ``load`` result) on u8 images [N,C,H,W].
    A bare state dict (no metadata) needs ``model`` (a config dict) and, unless
    identity, ``norm`` = {"mean": [...], "std": [...]}."""
    p, meta = path_or_loaded if isinstance(path_or_loaded, tuple) else load(path_or_loaded)
    meta = _with_defaults(meta, model, norm)
    x = normalize(pixels, *normalization(meta, pixels.shape[1]))
    if meta.get("kind") == "snn":
        return snn_forward(meta, p, x, t)[0]
    return dnn_forward(meta["model"], p, x)


def _with_defaults(meta, model, norm):
    """The metadata, or for a bare state dict a DNN's built from ``model`` and ``norm``."""
    if meta is None and model is None:
        raise ValueError("the file has no ultraspike metadata (a bare state dict): pass its model config")
    meta = dict(meta or {"kind": "dnn", "model": model})
    if norm is not None:
        meta["normalization"] = norm
    return meta


def torch_model(path, t=None, model=None):
    """Load a checkpoint into the matching torch module (strict), in eval mode
    (``model``: the config of a bare state dict)."""
    import torch

    p, meta = load(path)
    meta = _with_defaults(meta, model, None)
    net = build_snn(meta, t) if meta.get("kind") == "snn" else build_dnn(meta["model"])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in p.items()}, strict=True)
    return net.eval()


# ------------------------------------------------------------------------- CLI


def read_idx(path):
    """An IDX u8 array (MNIST format, raw or .gz) as a numpy array."""
    with open(path, "rb") as f:
        raw = f.read()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def main(argv):
    """``CKPT --images IDX --labels IDX [--torch] [--timesteps T] [--model JSON --mean M --std S]``: print the accuracy."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("ckpt")
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--torch", action="store_true", help="use the torch modules instead of numpy")
    ap.add_argument("--timesteps", type=int)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--model", help="model config JSON file, for a bare state dict")
    ap.add_argument("--mean", type=float, nargs="+", help="normalization, for a bare state dict")
    ap.add_argument("--std", type=float, nargs="+")
    a = ap.parse_args(argv)
    model = None
    if a.model:
        with open(a.model) as f:
            model = json.load(f)
    norm = {"mean": a.mean, "std": a.std} if a.mean and a.std else None
    images, labels = read_idx(a.images), read_idx(a.labels)
    images = images[:, None] if images.ndim == 3 else images
    loaded = load(a.ckpt)
    net = torch_model(a.ckpt, a.timesteps, model) if a.torch else None
    meta = _with_defaults(loaded[1], model, norm)
    correct = 0
    for s in range(0, len(labels), a.batch):
        px = images[s : s + a.batch]
        if net is not None:
            import torch

            x = torch.from_numpy(normalize(px, *normalization(meta, px.shape[1])))
            with torch.no_grad():
                logits = net(x).numpy()
        else:
            logits = forward(loaded, px, a.timesteps, model, norm)
        correct += int((logits.argmax(1) == labels[s : s + a.batch]).sum())
    print(f"accuracy {100.0 * correct / len(labels):.2f}% on {len(labels)} images")


if __name__ == "__main__":
    main(sys.argv[1:])
