//! The NIR graph of an SNN checkpoint: one node per operation the SNN runs at
//! inference (see the `export` module for the mapping and what NIR cannot say).

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::meta::SnnMeta;
use crate::models::config::LayerSpec;
use crate::models::params::{block_needs_shortcut, layer_prefix};
use crate::spec::NeuronParams;

/// A weight tensor (row-major) with its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Weight {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// One NIR node, with the parameters NIR stores for it.
#[derive(Clone, Debug, PartialEq)]
pub enum NirOp {
    Input {
        shape: Vec<usize>,
    },
    Output {
        shape: Vec<usize>,
    },
    /// OIHW weight, square kernel, equal stride and padding in both dimensions.
    Conv2d {
        weight: Weight,
        bias: Vec<f32>,
        stride: usize,
        pad: usize,
        input_hw: [usize; 2],
    },
    /// `[out, in]` weight; `bias` None: NIR `Linear`, else `Affine`.
    Affine {
        weight: Weight,
        bias: Option<Vec<f32>>,
    },
    /// NIR `CubaLIF` with an instant synapse (see `nir_file::neuron`): leak 1 is
    /// our IF, leak < 1 our LIF (dt = 1). One value for the whole layer; `init`
    /// (the start as a fraction of V_th) only goes into the metadata.
    Neuron {
        shape: Vec<usize>,
        vth: f32,
        leak: f32,
    },
    /// NIR `SumPool2d`: our average pool's 1/k^2 is folded into the next weights.
    SumPool2d {
        k: usize,
        stride: usize,
    },
    /// Flattens a `[C, H, W]` input (dims 0..=-1).
    Flatten {
        input: Vec<usize>,
    },
}

/// Nodes in execution order and edges (`from`, `to`); a node fed by several
/// edges sums them (a residual block's add).
#[derive(Clone, Debug, PartialEq)]
pub struct NirGraph {
    pub nodes: Vec<(String, NirOp)>,
    pub edges: Vec<(String, String)>,
    /// Each IF layer's per-step input shift (Deng's V_th/2T), folded into a bias.
    pub shifts: Vec<f32>,
    /// Each IF layer's spike height beta * V_th * out_scale, folded into the next weights.
    pub heights: Vec<f32>,
}

/// The graph of `ck`, whose metadata `meta` describes (`SnnMeta::from_checkpoint`).
pub fn snn_graph(ck: &Checkpoint, meta: &SnnMeta) -> Result<NirGraph> {
    let mut b = Builder {
        ck,
        meta,
        g: NirGraph {
            nodes: Vec::new(),
            edges: Vec::new(),
            shifts: Vec::new(),
            heights: Vec::new(),
        },
        prev: Vec::new(),
        bias_slot: None,
        gain: 1.0,
    };
    b.add(
        "input",
        NirOp::Input {
            shape: meta.model.input.to_vec(),
        },
    );
    let shapes = meta.model.shapes()?;
    let mut cur = meta.model.input.to_vec();
    for (i, layer) in meta.model.layers.iter().enumerate() {
        b.layer(i, layer, &cur, &shapes[i])?;
        cur = shapes[i].clone();
    }
    if b.gain != 1.0 {
        return Err(export_err(
            meta,
            "the output follows a spiking layer or a pool directly: its spike height or 1/k^2 has no weights to go into".into(),
        ));
    }
    if b.g.shifts.len() != meta.neurons.len() {
        return Err(export_err(
            meta,
            format!(
                "the metadata has {} neuron settings for {} spiking layers",
                meta.neurons.len(),
                b.g.shifts.len()
            ),
        ));
    }
    b.add("output", NirOp::Output { shape: cur });
    Ok(b.g)
}

fn export_err(meta: &SnnMeta, msg: String) -> Error {
    Error::Config(format!("NIR export of `{}`: {msg}", meta.model.name))
}

struct Builder<'a> {
    ck: &'a Checkpoint,
    meta: &'a SnnMeta,
    g: NirGraph,
    /// The nodes whose outputs feed the next node.
    prev: Vec<String>,
    /// The synaptic node whose bias the next IF's shift can join: nothing
    /// but dropout, average pooling or flatten (which commute with adding a
    /// constant) lies between them.
    bias_slot: Option<usize>,
    /// The factor by which the values on `prev`'s edges fall short of ours
    /// (the spike height of the last IF, times 1/k^2 per sum pool since): the
    /// next conv or linear takes it into its weights. NIR spikes are 1, and
    /// Norse and snnTorch import no `Scale`.
    gain: f32,
}

