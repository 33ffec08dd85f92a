"""Checks of ultraspike's NIR export, run by tests/nir_export.rs.

  check_nir.py hdf5 FILE            h5py reads the HDF5 writer's test file (tests/nir_export.rs
                                    says what it holds) with the values written.
  check_nir.py nir FILE.nir CKPT [RUN.json]
                                    nir.read reads the export of the SNN checkpoint CKPT, and
                                    its nodes (types, shapes, parameters) and edges are the ones
                                    derived here, independently, from the checkpoint's tensors
                                    and metadata (the mapping documented in src/export/mod.rs).
                                    With RUN.json ({"input": [C*H*W], "logits": [classes]}, our
                                    CPU reference SNN's logits of one image): the graph run in
                                    numpy with the semantics the file's metadata states (dt = 1
                                    Euler steps, subtractive reset, the membrane starting at
                                    metadata/initial_membrane, the image at every step, the
                                    output summed over T) gives the same logits.
  check_nir.py simulate norse|snntorch FILE.nir CKPT DATA_DIR [N]
                                    opt-in (needs torch and the simulator; python/nir_sim.py):
                                    the simulator imports the file and runs the first N (1000)
                                    test images of the MNIST-format DATA_DIR for the file's T
                                    steps; its predictions must agree with our reference SNN's
                                    (CKPT, numpy) on at least 99.5 % of them.
"""

import json
import sys

import h5py
import nir
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

F32 = np.float32
MIN_AGREEMENT = 0.995  # of a simulator's predictions with ours (simulate)
TAU_IF = F32(2.0**24)  # an IF's tau_mem in steps (src/export/nir_file.rs, IF_TAU_MEM)


def fail(msg):
    sys.exit(f"check_nir: {msg}")


def check_hdf5(path):
    with h5py.File(path, "r") as f:
        seen = []
        f.visititems(lambda name, _obj: seen.append(name))
        want = ["a", "a/b", "a/b/x", "a/n", "a/s", "a/t", "v"]
        if sorted(seen) != want:
            fail(f"{path}: members {sorted(seen)}, want {want}")
        x = f["a/b/x"][()]
        if x.dtype != np.float32 or not np.array_equal(x, np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], np.float32)):
            fail(f"a/b/x = {x!r}")
        n = f["a/n"][()]
        if n.dtype != np.int64 or not np.array_equal(n, [-1, 0, 2**40]):
            fail(f"a/n = {n!r}")
        if f["a/s"][()] != b"Conv2d" or f["v"][()] != np.int64(7):
            fail(f"a/s = {f['a/s'][()]!r}, v = {f['v'][()]!r}")
        t = f["a/t"][()]
        if t.shape != (2, 2) or [[s.decode() for s in r] for r in t] != [["in", "layer_1"], ["layer_1", "out"]]:
            fail(f"a/t = {t!r}")
    print(f"{path}: h5py reads the group, f32, i64 and string datasets as written")


def prefix(layers, i):
    flat = next((j for j, l in enumerate(layers) if l == "flatten"), None)
    return f"classifier.{i - flat - 1}" if flat is not None and i > flat else f"features.{i}"


def kind(layer):
    return layer if isinstance(layer, str) else next(iter(layer))


