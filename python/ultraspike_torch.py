"""Rebuild an ultraspike checkpoint's DNN or T-step SNN outside Rust.

Two forward paths share one layer walk (``plan``):

* numpy only (``dnn_forward`` / ``snn_forward``): float32, in the same
  operation order as the Rust CPU reference (``src/cpu``), so that CI checks
  it against that reference without torch;
* PyTorch (``build_dnn`` / ``build_snn``, torch imported lazily): modules whose
  ``state_dict`` names are the checkpoint's, loaded with ``strict=True``.

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

F32 = np.float32


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
        keys = [k for k in f.keys() if optimizer or not k.startswith(OPTIMIZER_PREFIX)]
        tensors = {k: f.get_tensor(k).astype(F32) for k in keys}
        extra = f.metadata() or {}
    meta = json.loads(extra["ultraspike"]) if "ultraspike" in extra else None
    return tensors, meta


def save_state_dict(path, tensors):
    """Write a bare PyTorch-style state dict (float32, no ultraspike metadata),
    as ``safetensors.torch.save_file(model.state_dict(), path)`` would."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v, dtype=F32) for k, v in tensors.items()}, str(path), {"format": "pt"})


# ------------------------------------------------------------------ layer walk


def _window(size, k, stride, pad):
    return (size + 2 * pad - k) // stride + 1


def _out_shape(layer, shape):
    kind, a = layer["kind"], layer
    if kind == "conv":
        return [a["out"], _window(shape[1], a["k"], a["stride"], a["pad"]), _window(shape[2], a["k"], a["stride"], a["pad"])]
    if kind in ("max_pool", "avg_pool"):
        return [shape[0], _window(shape[1], a["k"], a["stride"], 0), _window(shape[2], a["k"], a["stride"], 0)]
    if kind == "block":
        return [a["out"], _window(shape[1], 3, a["stride"], 1), _window(shape[2], 3, a["stride"], 1)]
    if kind == "flatten":
        return [int(np.prod(shape))]
    if kind == "linear":
        return [a["out"]]
    return list(shape)


def _normalize_layer(layer):
    """A config layer (``"flatten"`` or ``{"conv": {...}}``) as one flat dict with ``kind``."""
    if isinstance(layer, str):
        return {"kind": layer}
    (kind, args), = layer.items()
    out = {"kind": kind, "bias": True, "mu": 4.0, "dropout": 0.0}
    out.update(args or {})
    return out


def plan(model):
    """The shared layer walk: per config layer a dict with ``kind``, its
    arguments, ``name`` (state-dict prefix), ``in_shape``/``out_shape`` [C,H,W] or
    [N] and, for a block, ``shortcut`` (a 1x1 conv when the shape changes)."""
    layers = [_normalize_layer(l) for l in model["layers"]]
    flat = next((i for i, l in enumerate(layers) if l["kind"] == "flatten"), None)
    shape, steps = list(model["input"]), []
    for i, l in enumerate(layers):
        name = f"classifier.{i - flat - 1}" if flat is not None and i > flat else f"features.{i}"
        out = _out_shape(l, shape)
        steps.append(dict(l, name=name, in_shape=shape, out_shape=out, shortcut=l["kind"] == "block" and shape != out,
                          levels=model.get("act_levels")))
        shape = out
    return steps


def normalization(meta, channels):
    """(mean, std) per channel from the metadata (one entry broadcasts); none: identity."""
    norm = (meta or {}).get("normalization") or {"mean": [0.0], "std": [1.0]}
    pick = lambda v: [v[c] if len(v) > 1 else v[0] for c in range(channels)]  # noqa: E731
    return pick(norm["mean"]), pick(norm["std"])


def normalize(pixels, mean, std):
    """u8 images [N,C,H,W] -> float32 as ``Normalization::apply``: p * (1/(255 s)) - m/s."""
    out = np.empty(pixels.shape, F32)
    for c in range(pixels.shape[1]):
        s, m = F32(std[c]), F32(mean[c])
        scale, shift = F32(1.0) / (F32(255.0) * s), m / s
        out[:, c] = pixels[:, c].astype(F32) * scale - shift
    return out


# -------------------------------------------------------------- numpy kernels


