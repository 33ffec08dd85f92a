//! A `NirGraph` as the HDF5 layout the Python `nir` package reads (`nir.read`,
//! layout of nir 1.0.8): `/version`, and `/node` holding the graph's `type`,
//! `nodes/<name>/{type, parameters...}`, `edges` ([n, 2] strings) and `metadata`.

use super::hdf5::{write_file, Dataset, Group};
use super::nir::{NirGraph, NirOp, Weight};
use crate::error::Result;
use crate::meta::SnnMeta;

/// The `nir` package version whose file layout this follows.
pub const NIR_VERSION: &str = "1.0.8";

/// The `.nir` file's bytes.
pub fn nir_file(g: &NirGraph, meta: &SnnMeta) -> Result<Vec<u8>> {
    let mut nodes = Group::new();
    for (name, op) in &g.nodes {
        nodes.group(name, node_group(op)?);
    }
    let edges: Vec<String> = g.edges.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    let mut graph = Group::new();
    graph
        .dataset("type", Dataset::string("NIRGraph"))
        .group("nodes", nodes)
        .dataset("edges", Dataset::strings(&[g.edges.len(), 2], edges))
        .group("metadata", metadata(g, meta)?);
    let mut root = Group::new();
    root.dataset("version", Dataset::string(NIR_VERSION))
        .group("node", graph);
    write_file(&root)
}

fn ints(v: &[usize]) -> Result<Dataset> {
    let v: Vec<i64> = v
        .iter()
        .map(|&x| i64::try_from(x))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| crate::Error::Config("NIR export: a size does not fit an i64".into()))?;
    Ok(Dataset::i64(&[v.len()], v))
}

fn weight(w: &Weight) -> Dataset {
    Dataset::f32(&w.shape, w.data.clone())
}

/// `value` for each of the layer's neurons (NIR neuron parameters are per neuron).
fn filled(shape: &[usize], value: f32) -> Dataset {
    Dataset::f32(shape, vec![value; shape.iter().product()])
}

/// The node's group: its `type` and the parameters `nir.read` passes to its constructor.
fn node_group(op: &NirOp) -> Result<Group> {
    let mut g = Group::new();
    match op {
        NirOp::Input { shape } => g
            .dataset("type", Dataset::string("Input"))
            .dataset("shape", ints(shape)?),
        NirOp::Output { shape } => g
            .dataset("type", Dataset::string("Output"))
            .dataset("shape", ints(shape)?),
        NirOp::Conv2d {
            weight: w,
            bias,
            stride,
            pad,
            input_hw,
        } => g
            .dataset("type", Dataset::string("Conv2d"))
            .dataset("weight", weight(w))
            .dataset("bias", Dataset::f32(&[bias.len()], bias.clone()))
            .dataset("stride", ints(&[*stride, *stride])?)
            .dataset("padding", ints(&[*pad, *pad])?)
            .dataset("dilation", ints(&[1, 1])?)
            .dataset("groups", Dataset::scalar_i64(1))
            .dataset("input_shape", ints(input_hw)?),
        NirOp::Affine { weight: w, bias: None } => g
            .dataset("type", Dataset::string("Linear"))
            .dataset("weight", weight(w)),
        NirOp::Affine {
            weight: w,
            bias: Some(b),
        } => g
            .dataset("type", Dataset::string("Affine"))
            .dataset("weight", weight(w))
            .dataset("bias", Dataset::f32(&[b.len()], b.clone())),
        NirOp::Neuron { shape, vth, leak } => neuron(&mut g, shape, *vth, *leak),
        NirOp::SumPool2d { k, stride } => g
            .dataset("type", Dataset::string("SumPool2d"))
            .dataset("kernel_size", ints(&[*k, *k])?)
            .dataset("stride", ints(&[*stride, *stride])?)
            .dataset("padding", ints(&[0, 0])?),
        NirOp::Flatten { input } => g
            .dataset("type", Dataset::string("Flatten"))
            .dataset("input_type", ints(input)?)
            .dataset("start_dim", Dataset::scalar_i64(0))
            .dataset("end_dim", Dataset::scalar_i64(-1)),
    };
    Ok(g)
}

/// The membrane time constant of an IF (leak 1), in steps: 2^24, so that the
/// leak per step, v / 2^24, is below f32's rounding of v (exact powers of 2, so
/// 1/tau and r = tau are exact too).
pub const IF_TAU_MEM: f32 = 16_777_216.0;

