//! The forward pass of the CPU reference SNN (see `cpu::snn`).

use super::{BlockCache, Cache, CpuSnn, Flow, NeuronCache};
use crate::cpu;
use crate::cpu::net::dropout_seed;
use crate::error::{Error, Result};
use crate::models::config::LayerSpec;
use crate::models::params::block_needs_shortcut;
use crate::spec::shapes::conv_shape;
use crate::spec::Conv2dShape;
use crate::spec::IfConfig;
use crate::spec::PoolShape;

/// Forward state: parameter cursor, dropout index and the counts gathered.
pub(super) struct Pass<'a> {
    pub(super) net: &'a CpuSnn,
    pub(super) p: &'a [Vec<f32>],
    pub(super) batch: usize,
    pub(super) seed: Option<u32>,
    pub(super) pi: usize,
    pub(super) di: usize,
    pub(super) counts: Vec<u64>,
    pub(super) maps: Vec<Vec<u32>>,
    pub(super) traces: Vec<Vec<f32>>,
}

impl Pass<'_> {
    fn rows(&self, spiking: bool) -> usize {
        if spiking {
            self.net.t * self.batch
        } else {
            self.batch
        }
    }

    fn take(&mut self, k: usize) -> usize {
        self.pi += k;
        self.pi - k
    }

    fn map(&mut self, x: &Flow, hw: usize) {
        self.maps.push(if x.spiking {
            cpu::spikes::spike_map_count(&x.x, hw, x.x.len(), x.x.len())
        } else {
            vec![0; hw]
        });
    }

    fn conv(&mut self, x: &Flow, out: usize, k: usize, stride: usize, pad: usize) -> (Flow, Conv2dShape, usize) {
        let s = conv_shape(self.rows(x.spiking), &x.shape, out, k, stride, pad);
        let p = self.take(2);
        self.map(x, s.h * s.w);
        let y = cpu::conv::conv2d_forward(&s, &x.x, &self.p[p], &self.p[p + 1]);
        (
            Flow {
                x: y,
                shape: vec![out, s.out_h(), s.out_w()],
                spiking: x.spiking,
            },
            s,
            p,
        )
    }

    fn neuron(&mut self, x: &Flow) -> Result<(Flow, NeuronCache)> {
        let p = self.take(2);
        let np = self
            .net
            .neurons
            .get(self.counts.len())
            .ok_or_else(|| Error::Config("too few neuron settings".into()))?;
        let cfg = IfConfig {
            beta: np.beta,
            shift: np.shift,
            out_scale: self.net.out_scale,
            init: np.init,
            save_trace: true,
        };
        let n = self.batch * x.shape.iter().product::<usize>();
        let f = cpu::spiking::if_forward(self.net.t, n, &cfg, &x.x, self.p[p][0], self.p[p + 1][0]);
        self.counts.push(f.spikes);
        self.traces.push(f.u_trace.clone());
        let c = NeuronCache {
            p,
            cfg,
            n,
            trace: f.u_trace,
            analog_in: !x.spiking,
        };
        Ok((
            Flow {
                x: f.out,
                shape: x.shape.clone(),
                spiking: true,
            },
            c,
        ))
    }

    /// Training dropout (p > 0 and a seed): mask rows t*B + b share row b.
    fn dropout(&mut self, x: Flow, p: f32) -> (Flow, Option<Vec<f32>>) {
        let Some(seed) = self.seed.filter(|_| p != 0.0) else {
            return (x, None);
        };
        let rows = self.rows(x.spiking);
        let (y, m) =
            cpu::dropout::dropout_forward(rows, x.x.len() / rows, self.batch, p, dropout_seed(seed, self.di), &x.x);
        self.di += 1;
        (Flow { x: y, ..x }, Some(m))
    }

    pub(super) fn layer(&mut self, layer: &LayerSpec, cur: Flow) -> Result<(Flow, Cache)> {
        Ok(match layer {
            LayerSpec::Conv {
                out, k, stride, pad, ..
            } => {
                let (y, s, p) = self.conv(&cur, *out, *k, *stride, *pad);
                (y, Cache::Conv { s, x: cur.x, p })
            }
            LayerSpec::Linear { out, .. } => self.linear(cur, *out),
            LayerSpec::Act { .. } => {
                let (y, c) = self.neuron(&cur)?;
                (y, Cache::Neuron(c))
            }
            LayerSpec::Dropout { p } => {
                let (y, m) = self.dropout(cur, *p);
                (y, Cache::Mask(m))
            }
            LayerSpec::MaxPool { k, stride } => self.pool(cur, true, *k, *stride),
            LayerSpec::AvgPool { k, stride } => self.pool(cur, false, *k, *stride),
            LayerSpec::Flatten => {
                let shape = vec![cur.shape.iter().product()];
                (Flow { shape, ..cur }, Cache::Flatten)
            }
            LayerSpec::Block { out, stride, dropout } => self.block(cur, *out, *stride, *dropout)?,
        })
    }

    fn linear(&mut self, cur: Flow, out: usize) -> (Flow, Cache) {
        let (rows, inf) = (self.rows(cur.spiking), cur.shape[0]);
        let p = self.take(2);
        self.map(&cur, 1);
        let y = cpu::linear::linear_forward(rows, inf, out, &cur.x, &self.p[p], &self.p[p + 1]);
        let y = Flow {
            x: y,
            shape: vec![out],
            spiking: cur.spiking,
        };
        let c = Cache::Linear {
            rows,
            inf,
            out,
            x: cur.x,
            p,
        };
        (y, c)
    }

    /// Max pooling (`max`) or average pooling.
    fn pool(&mut self, cur: Flow, max: bool, k: usize, stride: usize) -> (Flow, Cache) {
        let sh = &cur.shape;
        let s = PoolShape {
            n: self.rows(cur.spiking),
            c: sh[0],
            h: sh[1],
            w: sh[2],
            k,
            stride,
        };
        let shape = vec![s.c, s.out_h(), s.out_w()];
        let (y, c) = if max {
            let (y, arg) = cpu::pool::maxpool2d_forward(&s, &cur.x);
            (y, Cache::Max(s, arg))
        } else {
            (cpu::pool::avgpool2d_forward(&s, &cur.x), Cache::Avg(s))
        };
        let y = Flow {
            x: y,
            shape,
            spiking: cur.spiking,
        };
        (y, c)
    }

    fn block(&mut self, x: Flow, out: usize, stride: usize, p: f32) -> Result<(Flow, Cache)> {
        if !x.spiking {
            return Err(Error::Config(
                "a residual block before the first threshold-ReLU (analog input) is not supported".into(),
            ));
        }
        let (c1, s1, p0) = self.conv(&x, out, 3, stride, 1);
        let (a1, act1) = self.neuron(&c1)?;
        let (d1, mask) = self.dropout(a1, p);
        let (c2, s2, _) = self.conv(&d1, out, 3, 1, 1);
        let (sc, ss) = if block_needs_shortcut(&x.shape, &c2.shape) {
            let (y, s, _) = self.conv(&x, out, 1, stride, 0);
            (y.x, Some(s))
        } else {
            (x.x.clone(), None)
        };
        let sum = Flow {
            x: cpu::elementwise::residual_add(&c2.x, &sc),
            ..c2
        };
        let (y, act2) = self.neuron(&sum)?;
        let c = BlockCache {
            p: p0,
            x: x.x,
            s1,
            s2,
            ss,
            act1,
            mask,
            d1: d1.x,
            act2,
        };
        Ok((y, Cache::Block(Box::new(c))))
    }
}