def conv2d(x, w, b, stride, pad):
    """NCHW x, OIHW w: accumulated in float64 from the bias, rounded once to
    float32 (as ``cpu::conv::conv2d_forward``)."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    oh, ow = _window(h, k, stride, pad), _window(wd, k, stride, pad)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    acc = np.broadcast_to(b.astype(np.float64)[None, :, None, None], (n, o, oh, ow)).copy()
    w64 = w.astype(np.float64)
    for kh in range(k):
        for kw in range(k):
            patch = xp[:, :, kh : kh + stride * (oh - 1) + 1 : stride, kw : kw + stride * (ow - 1) + 1 : stride]
            acc += np.einsum("nchw,oc->nohw", patch, w64[:, :, kh, kw], optimize=True)
    return acc.astype(F32)


def linear(x, w, b):
    """x [N, in] @ w[out, in].T + b, summed in float32 over the inputs in order,
    then the bias added (as ``cpu::linear::linear_forward``)."""
    acc = np.zeros((x.shape[0], w.shape[0]), F32)
    for i in range(w.shape[1]):
        acc += x[:, i : i + 1] * w[None, :, i]
    return acc + b[None, :]


def _windows(x, k, stride):
    """Each (kh, kw) tap of a k x k window moved by ``stride`` over NCHW x (row-major tap order)."""
    oh, ow = _window(x.shape[2], k, stride, 0), _window(x.shape[3], k, stride, 0)
    for kh in range(k):
        for kw in range(k):
            yield x[:, :, kh : kh + stride * (oh - 1) + 1 : stride, kw : kw + stride * (ow - 1) + 1 : stride]


def max_pool(x, k, stride):
    out = None
    for tap in _windows(x, k, stride):
        out = tap.copy() if out is None else np.maximum(out, tap)
    return out


def avg_pool(x, k, stride):
    """Window sum in float32 in row-major tap order, divided by k*k."""
    acc = None
    for tap in _windows(x, k, stride):
        acc = tap.astype(F32) if acc is None else acc + tap
    return acc / F32(k * k)


def clip(x, mu):
    """Threshold ReLU: clip(x, 0, mu)."""
    return np.minimum(np.maximum(x, F32(0.0)), F32(mu))


def qcfs(x, mu, levels):
    """QCFS: mu * clip(floor(x*L/mu + 1/2) / L, 0, 1), in ``cpu::activation``'s float32 order."""
    mu, lv = F32(mu), F32(levels)
    return np.clip(np.floor((x * lv) / mu + F32(0.5)) / lv, F32(0.0), F32(1.0)) * mu


def _bias(p, name, out):
    return p.get(f"{name}.bias", np.zeros(out, F32))


def _conv(p, name, x, stride, pad):
    w = p[f"{name}.weight"]
    return conv2d(x, w, _bias(p, name, w.shape[0]), stride, pad)


# --------------------------------------------------------------- numpy forward


def _synapse(step, p, x):
    """A layer without neurons on x [rows, ...]; None for an activation or block."""
    kind, name = step["kind"], step["name"]
    if kind == "conv":
        return _conv(p, name, x, step["stride"], step["pad"])
    if kind == "linear":
        w = p[f"{name}.weight"]
        return linear(x, w, _bias(p, name, w.shape[0]))
    if kind == "max_pool":
        return max_pool(x, step["k"], step["stride"])
    if kind == "avg_pool":
        return avg_pool(x, step["k"], step["stride"])
    if kind == "flatten":
        return x.reshape(x.shape[0], -1)
    if kind == "dropout":
        return x  # identity at evaluation
    return None


def _block(step, p, x, act):
    """Residual block: act1(conv1(x)) -> conv2, plus the shortcut, then act2 (add before it)."""
    n = step["name"]
    a1 = act(f"{n}.act1", _conv(p, f"{n}.conv1", x, step["stride"], 1))
    c2 = _conv(p, f"{n}.conv2", a1, 1, 1)
    sc = _conv(p, f"{n}.shortcut", x, step["stride"], 0) if step["shortcut"] else x
    return act(f"{n}.act2", c2 + sc)


def dnn_forward(model, p, x):
    """Logits [N, classes] of the threshold-ReLU DNN on normalized x [N,C,H,W]
    (float32, the operation order of ``cpu::net::CpuNet::logits``)."""
    levels = model.get("act_levels")
    if levels:
        act = lambda name, v: qcfs(v, p[f"{name}.mu"][0], levels)  # noqa: E731
    else:
        act = lambda name, v: clip(v, p[f"{name}.mu"][0])  # noqa: E731
    for step in plan(model):
        y = _synapse(step, p, x)
        if y is None and step["kind"] == "act":
            y = act(step["name"], x)
        elif y is None:
            y = _block(step, p, x, act)
        x = y
    return x


