"""The opt-in simulator check of a NIR export (``check_nir.py simulate``): a NIR
simulator runs the file on test images and its predictions are compared with
our CPU reference SNN's (``ultraspike_torch.forward``, the numpy twin of
``src/cpu`` that CI checks against it, on the checkpoint the file came from).

Needs torch and the simulator (not in python/requirements.txt):
``pip install norse==1.1.0`` (brings nir and nirtorch); ``snntorch==1.0.0``.

What the file says beside the graph (its ``metadata`` group) and how the run
follows it: the normalized image (``normalization_mean``/``_std``) is the input
at each of the ``timesteps`` steps of ``dt``; the logits are the output summed
over the steps; each CubaLIF's membrane starts at ``initial_membrane`` times its
threshold (NIR has no initial state: for Norse it is set in the state the graph
starts from; Norse starts the synapse at 0, as we do); the reset subtracts the
threshold (Norse: ``reset_method=reset_subtract``).
"""

import os
import time
import warnings

import nir
import numpy as np

import ultraspike_torch as ut


def mnist_test(data_dir, n):
    """The first ``n`` test images [n, 1, 28, 28] (u8) and labels of an MNIST-format folder."""
    images = ut.read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte"))[:n]
    labels = ut.read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte"))[:n]
    return images[:, None], labels.astype(np.int64)


def file_inputs(g, pixels):
    """The input current of each image, normalized as the file's metadata says."""
    md, channels = g.metadata, pixels.shape[1]
    if "normalization_mean" not in md:
        return pixels.astype(np.float32) / np.float32(255.0)
    mean, std = list(np.atleast_1d(md["normalization_mean"])), list(np.atleast_1d(md["normalization_std"]))
    pick = lambda v: [v[c] if len(v) > 1 else v[0] for c in range(channels)]
    return ut.normalize(pixels, pick(mean), pick(std))


def initial_membrane(g):
    """{CubaLIF node name: v at the start} from ``metadata/initial_membrane`` (neurons in graph order)."""
    names = [n for n, node in g.nodes.items() if isinstance(node, nir.CubaLIF)]
    fractions = np.atleast_1d(g.metadata.get("initial_membrane", np.zeros(len(names))))
    if len(fractions) != len(names):
        raise SystemExit(f"check_nir: {len(fractions)} initial_membrane values for {len(names)} CubaLIF nodes")
    return {n: float(f) * np.asarray(g.nodes[n].v_threshold, np.float32) for n, f in zip(names, fractions)}


def run_norse(g, x):
    """Logits of each image [C, H, W] (NIR shapes have no batch axis: one image at a time)."""
    import torch
    from nirtorch.graph_executor import GraphExecutorState
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")  # Norse's torch.jit.script
    from norse.torch import from_nir
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState
    from norse.torch.functional.reset import reset_subtract

    md = g.metadata
    steps, dt = int(md["timesteps"]), float(md["dt"])
    net = from_nir(g, reset_method=reset_subtract, dt=dt)
    v0 = {n: torch.from_numpy(v) for n, v in initial_membrane(g).items()}
    logits = np.zeros((len(x), int(np.prod(g.nodes["output"].output_type["output"]))), np.float64)
    with torch.no_grad():
        for i, image in enumerate(torch.from_numpy(x)):
            # (synapse state: None, Norse's zero start; membrane: the metadata's start)
            state = GraphExecutorState(state={n: ((None, LIFBoxFeedForwardState(v=v.clone())),) for n, v in v0.items()})
            for _ in range(steps):
                out, state = net(image, state)
                logits[i] += out.double().numpy()
    return logits


SNNTORCH_DT = 1e-4  # snntorch.import_nir fixes dt at 1e-4 (it asserts CubaLIF r == tau_mem / 1e-4)


def run_snntorch(g, x, subtract):
    """snnTorch 1.0.0's importer on the file, its time constants re-expressed for its dt (the
    same ODE in another time unit: tau_syn, tau_mem times 1e-4 / dt; r, a resistance, stays).
    It builds each CubaLIF as ``snn.Synaptic(reset_mechanism="zero")``, a hard reset; with
    ``subtract`` each is swapped for the same Synaptic with ``reset_mechanism="subtract"``."""
    import copy

    import snntorch as snn
    import torch
    from snntorch.import_nir import import_from_nir

    g, scale = copy.deepcopy(g), SNNTORCH_DT / float(g.metadata["dt"])
    for node in g.nodes.values():
        if isinstance(node, nir.CubaLIF):
            node.tau_syn, node.tau_mem = node.tau_syn * scale, node.tau_mem * scale
    net = import_from_nir(g)
    v0 = {n: torch.from_numpy(v) for n, v in initial_membrane(g).items()}
    cells = {n: getattr(net, n) for n in v0}
    if subtract:
        for n, m in cells.items():
            cells[n] = snn.Synaptic(alpha=m.alpha, beta=m.beta, threshold=m.threshold, reset_mechanism="subtract",
                                    init_hidden=True, reset_delay=False)
            setattr(net, n, cells[n])
    steps = int(g.metadata["timesteps"])
    logits = np.zeros((len(x), int(np.prod(g.nodes["output"].output_type["output"]))), np.float64)
    with torch.no_grad():
        for i, image in enumerate(torch.from_numpy(x)):
            for n, m in cells.items():  # snnTorch keeps the state in the module (init_hidden)
                m.mem, m.syn = v0[n].clone(), torch.zeros_like(v0[n])
            for _ in range(steps):
                logits[i] += net(image)[0].double().numpy()
    return logits


SIMULATORS = {
    "norse": [("norse", run_norse)],
    "snntorch": [
        ("snntorch as imported (reset to zero)", lambda g, x: run_snntorch(g, x, False)),
        ("snntorch, reset_mechanism='subtract'", lambda g, x: run_snntorch(g, x, True)),
    ],
}


def simulate(simulator, path, ckpt, data_dir, n):
    """Run the file in ``simulator`` on the first ``n`` test images; print the agreement of its
    predictions with our reference SNN's (and both accuracies); return the last run's agreement."""
    g = nir.read(path)
    if g.metadata.get("source") != "ultraspike":
        raise SystemExit(f"check_nir: {path} was not written by ultraspike (no metadata/source)")
    pixels, labels = mnist_test(data_dir, n)
    steps = int(g.metadata["timesteps"])
    start = time.perf_counter()
    ours = ut.forward(ckpt, pixels, t=steps)
    p_ours = ours.argmax(1)
    print(f"{path}: T = {steps}, {len(labels)} test images from {data_dir}")
    print(f"  ours (numpy reference SNN of {ckpt}): accuracy {100 * (p_ours == labels).mean():.2f} %, "
          f"{time.perf_counter() - start:.1f} s")
    for name, run in SIMULATORS[simulator]:
        start = time.perf_counter()
        theirs = run(g, file_inputs(g, pixels))
        p_theirs = theirs.argmax(1)
        agree = float((p_ours == p_theirs).mean())
        print(f"  {name}: accuracy {100 * (p_theirs == labels).mean():.2f} %, "
              f"{time.perf_counter() - start:.1f} s; predictions agree with ours on "
              f"{int((p_ours == p_theirs).sum())} of {len(labels)} images ({100 * agree:.2f} %); "
              f"max |logit difference| {np.abs(theirs - ours).max():.3g} (ours span {np.ptp(ours):.3g})")
    return agree
