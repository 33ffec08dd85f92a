"""The layer walk both forward paths of ``ultraspike_torch`` share: a model
config's layers with their state-dict names and shapes (``plan``), and the
input normalization of the metadata (``normalization`` / ``normalize``).
The conventions are in ``ultraspike_torch``'s docstring."""

import numpy as np

F32 = np.float32


def window(size, k, stride, pad):
    """Output size of a conv or pool window: ``(size + 2*pad - k) // stride + 1``."""
    return (size + 2 * pad - k) // stride + 1


def _out_shape(layer, shape):
    kind, a = layer["kind"], layer
    if kind == "conv":
        return [a["out"], window(shape[1], a["k"], a["stride"], a["pad"]), window(shape[2], a["k"], a["stride"], a["pad"])]
    if kind in ("max_pool", "avg_pool"):
        return [shape[0], window(shape[1], a["k"], a["stride"], 0), window(shape[2], a["k"], a["stride"], 0)]
    if kind == "block":
        return [a["out"], window(shape[1], 3, a["stride"], 1), window(shape[2], 3, a["stride"], 1)]
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

    def pick(v):
        return [v[c] if len(v) > 1 else v[0] for c in range(channels)]

    return pick(norm["mean"]), pick(norm["std"])


def normalize(pixels, mean, std):
    """u8 images [N,C,H,W] -> float32 as ``Normalization::apply``: p * (1/(255 s)) - m/s."""
    out = np.empty(pixels.shape, F32)
    for c in range(pixels.shape[1]):
        s, m = F32(std[c]), F32(mean[c])
        scale, shift = F32(1.0) / (F32(255.0) * s), m / s
        out[:, c] = pixels[:, c].astype(F32) * scale - shift
    return out