class _Neurons:
    """IF/LIF state of one SNN forward: T, batch, per-layer constants and spike counts."""

    def __init__(self, meta, p, t, batch):
        self.meta, self.p, self.t, self.batch = meta, p, t, batch
        self.layer, self.spiking, self.counts = 0, False, []

    def __call__(self, name, current):
        """Run layer ``name`` for T steps on ``current``: [B, ...] (analog, the
        same current every step) or [T*B, ...] t-major; returns [T*B, ...] outputs."""
        nrn = self.meta["neurons"][self.layer]
        vth, leak = F32(self.p[f"{name}.vth"][0]), F32(self.p[f"{name}.leak"][0])
        shift, height = F32(nrn["shift"]), F32(nrn["beta"]) * vth * F32(self.meta.get("out_scale", 1.0))
        steps = current.reshape(1 if not self.spiking else self.t, -1)
        u = np.full(steps.shape[1], F32(nrn.get("init", 0.0)) * vth, F32)
        out, count = np.zeros((self.t, steps.shape[1]), F32), 0
        for s in range(self.t):
            ut = leak * u + steps[s if self.spiking else 0] + shift
            fire = ut > vth
            out[s][fire] = height
            u = np.where(fire, ut - vth, ut)
            count += int(fire.sum())
        self.layer, self.spiking = self.layer + 1, True
        self.counts.append(count)
        return out.reshape((self.t * self.batch,) + current.shape[1:])


def snn_forward(meta, p, x, t=None):
    """(logits [N, classes], spikes per neuron layer) of the T-step SNN on
    normalized x, as ``cpu::snn::CpuSnn::forward``; ``t`` defaults to the
    checkpoint's (Deng's shift vth/2T is recomputed for another T, as the CLI does)."""
    t = t or meta["timesteps"]
    if t != meta["timesteps"] and meta.get("method") == "deng":
        meta = dict(meta, neurons=[dict(n, shift=float(F32(n["vth"]) / F32(2 * t))) for n in meta["neurons"]])
    nrn = _Neurons(meta, p, t, x.shape[0])
    for step in plan(meta["model"]):
        y = _synapse(step, p, x)
        if y is None and step["kind"] == "act":
            y = nrn(step["name"], x)
        elif y is None:
            if not nrn.spiking:
                raise ValueError("a residual block before the first threshold ReLU is not supported")
            y = _block(step, p, x, nrn)
        x = y
    per_step = x.reshape(t, x.shape[0] // t, -1)
    logits = np.zeros(per_step.shape[1:], F32)
    for s in range(t):
        logits += per_step[s]
    return logits, nrn.counts


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


# ----------------------------------------------------------------------- torch


_TORCH = {}


def _torch():
    """The torch module classes, defined on first use (torch is imported only here)."""
    if not _TORCH:
        _TORCH.update(_define_torch_classes())
    return _TORCH


def _define_torch_classes():
    import torch
    from torch import nn

    class ThresholdReLU(nn.Module):
        """clip(x, 0, mu) with a trainable mu of shape [1]; with ``levels`` L, QCFS
        mu * clip(floor(x*L/mu + 1/2) / L, 0, 1) with a straight-through floor."""

        def __init__(self, mu=4.0, levels=None):
            super().__init__()
            self.mu, self.levels = nn.Parameter(torch.tensor([float(mu)])), levels

        def forward(self, x):
            if not self.levels:
                return torch.minimum(torch.clamp(x, min=0.0), self.mu)
            c = torch.clamp(x / self.mu, 0.0, 1.0) * self.levels + 0.5
            k = c + (torch.floor(c) - c).detach()  # the level count, with c's gradient
            return k / self.levels * self.mu

    class IF(nn.Module):
        """IF/LIF neuron over ``t`` steps: ``vth`` and ``leak`` parameters of shape [1], ``beta``,
        ``shift`` and ``out_scale`` constants. Input [B, ...] (analog: the same current every step)
        or [T*B, ...] t-major; output [T*B, ...] spikes of height beta * vth * out_scale."""

        def __init__(self):
            super().__init__()
            self.vth, self.leak = nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))
            self.beta, self.shift, self.out_scale, self.t, self.init = 1.0, 0.0, 1.0, 1, 0.0

        def forward(self, current, analog=False):
            steps = current.reshape(1 if analog else self.t, -1)
            u, outs = torch.zeros_like(steps[0]) + self.init * self.vth, []
            for s in range(self.t):
                ut = self.leak * u + steps[0 if analog else s] + self.shift
                fire = ut > self.vth
                outs.append(fire.to(ut.dtype) * (self.beta * self.vth * self.out_scale))
                u = torch.where(fire, ut - self.vth, ut)
            return torch.stack(outs).reshape((-1,) + current.shape[1:])

    class Block(nn.Module):
        """conv3x3(stride)-act1-dropout-conv3x3-(+shortcut)-act2 (the add before act2's clip or
        neuron); ``shortcut``: a 1x1 conv with the stride, or None for the identity."""

        def __init__(self, c_in, out, stride, dropout, shortcut, act):
            super().__init__()
            self.conv1, self.act1 = nn.Conv2d(c_in, out, 3, stride, 1), act()
            self.drop, self.conv2 = nn.Dropout(dropout), nn.Conv2d(out, out, 3, 1, 1)
            self.shortcut = nn.Conv2d(c_in, out, 1, stride, 0) if shortcut else None
            self.act2 = act()

        def forward(self, x, analog=False):
            sc = x if self.shortcut is None else self.shortcut(x)
            return self.act2(self.conv2(self.drop(self.act1(self.conv1(x)))) + sc)

    class Snn(nn.Module):
        """``features`` and ``classifier`` with IF neurons; ``forward(x)`` -> logits summed over T."""

        def __init__(self, features, classifier, t):
            super().__init__()
            self.features, self.classifier, self.t = features, classifier, t

        def forward(self, x):
            analog = True  # until the first neuron: one row per image
            for m in list(self.features) + list(self.classifier):
                if isinstance(m, (IF, Block)):
                    x, analog = m(x, analog), False
                else:
                    x = m(x)
            return x.reshape(self.t, -1, x.shape[-1]).sum(0)

    return dict(nn=nn, ThresholdReLU=ThresholdReLU, IF=IF, Block=Block, Snn=Snn)


