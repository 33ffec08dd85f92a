//! Export of an SNN checkpoint to NIR, the Neuromorphic Intermediate
//! Representation (<https://neuroir.org>), an HDF5 file that simulators and
//! neuromorphic toolchains (snnTorch, Norse, Lava, SpiNNaker2, Xylo, ...) read.
//! `hdf5` writes the file in pure Rust, so the CLI and the page share one path.
//!
//! The mapping (node names are our tensor prefixes with `_` for `.`):
//! - the image: `Input` of shape [C, H, W]; the logits: `Output` of shape [classes];
//! - conv: `Conv2d` (OIHW weight, bias; zeros when the config has none);
//!   linear: `Affine`, or `Linear` when it has no bias;
//! - a threshold-ReLU's neuron: `CubaLIF` with an instant synapse and, for
//!   an IF, a negligible leak (tau_syn = dt = 1, w_in = 1, r = tau_mem,
//!   v_leak = 0, v_threshold = V_th, v_reset = 0; tau_mem = 2^24 for leak 1,
//!   1/(1 - leak) otherwise; `nir_file::neuron` derives it): the node that
//!   Norse imports with subtractive reset. NIR spikes are 1: the spike height
//!   beta * V_th * out_scale is multiplied into the next conv's or linear's
//!   weights (Norse and snnTorch import no `Scale`);
//! - avg_pool: `SumPool2d` (no padding), its 1/k^2 multiplied into the next
//!   weights (or, when an IF follows the pool, into the conv or linear before
//!   it, bias included); flatten: `Flatten` (dims 0..-1 of [C, H, W]);
//!   dropout: nothing (the identity at inference);
//! - a residual block: conv1 - CubaLIF - conv2 and the shortcut (a 1x1
//!   `Conv2d`; for an identity shortcut after a spiking layer a 1x1 `Conv2d`
//!   of diag(spike height), else an edge straight from the block's input)
//!   both feed the second neuron: NIR sums the edges that enter a node;
//! - the output must follow a conv or linear (a spike height has to go
//!   somewhere); every built-in model ends in one;
//! - max_pool: refused with the layer named (NIR has no max-pooling node).
//!
//! What NIR cannot carry (written as strings and numbers into the graph's
//! `metadata` group, so a reader can still run the network as we do):
//! - reset: ours subtracts the threshold after a spike (u -= V_th, the
//!   residue is kept); NIR's neurons reset to v_reset (written as 0);
//!   Norse's `reset_subtract` is ours;
//! - time: NIR neurons are continuous-time ODEs; ours run in discrete steps.
//!   The parameters are chosen so that one forward-Euler step of dt = 1
//!   is our step (`metadata/dt` = 1);
//! - encoding: direct: the normalized image (`metadata/normalization_*`) is
//!   presented as the input current at every one of the T steps
//!   (`metadata/timesteps`); the input normalization is not a node;
//! - readout: the logits are the output node's values summed over the T steps;
//! - Deng et al.'s per-step input shift V_th/2T: added to the bias of the
//!   conv or linear before the IF (exact: average pooling, flatten and
//!   dropout in between commute with adding a constant), and listed in
//!   `metadata/input_shifts`; it belongs to the checkpoint's T;
//! - out_scale: in every spike height (`metadata/spike_heights`, per spiking
//!   layer) and written in `metadata/out_scale`;
//! - the initial membrane (QCFS's and `+half`'s V_th / 2): NIR nodes have no
//!   initial state, so a reader starts at 0 unless it sets v from
//!   `metadata/initial_membrane` (per neuron layer, a fraction of its
//!   v_threshold; only written when some layer does not start at 0).
//!   python/check_nir.py's simulator runs set Norse's state to it.

pub mod hdf5;
mod lookup3;
pub mod nir;
pub mod nir_file;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::meta::SnnMeta;

/// The `.nir` file (HDF5 bytes) of an SNN checkpoint; a layer NIR cannot
/// express (max-pooling) is refused with the layer named.
pub fn snn_to_nir(ck: &Checkpoint) -> Result<Vec<u8>> {
    if ck.metadata.get("kind").and_then(|k| k.as_str()) == Some("dnn") {
        return Err(Error::Checkpoint(
            "this is a DNN checkpoint: convert it into an SNN (`ultraspike convert`) and export that".into(),
        ));
    }
    let meta = SnnMeta::from_checkpoint(ck)?;
    let graph = nir::snn_graph(ck, &meta)?;
    nir_file::nir_file(&graph, &meta)
}
