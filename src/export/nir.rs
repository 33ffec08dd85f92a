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
    /// Leak 1: NIR `IF`; leak < 1: NIR `LIF` (dt = 1). One value for the whole layer.
    Neuron {
        shape: Vec<usize>,
        vth: f32,
        leak: f32,
    },
    /// The spike height beta * V_th * out_scale of the IF before it.
    Scale {
        shape: Vec<usize>,
        value: f32,
    },
    AvgPool2d {
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
        },
        prev: Vec::new(),
        bias_slot: None,
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
            }
            LayerSpec::Linear { out, bias } => {
                let weight = self.weight(&prefix, &[*out, input[0]])?;
                let bias = if *bias {
                    Some(self.tensor(&format!("{prefix}.bias"), &[*out])?)
                } else {
                    None
                };
                self.bias_slot = Some(self.add(&name, NirOp::Affine { weight, bias }));
            }
            LayerSpec::Act { .. } => self.neuron(&prefix, output)?,
            LayerSpec::Dropout { .. } => {} // the identity at inference
            LayerSpec::AvgPool { k, stride } => {
                self.add(&name, NirOp::AvgPool2d { k: *k, stride: *stride });
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

    /// `(stride, pad)` of a conv from `input` to `output` with a `k` x `k` kernel.
    fn conv(
        &self,
        prefix: &str,
        input: &[usize],
        output: &[usize],
        k: usize,
        sp: (usize, usize),
        bias: bool,
    ) -> Result<NirOp> {
        let weight = self.weight(prefix, &[output[0], input[0], k, k])?;
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

    fn weight(&self, prefix: &str, shape: &[usize]) -> Result<Weight> {
        Ok(Weight {
            shape: shape.to_vec(),
            data: self.tensor(&format!("{prefix}.weight"), shape)?,
        })
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self.ck.get(name, shape)?.to_vec())
    }

    /// The IF (or LIF) node, its shift folded into the bias before it, and its spike height.
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
        let value = np.beta * vth * self.meta.out_scale;
        self.add(
            &format!("{name}_scale"),
            NirOp::Scale {
                shape: shape.to_vec(),
                value,
            },
        );
        self.bias_slot = None;
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
    fn block(&mut self, prefix: &str, input: &[usize], output: &[usize], stride: usize) -> Result<()> {
        let block_in = self.prev.clone();
        let name = node_name(prefix);
        let conv1 = self.conv(&format!("{prefix}.conv1"), input, output, 3, (stride, 1), true)?;
        self.bias_slot = Some(self.add(&format!("{name}_conv1"), conv1));
        self.neuron(&format!("{prefix}.act1"), output)?;
        let conv2 = self.conv(&format!("{prefix}.conv2"), output, output, 3, (1, 1), true)?;
        let conv2_at = self.add(&format!("{name}_conv2"), conv2);
        let mut feeds = std::mem::take(&mut self.prev);
        if block_needs_shortcut(input, output) {
            self.prev = block_in;
            let sc = self.conv(&format!("{prefix}.shortcut"), input, output, 1, (stride, 0), true)?;
            self.add(&format!("{name}_shortcut"), sc);
            feeds.append(&mut self.prev);
        } else {
            feeds.extend(block_in);
        }
        // Both branches feed the second IF: NIR sums the edges into a node (the residual add).
        self.prev = feeds;
        self.bias_slot = Some(conv2_at);
        self.neuron(&format!("{prefix}.act2"), output)
    }
}