class Expected:
    """The nodes and edges the export should hold, walked from the checkpoint."""

    def __init__(self, tensors, meta):
        self.t, self.meta = tensors, meta
        self.nodes, self.edges, self.prev, self.slot, self.neuron_i = {}, [], [], None, 0
        self.neuron_names, self.heights = [], []  # the CubaLIF nodes in the order of meta["neurons"]
        self.gain = F32(1.0)  # spike height and 1/k^2 of the pools since the last weights

    def add(self, name, typ, **params):
        self.edges += [(p, name) for p in self.prev]
        self.prev = [name]
        self.nodes[name] = (typ, params)
        return name

    def conv(self, p, name, shape_in, out, k, stride, pad, bias):
        w = self.t[f"{p}.weight"]
        if w.shape != (out, shape_in[0], k, k):
            fail(f"{p}.weight has shape {w.shape}")
        b = self.t[f"{p}.bias"] if bias else np.zeros(out, np.float32)
        self.slot = self.add(name, "Conv2d", weight=w * self.gain, bias=b.copy(), stride=[stride] * 2,
                             padding=[pad] * 2, dilation=[1, 1], groups=1, input_shape=list(shape_in[1:]))
        self.gain = F32(1.0)

    def neuron(self, p, shape):
        n = self.meta["neurons"][self.neuron_i]
        self.neuron_i += 1
        vth, leak = float(self.t[f"{p}.vth"][0]), float(self.t[f"{p}.leak"][0])
        if n["shift"] != 0.0:
            self.nodes[self.slot][1]["bias"] += np.float32(n["shift"])
        if self.gain != 1.0:  # a pool between the weights and the neuron: 1/k^2 into those weights
            params = self.nodes[self.slot][1]
            params["weight"], params["bias"] = params["weight"] * self.gain, params["bias"] * self.gain
        full = lambda v: np.full(shape, v, np.float32)
        name = p.replace(".", "_")
        self.neuron_names.append(name)
        tau = TAU_IF if leak >= 1.0 else F32(1.0) / (F32(1.0) - F32(leak))
        self.add(name, "CubaLIF", tau_syn=full(1.0), tau_mem=full(tau), r=full(tau), v_leak=full(0.0),
                 v_threshold=full(vth), v_reset=full(0.0), w_in=full(1.0))
        self.gain = F32(n["beta"]) * F32(vth) * F32(self.meta["out_scale"])
        self.heights.append(self.gain)
        self.slot = None

    def block(self, p, shape_in, shape_out, stride):
        name, block_in, gain = p.replace(".", "_"), self.prev, self.gain
        self.conv(f"{p}.conv1", name + "_conv1", shape_in, shape_out[0], 3, stride, 1, True)
        self.neuron(f"{p}.act1", shape_out)
        self.conv(f"{p}.conv2", name + "_conv2", shape_out, shape_out[0], 3, 1, 1, True)
        conv2, feeds = self.slot, self.prev
        self.prev, self.gain = block_in, gain
        if list(shape_in) != list(shape_out):
            self.conv(f"{p}.shortcut", name + "_shortcut", shape_in, shape_out[0], 1, stride, 0, True)
        elif gain != 1.0:  # the identity at our scale: diag(spike height)
            c = shape_in[0]
            self.add(name + "_shortcut", "Conv2d", weight=(np.eye(c, dtype=F32) * gain)[:, :, None, None],
                     bias=np.zeros(c, F32), stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1,
                     input_shape=list(shape_in[1:]))
        feeds, self.gain = feeds + self.prev, F32(1.0)
        self.prev, self.slot = feeds, conv2
        self.neuron(f"{p}.act2", shape_out)

    def walk(self):
        model = self.meta["model"]
        layers, shape = model["layers"], list(model["input"])
        self.add("input", "Input", shape=np.array(shape))
        for i, layer in enumerate(layers):
            p, k = prefix(layers, i), kind(layer)
            a = layer[k] if isinstance(layer, dict) else {}
            name = p.replace(".", "_")
            if k == "conv":
                self.conv(p, name, shape, a["out"], a["k"], a["stride"], a["pad"], a.get("bias", True))
                hw = [(s + 2 * a["pad"] - a["k"]) // a["stride"] + 1 for s in shape[1:]]
                shape = [a["out"], *hw]
            elif k == "act":
                self.neuron(p, shape)
            elif k == "avg_pool":
                self.add(name, "SumPool2d", kernel_size=[a["k"]] * 2, stride=[a["stride"]] * 2, padding=[0, 0])
                self.gain = self.gain / F32(a["k"] * a["k"])
                shape = [shape[0]] + [(s - a["k"]) // a["stride"] + 1 for s in shape[1:]]
            elif k == "flatten":
                self.add(name, "Flatten", start_dim=0, end_dim=-1)
                shape = [int(np.prod(shape))]
            elif k == "linear":
                w, self.gain = self.t[f"{p}.weight"] * self.gain, F32(1.0)
                if a.get("bias", True):
                    self.slot = self.add(name, "Affine", weight=w, bias=self.t[f"{p}.bias"].copy())
                else:
                    self.slot = self.add(name, "Linear", weight=w)
                shape = [a["out"]]
            elif k == "block":
                out = [a["out"]] + [(s + 2 - 3) // a["stride"] + 1 for s in shape[1:]]
                self.block(p, shape, out, a["stride"])
                shape = out
            elif k != "dropout":
                fail(f"the checker does not know layer kind {k}")
        self.add("output", "Output", shape=np.array(shape))


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=0)
    return a.shape == b.shape and np.array_equal(a, b)


def check_nir(path, ckpt):
    with safe_open(ckpt, "np") as f:
        meta = json.loads(f.metadata()["ultraspike"])
    want = Expected(load_file(ckpt), meta)
    want.walk()
    g = nir.read(path)  # also type-checks the graph (shapes along every edge)
    if set(g.nodes) != set(want.nodes):
        fail(f"nodes {sorted(g.nodes)}, want {sorted(want.nodes)}")
    if sorted(g.edges) != sorted(want.edges):
        fail(f"edges {sorted(g.edges)}, want {sorted(want.edges)}")
    for name, (typ, params) in want.nodes.items():
        node = g.nodes[name]
        if type(node).__name__ != typ:
            fail(f"node {name} is {type(node).__name__}, want {typ}")
        for key, value in params.items():
            got = node.input_type["input"] if (typ, key) == ("Input", "shape") else getattr(node, key, None)
            if typ == "Output" and key == "shape":
                got = node.output_type["output"]
            if not same(got, value):
                fail(f"{name}.{key} = {np.asarray(got)!r}, want {np.asarray(value)!r}")
    model = meta["model"]
    if not same(g.nodes["input"].output_type["output"], model["input"]) or not same(
        g.nodes["output"].input_type["input"], [model["classes"]]
    ):
        fail("input/output shapes differ from the model's")
    md = g.metadata
    if int(md["timesteps"]) != meta["timesteps"] or md["method"] != meta["method"] or not md["reset"].startswith("subtract"):
        fail(f"metadata {md!r}")
    if not same(md["spike_heights"], np.array(want.heights, F32)):
        fail(f"metadata/spike_heights {md['spike_heights']!r}, want {want.heights}")
    inits = np.array([n.get("init", 0.0) for n in meta["neurons"]], np.float32)
    if inits.any() != ("initial_membrane" in md) or (inits.any() and not same(md["initial_membrane"], inits)):
        fail(f"metadata/initial_membrane {md.get('initial_membrane')!r}, the checkpoint's starts {inits}")
    print(f"{path}: nir.read gives {len(g.nodes)} nodes and {len(g.edges)} edges equal to {ckpt}'s")
    return g, meta, dict(zip(want.neuron_names, inits.tolist()))


def conv2d(x, w, b, stride, pad):
    """x [C, H, W], w [O, C, k, k]: the cross-correlation PyTorch's Conv2d computes."""
    k, (s0, s1), (p0, p1) = w.shape[2], stride, pad
    xp = np.pad(x, ((0, 0), (p0, p0), (p1, p1)))
    oh, ow = (xp.shape[1] - k) // s0 + 1, (xp.shape[2] - k) // s1 + 1
    y = np.zeros((w.shape[0], oh, ow))
    for i in range(k):
        for j in range(k):
            patch = xp[:, i : i + s0 * (oh - 1) + 1 : s0, j : j + s1 * (ow - 1) + 1 : s1]
            y += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return y + b[:, None, None]


def sum_pool(x, k, s):
    c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    y = np.zeros((c, oh, ow))
    for i in range(k[0]):
        for j in range(k[1]):
            y += x[:, i : i + s[0] * (oh - 1) + 1 : s[0], j : j + s[1] * (ow - 1) + 1 : s[1]]
    return y


def run_graph(g, image, steps, init):
    """The NIR graph over `steps` dt = 1 Euler steps with subtractive reset, each CubaLIF's v starting
    at init[name] * v_threshold (metadata/initial_membrane), its synaptic current at 0; the output summed."""
    order, done = [], set()
    while len(order) < len(g.nodes):
        for name in g.nodes:
            pre = [a for a, b in g.edges if b == name]
            if name not in done and all(p in done for p in pre):
                order.append(name)
                done.add(name)
    cuba = [n for n, node in g.nodes.items() if type(node).__name__ == "CubaLIF"]
    v = {n: init.get(n, 0.0) * g.nodes[n].v_threshold.astype(np.float64) for n in cuba}
    syn = dict.fromkeys(cuba, 0.0)
    total = 0.0
    for _ in range(steps):
        out = {}
        for name in order:
            node, typ = g.nodes[name], type(g.nodes[name]).__name__
            x = sum(out[a] for a, b in g.edges if b == name) if typ != "Input" else image
            if typ == "Conv2d":
                y = conv2d(x, node.weight.astype(np.float64), node.bias, node.stride, node.padding)
            elif typ in ("Affine", "Linear"):
                y = node.weight.astype(np.float64) @ x + (node.bias if typ == "Affine" else 0.0)
            elif typ == "CubaLIF":  # tau_syn dI/dt = -I + w_in x; tau_mem dv/dt = v_leak - v + r I
                syn[name] = syn[name] + (node.w_in * x - syn[name]) / node.tau_syn
                v[name] = v[name] + (node.v_leak - v[name] + node.r * syn[name]) / node.tau_mem
                y = (v[name] > node.v_threshold).astype(np.float64)
                v[name] = v[name] - y * node.v_threshold  # the metadata's subtractive reset
            elif typ == "SumPool2d":
                y = sum_pool(x, node.kernel_size, node.stride)
            elif typ == "Flatten":
                y = x.reshape(-1)
            else:  # Input, Output
                y = x
            out[name] = y
        total = total + out["output"]
    return total


def check_run(g, meta, init, run_path):
    with open(run_path) as f:
        run = json.load(f)
    image = np.array(run["input"], np.float64).reshape(meta["model"]["input"])
    logits = run_graph(g, image, int(g.metadata["timesteps"]), init)
    want = np.array(run["logits"])
    if not np.allclose(logits, want, rtol=1e-4, atol=1e-4):
        fail(f"the graph run in numpy gives logits {logits}, our SNN {want}")
    print(f"the NIR graph run in numpy gives our SNN's logits {np.round(want, 4)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "hdf5":
        check_hdf5(sys.argv[2])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "nir":
        graph, meta, init = check_nir(sys.argv[2], sys.argv[3])
        if len(sys.argv) == 5:
            check_run(graph, meta, init, sys.argv[4])
    elif len(sys.argv) in (6, 7) and sys.argv[1] == "simulate" and sys.argv[2] in ("norse", "snntorch"):
        from nir_sim import simulate  # torch and the simulator: imported only here

        agreement = simulate(*sys.argv[2:6], int(sys.argv[6]) if len(sys.argv) == 7 else 1000)
        if agreement < MIN_AGREEMENT:
            fail(f"the predictions agree on {100 * agreement:.2f} % of the images, under {100 * MIN_AGREEMENT} %")
    else:
        fail(__doc__)