def _torch_layer(s, spiking):
    """The torch module of one ``plan`` step (``spiking``: IF neurons instead of threshold ReLUs)."""
    tc = _torch()
    nn, act = tc["nn"], (tc["IF"] if spiking else tc["ThresholdReLU"])
    block_act = act if spiking else (lambda: act(4.0, s.get("levels")))
    make = {
        "conv": lambda: nn.Conv2d(s["in_shape"][0], s["out"], s["k"], s["stride"], s["pad"], bias=s["bias"]),
        "linear": lambda: nn.Linear(s["in_shape"][0], s["out"], bias=s["bias"]),
        "act": lambda: act() if spiking else act(s["mu"], s.get("levels")),
        "dropout": lambda: nn.Dropout(s["p"]),
        "max_pool": lambda: nn.MaxPool2d(s["k"], s["stride"]),
        "avg_pool": lambda: nn.AvgPool2d(s["k"], s["stride"]),
        "flatten": nn.Flatten,
        "block": lambda: tc["Block"](s["in_shape"][0], s["out"], s["stride"], s["dropout"], s["shortcut"], block_act),
    }
    return make[s["kind"]]()


def _halves(model, spiking):
    """(features, classifier): ``nn.Sequential``s of the layers up to and including the first
    flatten, and of those after it."""
    nn = _torch()["nn"]
    steps = plan(model)
    mods = [_torch_layer(s, spiking) for s in steps]
    cut = next(i for i, s in enumerate(steps) if s["kind"] == "flatten") + 1
    return nn.Sequential(*mods[:cut]), nn.Sequential(*mods[cut:])


def build_dnn(model):
    """``nn.Sequential(features=..., classifier=...)`` for a model config (the
    ``model`` of the metadata): ``net.load_state_dict(tensors, strict=True)``
    takes a DNN checkpoint's tensors. Call ``net.eval()`` (dropout)."""
    from collections import OrderedDict

    features, classifier = _halves(model, spiking=False)
    return _torch()["nn"].Sequential(OrderedDict(features=features, classifier=classifier))


def build_snn(meta, t=None):
    """The T-step SNN of an SNN checkpoint's metadata as a ``torch.nn.Module``
    whose ``state_dict`` has the checkpoint's names (weights, biases, ``.vth``,
    ``.leak``); ``forward(x)`` returns the logits summed over T. ``t`` defaults
    to the checkpoint's (Deng's shift vth/2T follows another T, as the CLI's)."""
    tc = _torch()
    t = t or meta["timesteps"]
    net = tc["Snn"](*_halves(meta["model"], spiking=True), t)
    neurons = [m for m in net.modules() if isinstance(m, tc["IF"])]
    for m, n in zip(neurons, meta["neurons"]):
        shift = n["vth"] / (2 * t) if meta.get("method") == "deng" and t != meta["timesteps"] else n["shift"]
        m.beta, m.shift, m.out_scale, m.t = n["beta"], shift, meta.get("out_scale", 1.0), t
        m.init = n.get("init", 0.0)
    return net


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
    raw = open(path, "rb").read()
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
    model = json.load(open(a.model)) if a.model else None
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
