"""The numpy forward of ``ultraspike_torch`` (no torch): the kernels and the
DNN and T-step SNN forwards in float32, in the operation order of the Rust CPU
reference (``src/cpu``), so that CI checks them against it."""

import numpy as np

from ultraspike_plan import F32, plan, window

# ------------------------------------------------------------------ kernels


def conv2d(x, w, b, stride, pad):
    """NCHW x, OIHW w: accumulated in float64 from the bias, rounded once to
    float32 (as ``cpu::conv::conv2d_forward``)."""
    n, _, h, wd = x.shape
    o, _, k, _ = w.shape
    oh, ow = window(h, k, stride, pad), window(wd, k, stride, pad)
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
    oh, ow = window(x.shape[2], k, stride, 0), window(x.shape[3], k, stride, 0)
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


# ------------------------------------------------------------------ forward


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

    def act(name, v):
        mu = p[f"{name}.mu"][0]
        return qcfs(v, mu, levels) if levels else clip(v, mu)

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
