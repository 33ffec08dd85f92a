"""The PyTorch side of ``ultraspike_torch``: ``torch.nn`` modules whose
``state_dict`` names are a checkpoint's (``build_dnn`` / ``build_snn``), loaded
with ``strict=True``. torch is imported on first use only, so the numpy path
runs without it."""

from ultraspike_plan import plan

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

    return {"nn": nn, "ThresholdReLU": ThresholdReLU, "IF": IF, "Block": Block, "Snn": Snn}


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