/// Our neuron as a NIR `CubaLIF` (dt = 1), the node Norse imports with
/// subtractive reset (`from_nir(..., reset_method=reset_subtract)`):
///   tau_syn dI/dt = -I + w_in x,  tau_mem dv/dt = (v_leak - v) + r I.
/// tau_syn = dt = 1 and w_in = 1: one Euler step sets I = x (an instant synapse);
/// r = tau_mem and v_leak = 0: one step is v <- (1 - 1/tau_mem) v + x, that is
/// v <- leak * v + x with tau_mem = 1/(1 - leak), and v + x (to 2^-24) for an IF
/// (`IF_TAU_MEM`). v_threshold = V_th; v_reset = 0 (NIR's hard reset; ours
/// subtracts V_th, see `metadata/reset`). Norse uses v_leak in the synapse too
/// (I <- I + (v_leak - I + x)), so v_leak must stay 0.
fn neuron<'g>(g: &'g mut Group, shape: &[usize], vth: f32, leak: f32) -> &'g mut Group {
    let tau_mem = if leak >= 1.0 { IF_TAU_MEM } else { 1.0 / (1.0 - leak) };
    g.dataset("type", Dataset::string("CubaLIF"))
        .dataset("tau_syn", filled(shape, 1.0))
        .dataset("tau_mem", filled(shape, tau_mem))
        .dataset("r", filled(shape, tau_mem))
        .dataset("v_leak", filled(shape, 0.0))
        .dataset("v_threshold", filled(shape, vth))
        .dataset("v_reset", filled(shape, 0.0))
        .dataset("w_in", filled(shape, 1.0))
}

/// What NIR cannot carry, for a reader that wants to run the network as we do.
fn metadata(g: &NirGraph, meta: &SnnMeta) -> Result<Group> {
    let t = i64::try_from(meta.timesteps).unwrap_or(i64::MAX);
    let mut m = Group::new();
    m.dataset("source", Dataset::string("ultraspike"))
        .dataset("model", Dataset::string(&meta.model.name))
        .dataset("method", Dataset::string(meta.method.name()))
        .dataset("timesteps", Dataset::scalar_i64(t))
        .dataset("dt", Dataset::f32(&[], vec![1.0]))
        .dataset(
            "reset",
            Dataset::string("subtract: after a spike v -= v_threshold (v_reset is not used; Norse: reset_method=reset_subtract)"),
        )
        .dataset(
            "encoding",
            Dataset::string("direct: the normalized image is the input current at every step"),
        )
        .dataset("readout", Dataset::string("sum over the T steps of the output node"))
        .dataset(
            "neuron",
            Dataset::string(
                "CubaLIF, dt = 1: tau_syn = 1 (I = input), r = tau_mem, v_leak = 0; tau_mem = 2^24 for an IF (leak below f32 rounding), 1/(1 - leak) for a LIF",
            ),
        )
        .dataset(
            "spike_height",
            Dataset::string(
                "beta * v_threshold * out_scale per spiking layer, multiplied into the next conv/linear weights (NIR spikes are 1)",
            ),
        )
        .dataset(
            "spike_heights",
            Dataset::f32(&[g.heights.len()], g.heights.clone()),
        )
        .dataset(
            "pooling",
            Dataset::string("SumPool2d: the average pool's 1/k^2 is multiplied into the next conv/linear weights"),
        )
        .dataset("out_scale", Dataset::f32(&[], vec![meta.out_scale]))
        .dataset(
            "input_shift_note",
            Dataset::string("added to the input current every step; folded into the bias before each IF"),
        );
    if !g.shifts.is_empty() {
        m.dataset("input_shifts", Dataset::f32(&[g.shifts.len()], g.shifts.clone()));
    }
    // NIR nodes have no initial state: a start at V_th / 2 (QCFS, `+half`) is only said here.
    let init: Vec<f32> = meta.neurons.iter().map(|n| n.init).collect();
    if init.iter().any(|&f| f != 0.0) {
        m.dataset(
            "initial_membrane_note",
            Dataset::string(
                "each CubaLIF's v before the first step, as a fraction of its v_threshold (NIR starts at 0; set the simulator's state)",
            ),
        )
        .dataset("initial_membrane", Dataset::f32(&[init.len()], init));
    }
    if let Some(n) = &meta.normalization {
        m.dataset("normalization_mean", Dataset::f32(&[n.mean.len()], n.mean.clone()))
            .dataset("normalization_std", Dataset::f32(&[n.std.len()], n.std.clone()));
    }
    Ok(m)
}
