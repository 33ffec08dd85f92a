//! Export of an SNN checkpoint to NIR, the Neuromorphic Intermediate
//! Representation (<https://neuroir.org>), an HDF5 file that simulators and
//! neuromorphic toolchains (snnTorch, Norse, Lava, SpiNNaker2, Xylo, ...) read.
//! `hdf5` writes the file in pure Rust, so the CLI and the page share one path.
//!
//! The mapping (node names are our tensor prefixes with `_` for `.`):
//! - the image: `Input` of shape [C, H, W]; the logits: `Output` of shape [classes];
//! - conv: `Conv2d` (OIHW weight, bias; zeros when the config has none);
//!   linear: `Affine`, or `Linear` when it has no bias;
//! - a threshold-ReLU's neuron: `IF` (r = 1, v_threshold = V_th, v_reset = 0),
//!   or `LIF` when leak < 1 (tau = r = 1/(1 - leak), v_leak = 0), then a
//!   `Scale` of the spike height beta * V_th * out_scale (NIR spikes are 1);
//! - avg_pool: `AvgPool2d` (no padding); flatten: `Flatten` (dims 0..-1 of
//!   [C, H, W]); dropout: nothing (the identity at inference);
//! - a residual block: conv1 - IF - Scale - conv2 and the shortcut (a 1x1
//!   `Conv2d`, or an edge straight from the block's input) both feed the
//!   second IF: NIR sums the edges that enter a node;
//! - max_pool: refused with the layer named (NIR has no max-pooling node).
//!
//! What NIR cannot carry (written as strings and numbers into the graph's
//! `metadata` group, so a reader can still run the network as we do):
//! - reset: ours subtracts the threshold after a spike (u -= V_th, the
//!   residue is kept); NIR's IF/LIF reset to v_reset (written as 0);
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
//! - out_scale: multiplied into every `Scale` and written in `metadata/out_scale`;
//! - the initial membrane (QCFS's and `+half`'s V_th / 2): NIR nodes have no
//!   initial state, so a reader starts at 0 unless it sets v from
//!   `metadata/initial_membrane` (per IF, a fraction of its v_threshold; only
//!   written when some layer does not start at 0).

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
