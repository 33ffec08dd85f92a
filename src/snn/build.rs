//! Builds the SNN's buffers and programs. Layers before the first neuron see
//! the analog image: they run once on [B] rows (direct encoding, the first
//! layer's constant current is computed once) and the first IF layer reuses
//! that current at every step. From there on every tensor has T*B rows,
//! t-major, so each conv/linear is one dispatch over all time steps. The
//! layers' ops are in build_layers.rs, build_neuron.rs and build_block.rs.

use super::build_layers::flatten;
use super::net::{Neuron, SnnOptions, SnnParam, Synapse};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Op, Tensor};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::models::params::{block_needs_shortcut, layer_prefix};
use crate::nn::program::{Arena, Step};
use crate::spec::shapes::conv_shape;
use crate::spec::NeuronParams;

/// A counting op (`Arena::ops[op]`) whose uniform word `word` must hold
/// valid images x `per_image`, so the padding of a partial batch is not counted.
#[derive(Clone, Copy, Debug)]
pub struct CountLimit {
    pub op: usize,
    pub word: usize,
    pub per_image: usize,
}

/// A tensor flowing between layers, with its gradient (training only).
#[derive(Clone)]
pub struct Flow {
    pub x: Tensor,
    pub g: Option<Tensor>,
    /// Per-sample shape.
    pub shape: Vec<usize>,
    /// True once the tensor holds T*B rows (after the first neuron).
    pub spiking: bool,
}

pub struct SnnBuilder<'a> {
    pub gpu: &'a Gpu,
    pub cfg: &'a ModelConfig,
    pub opts: SnnOptions,
    pub params: &'a [SnnParam],
    pub neuron_params: &'a [NeuronParams],
    next_param: usize,
    pub arena: Arena,
    pub fwd: Vec<Step>,
    pub fwd_train: Vec<Step>,
    pub count: Vec<Step>,
    pub bwd_layers: Vec<Vec<Step>>,
    pub neurons: Vec<Neuron>,
    pub synapses: Vec<Synapse>,
    /// Counting ops whose limit follows the valid images of a batch.
    pub count_limits: Vec<CountLimit>,
    pub bytes: u64,
}

pub fn alias(t: &Tensor, label: &str) -> Tensor {
    t.view(&t.shape, label)
}

impl<'a> SnnBuilder<'a> {
    pub fn new(
        gpu: &'a Gpu,
        cfg: &'a ModelConfig,
        opts: SnnOptions,
        params: &'a [SnnParam],
        neuron_params: &'a [NeuronParams],
    ) -> Self {
        SnnBuilder {
            gpu,
            cfg,
            opts,
            params,
            neuron_params,
            next_param: 0,
            arena: Arena::default(),
            fwd: Vec::new(),
            fwd_train: Vec::new(),
            count: Vec::new(),
            bwd_layers: Vec::new(),
            neurons: Vec::new(),
            synapses: Vec::new(),
            count_limits: Vec::new(),
            bytes: 0,
        }
    }

    pub fn param(&mut self, suffix: &str) -> Result<&'a SnnParam> {
        let p = self
            .params
            .get(self.next_param)
            .ok_or_else(|| Error::Config("SNN parameter list too short".into()))?;
        if !p.spec.name.ends_with(suffix) {
            return Err(Error::Config(format!(
                "expected a `{suffix}` parameter, found `{}`",
                p.spec.name
            )));
        }
        self.next_param += 1;
        Ok(p)
    }

    pub fn params_used(&self) -> usize {
        self.next_param
    }

    pub(super) fn rows(&self, spiking: bool) -> usize {
        if spiking {
            self.opts.t * self.opts.batch
        } else {
            self.opts.batch
        }
    }

    /// A new flow tensor (and its gradient when training) of `rows` x `shape`.
    pub fn flow(&mut self, label: &str, shape: &[usize], spiking: bool) -> Result<Flow> {
        let mut full = vec![self.rows(spiking)];
        full.extend_from_slice(shape);
        let x = self.gpu.tensor(label, &full)?;
        self.bytes += x.bytes();
        let g = if self.opts.train {
            let g = self.gpu.tensor(&format!("{label}.grad"), &full)?;
            self.bytes += g.bytes();
            Some(g)
        } else {
            None
        };
        Ok(Flow {
            x,
            g,
            shape: shape.to_vec(),
            spiking,
        })
    }

    pub(super) fn both(&mut self, op: Op) {
        let s = self.arena.op(op);
        self.fwd.push(s.clone());
        self.fwd_train.push(s);
    }

    pub(super) fn scratch(&mut self, label: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.gpu.tensor(label, shape)?;
        self.bytes += t.bytes();
        Ok(t)
    }

    /// Every layer of the model in order, each with its own backward program
    /// (pushed to `bwd_layers`); the output must be spiking.
    pub fn build(&mut self, input: &Flow) -> Result<Flow> {
        let shapes = self.cfg.shapes()?;
        let mut cur = input.clone();
        for (i, layer) in self.cfg.layers.iter().enumerate() {
            let name = layer_prefix(self.cfg, i);
            let mut bwd = Vec::new();
            cur = self.layer(&name, layer, &cur, &shapes[i], &mut bwd)?;
            if i + 1 == self.cfg.layers.len() && !cur.spiking {
                return Err(Error::Config(format!(
                    "model `{}` has no threshold-ReLU: nothing to convert into spikes",
                    self.cfg.name
                )));
            }
            self.bwd_layers.push(bwd);
        }
        Ok(cur)
    }

    /// One layer from `cur` to a flow of `out_shape`, its backward ops pushed to `bwd`.
    fn layer(
        &mut self,
        name: &str,
        layer: &LayerSpec,
        cur: &Flow,
        out_shape: &[usize],
        bwd: &mut Vec<Step>,
    ) -> Result<Flow> {
        Ok(match layer {
            LayerSpec::Conv {
                out, k, stride, pad, ..
            } => {
                let y = self.flow(name, out_shape, cur.spiking)?;
                let s = conv_shape(self.rows(cur.spiking), &cur.shape, *out, *k, *stride, *pad);
                let (w, b) = (self.param("weight")?, self.param("bias")?);
                self.conv(name, cur, &y, &s, w, b, bwd)?;
                y
            }
            LayerSpec::Linear { out, .. } => {
                let y = self.flow(name, out_shape, cur.spiking)?;
                let (w, b) = (self.param("weight")?, self.param("bias")?);
                self.linear(name, cur, &y, cur.shape[0], *out, w, b, bwd)?;
                y
            }
            LayerSpec::Act { .. } => self.neuron(name, cur, bwd)?,
            LayerSpec::Dropout { p } => self.dropout(name, cur, *p, bwd)?,
            LayerSpec::MaxPool { k, stride } => self.max_pool(name, cur, out_shape, *k, *stride, bwd)?,
            LayerSpec::AvgPool { k, stride } => self.avg_pool(name, cur, out_shape, *k, *stride, bwd)?,
            LayerSpec::Flatten => flatten(name, cur, out_shape),
            LayerSpec::Block { out, stride, dropout } => {
                super::build_block::block(self, name, cur, out_shape, *out, *stride, *dropout, bwd)?
            }
        })
    }

    pub fn block_shortcut_needed(in_shape: &[usize], out_shape: &[usize]) -> bool {
        block_needs_shortcut(in_shape, out_shape)
    }
}