/// NIR node names: our tensor prefixes with `_` for `.` (NIR uses dots to address subgraphs).
fn node_name(prefix: &str) -> String {
    prefix.replace('.', "_")
}

impl Builder<'_> {
    /// Append a node fed by `prev`; it becomes `prev`.
    fn add(&mut self, name: &str, op: NirOp) -> usize {
        let from = std::mem::replace(&mut self.prev, vec![name.to_string()]);
        self.g.edges.extend(from.into_iter().map(|f| (f, name.to_string())));
        self.g.nodes.push((name.to_string(), op));
        self.g.nodes.len() - 1
    }

    fn layer(&mut self, i: usize, layer: &LayerSpec, input: &[usize], output: &[usize]) -> Result<()> {
        let prefix = layer_prefix(&self.meta.model, i);
        let name = node_name(&prefix);
        match layer {
            LayerSpec::Conv {
                k, stride, pad, bias, ..
            } => {
                let op = self.conv(&prefix, input, output, *k, (*stride, *pad), *bias)?;
                self.bias_slot = Some(self.add(&name, op));
                self.gain = 1.0;
            }
            LayerSpec::Linear { out, bias } => {
                let weight = self.weight(&prefix, &[*out, input[0]], self.gain)?;
                let bias = if *bias {
                    Some(self.tensor(&format!("{prefix}.bias"), &[*out])?)
                } else {
                    None
                };
                self.bias_slot = Some(self.add(&name, NirOp::Affine { weight, bias }));
                self.gain = 1.0;
            }
            LayerSpec::Act { .. } => self.neuron(&prefix, output)?,
            LayerSpec::Dropout { .. } => {} // the identity at inference
            LayerSpec::AvgPool { k, stride } => {
                self.add(&name, NirOp::SumPool2d { k: *k, stride: *stride });
                self.gain /= (k * k) as f32;
            }
            LayerSpec::Flatten => {
                self.add(&name, NirOp::Flatten { input: input.to_vec() });
            }
            LayerSpec::MaxPool { .. } => {
                return Err(export_err(self.meta, format!(
                    "layer {i} (max_pool, `{prefix}`): NIR has no max-pooling node; only models with avg_pool (or no pooling) can be exported"
                )));
            }
            LayerSpec::Block { stride, .. } => self.block(&prefix, input, output, *stride)?,
        }
        Ok(())
    }

    /// `(stride, pad)` of a conv from `input` to `output` with a `k` x `k` kernel;
    /// its weights take `self.gain` (the caller then sets it to 1).
    fn conv(
        &self,
        prefix: &str,
        input: &[usize],
        output: &[usize],
        k: usize,
        sp: (usize, usize),
        bias: bool,
    ) -> Result<NirOp> {
        let weight = self.weight(prefix, &[output[0], input[0], k, k], self.gain)?;
        let bias = if bias {
            self.tensor(&format!("{prefix}.bias"), &[output[0]])?
        } else {
            vec![0.0; output[0]]
        };
        Ok(NirOp::Conv2d {
            weight,
            bias,
            stride: sp.0,
            pad: sp.1,
            input_hw: [input[1], input[2]],
        })
    }

    /// The weight times `gain`. Exact where `gain` is a spike height alone: ours
    /// multiplies each spike by the height, then by the weight, the same f32
    /// product. Not exact through a pool: ours rounds the pooled sum of heights
    /// (and its 1/k^2 unless k is a power of 2), here w * gain is rounded once;
    /// the two differ by f32 rounding (a spike can flip where v lands on V_th).
    fn weight(&self, prefix: &str, shape: &[usize], gain: f32) -> Result<Weight> {
        let mut data = self.tensor(&format!("{prefix}.weight"), shape)?;
        if gain != 1.0 {
            data.iter_mut().for_each(|w| *w *= gain);
        }
        Ok(Weight {
            shape: shape.to_vec(),
            data,
        })
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self.ck.get(name, shape)?.to_vec())
    }

    /// The neuron node, its shift folded into the bias before it; its spike height
    /// becomes the gain of the next weights.
    fn neuron(&mut self, prefix: &str, shape: &[usize]) -> Result<()> {
        let index = self.g.shifts.len();
        let np: NeuronParams = *self.meta.neurons.get(index).ok_or_else(|| {
            export_err(
                self.meta,
                format!("no neuron settings for spiking layer {index} (`{prefix}`)"),
            )
        })?;
        let vth = self.tensor(&format!("{prefix}.vth"), &[1])?[0];
        let leak = self.tensor(&format!("{prefix}.leak"), &[1])?[0];
        if np.shift != 0.0 {
            self.fold_shift(prefix, np.shift)?;
        }
        if self.gain != 1.0 {
            self.fold_gain(prefix)?;
        }
        self.g.shifts.push(np.shift);
        let name = node_name(prefix);
        self.add(
            &name,
            NirOp::Neuron {
                shape: shape.to_vec(),
                vth,
                leak,
            },
        );
        self.gain = np.beta * vth * self.meta.out_scale;
        self.g.heights.push(self.gain);
        self.bias_slot = None;
        Ok(())
    }

    /// A sum pool between the conv or linear and this IF: its 1/k^2 goes into
    /// that layer's weights and bias (its shift already in), as average pooling
    /// is linear (one f32 rounding per value unless 1/k^2 is a power of 2).
    fn fold_gain(&mut self, prefix: &str) -> Result<()> {
        let gain = std::mem::replace(&mut self.gain, 1.0);
        let slot = self.bias_slot.and_then(|i| self.g.nodes.get_mut(i));
        let (weight, bias) = match slot {
            Some((_, NirOp::Conv2d { weight, bias, .. })) => (weight, Some(bias)),
            Some((_, NirOp::Affine { weight, bias })) => (weight, bias.as_mut()),
            _ => {
                let msg = format!("`{prefix}`: the factor {gain} before it (a pool's 1/k^2 or a spike height) has no conv or linear to go into");
                return Err(export_err(self.meta, msg));
            }
        };
        weight.data.iter_mut().for_each(|w| *w *= gain);
        bias.into_iter().flatten().for_each(|b| *b *= gain);
        Ok(())
    }

    /// Add the per-step input `shift` to the bias of the synaptic layer feeding `prefix`.
    fn fold_shift(&mut self, prefix: &str, shift: f32) -> Result<()> {
        let node = self.bias_slot.and_then(|i| self.g.nodes.get_mut(i));
        let bias = match node {
            Some((_, NirOp::Conv2d { bias, .. })) => bias,
            Some((_, NirOp::Affine { weight, bias })) => bias.get_or_insert_with(|| vec![0.0; weight.shape[0]]),
            _ => {
                return Err(export_err(
                    self.meta,
                    format!("`{prefix}`: its input shift {shift} has no conv or linear bias before it to go into"),
                ))
            }
        };
        bias.iter_mut().for_each(|b| *b += shift);
        Ok(())
    }

    /// conv1 - IF - conv2, the shortcut (1x1 conv or identity) into the same IF as conv2.
    /// An identity shortcut whose input is not at our scale (the spike height of
    /// the IF before the block) becomes a 1x1 `Conv2d` of diag(gain), zero bias.
    fn block(&mut self, prefix: &str, input: &[usize], output: &[usize], stride: usize) -> Result<()> {
        let (block_in, block_gain) = (self.prev.clone(), self.gain);
        let name = node_name(prefix);
        let conv1 = self.conv(&format!("{prefix}.conv1"), input, output, 3, (stride, 1), true)?;
        self.bias_slot = Some(self.add(&format!("{name}_conv1"), conv1));
        self.gain = 1.0;
        self.neuron(&format!("{prefix}.act1"), output)?;
        let conv2 = self.conv(&format!("{prefix}.conv2"), output, output, 3, (1, 1), true)?;
        let conv2_at = self.add(&format!("{name}_conv2"), conv2);
        let mut feeds = std::mem::take(&mut self.prev);
        self.prev = block_in;
        self.gain = block_gain;
        if block_needs_shortcut(input, output) {
            let sc = self.conv(&format!("{prefix}.shortcut"), input, output, 1, (stride, 0), true)?;
            self.add(&format!("{name}_shortcut"), sc);
        } else if block_gain != 1.0 {
            let c = input[0];
            let data = (0..c * c)
                .map(|i| if i % (c + 1) == 0 { block_gain } else { 0.0 })
                .collect();
            let weight = Weight {
                shape: vec![c, c, 1, 1],
                data,
            };
            let op = NirOp::Conv2d {
                weight,
                bias: vec![0.0; c],
                stride: 1,
                pad: 0,
                input_hw: [input[1], input[2]],
            };
            self.add(&format!("{name}_shortcut"), op);
        }
        feeds.append(&mut self.prev);
        self.gain = 1.0;
        // Both branches feed the second IF: NIR sums the edges into a node (the residual add).
        self.prev = feeds;
        self.bias_slot = Some(conv2_at);
        self.neuron(&format!("{prefix}.act2"), output)
    }
}
