//! The whole threshold-ReLU DNN on the CPU references, layer for layer the
//! same as `models::dnn` (same parameter order, dropout hash and seeds, SGD).
//! Tests train both side by side and compare loss curves and weights.

use crate::cpu;
use crate::models::config::{LayerSpec, ModelConfig};
use crate::models::params::{block_needs_shortcut, init_params, param_specs, ParamSpec};
use crate::spec::optim::SgdParams;
use crate::spec::shapes::conv_shape;
use crate::spec::PoolShape;
use crate::spec::SgdConfig;
use crate::Result;

pub struct CpuNet {
    pub cfg: ModelConfig,
    pub specs: Vec<ParamSpec>,
    pub values: Vec<Vec<f32>>,
    pub momentum: Vec<Vec<f32>>,
}

/// Per-layer memory of the forward pass that the backward needs.
enum Cache {
    Conv { x: Vec<f32> },
    Act { x: Vec<f32> },
    Mask(Vec<f32>),
    Max(Vec<u32>),
    None,
    Block(Box<BlockCache>),
}

struct BlockCache {
    x: Vec<f32>,
    c1: Vec<f32>,
    mask: Vec<f32>,
    d1: Vec<f32>,
    sum: Vec<f32>,
}

/// Where a forward pass stands: batch size, dropout seed (None = evaluation),
/// every layer's output shape, and the next parameter and dropout indices.
struct Pass<'a> {
    n: usize,
    seed: Option<u32>,
    shapes: &'a [Vec<usize>],
    pi: usize,
    di: usize,
}

/// The dropout seed of dropout layer `i` at a step seeded `seed` (as the GPU net).
pub fn dropout_seed(seed: u32, i: usize) -> u32 {
    seed.wrapping_mul(0x9E37_79B9).wrapping_add(i as u32)
}

impl CpuNet {
    pub fn new(cfg: &ModelConfig, seed: u64) -> Result<CpuNet> {
        let specs = param_specs(cfg)?;
        let values = init_params(&specs, seed);
        let momentum = values.iter().map(|v| vec![0.0; v.len()]).collect();
        Ok(CpuNet {
            cfg: cfg.clone(),
            specs,
            values,
            momentum,
        })
    }

    /// One SGD step; returns (loss sum, correct count) of the batch of `n`.
    pub fn train_step(
        &mut self,
        x: &[f32],
        y: &[u32],
        n: usize,
        seed: u32,
        dropout: bool,
        sgd: &SgdConfig,
    ) -> (f64, u32) {
        let mut grads: Vec<Vec<f32>> = self.values.iter().map(|v| vec![0.0; v.len()]).collect();
        let (logits, caches) = self.forward(x, n, dropout.then_some(seed));
        let xent = cpu::loss::softmax_xent(n, self.cfg.classes, n, &logits, y);
        self.backward(n, &caches, xent.dlogits, &mut grads);
        for (i, s) in self.specs.iter().enumerate() {
            if !s.trainable {
                continue;
            }
            let hp = SgdParams {
                n: self.values[i].len() as u32,
                lr: sgd.lr,
                momentum: sgd.momentum,
                weight_decay: sgd.weight_decay,
            };
            cpu::optim::sgd_step(&hp, &mut self.values[i], &grads[i], &mut self.momentum[i]);
        }
        (xent.loss_sum, xent.correct)
    }

    /// Logits [n, classes]; `dropout_seed` None = evaluation (no dropout).
    pub fn logits(&self, x: &[f32], n: usize) -> Vec<f32> {
        self.forward(x, n, None).0
    }

    fn forward(&self, x: &[f32], n: usize, seed: Option<u32>) -> (Vec<f32>, Vec<Cache>) {
        let shapes = self.cfg.shapes().unwrap_or_default();
        let mut cur = x.to_vec();
        let mut in_shape = self.cfg.input.to_vec();
        let mut caches = Vec::new();
        let mut pass = Pass {
            n,
            seed,
            shapes: &shapes,
            pi: 0,
            di: 0,
        };
        for (li, l) in self.cfg.layers.iter().enumerate() {
            let (y, cache) = self.layer_forward(&mut pass, li, l, &in_shape, cur);
            caches.push(cache);
            cur = y;
            in_shape = shapes[li].clone();
        }
        (cur, caches)
    }

    /// Layer `li`, `l`, on `cur` (of shape `in_shape`): its output and what its backward needs.
    fn layer_forward(
        &self,
        p: &mut Pass,
        li: usize,
        l: &LayerSpec,
        in_shape: &[usize],
        cur: Vec<f32>,
    ) -> (Vec<f32>, Cache) {
        let n = p.n;
        let v = &self.values;
        match l {
            LayerSpec::Conv {
                out, k, stride, pad, ..
            } => {
                let s = conv_shape(n, in_shape, *out, *k, *stride, *pad);
                p.pi += 2;
                (
                    cpu::conv::conv2d_forward(&s, &cur, &v[p.pi - 2], &v[p.pi - 1]),
                    Cache::Conv { x: cur },
                )
            }
            LayerSpec::Linear { out, .. } => {
                p.pi += 2;
                (
                    cpu::linear::linear_forward(n, in_shape[0], *out, &cur, &v[p.pi - 2], &v[p.pi - 1]),
                    Cache::Conv { x: cur },
                )
            }
            LayerSpec::Act { .. } => {
                p.pi += 1;
                (self.act(&cur, v[p.pi - 1][0]), Cache::Act { x: cur })
            }
            LayerSpec::Dropout { .. } => {
                let (y, m) = self.drop(p, li, &cur);
                (y, Cache::Mask(m))
            }
            LayerSpec::MaxPool { k, stride } => {
                let s = pool(n, in_shape, *k, *stride);
                let (y, arg) = cpu::pool::maxpool2d_forward(&s, &cur);
                (y, Cache::Max(arg))
            }
            LayerSpec::AvgPool { k, stride } => (
                cpu::pool::avgpool2d_forward(&pool(n, in_shape, *k, *stride), &cur),
                Cache::None,
            ),
            LayerSpec::Flatten => (cur, Cache::None),
            LayerSpec::Block { out, stride, .. } => self.block_forward(p, li, in_shape, *out, *stride, cur),
        }
    }

    /// The model's activation: the threshold ReLU, or QCFS when `act_levels` is set.
    fn act(&self, x: &[f32], mu: f32) -> Vec<f32> {
        match self.cfg.act_levels {
            None => cpu::activation::threshold_relu_forward(x, mu),
            Some(l) => cpu::activation::qcfs_forward(x, mu, l),
        }
    }

    /// The activation's mu gradient (dx is `threshold_relu_backward` for both).
    fn act_dmu(&self, x: &[f32], mu: f32, g: &[f32]) -> f32 {
        match self.cfg.act_levels {
            None => cpu::activation::threshold_relu_backward_mu(x, mu, g),
            Some(l) => cpu::activation::qcfs_backward_mu(x, mu, l, g),
        }
    }

    /// Residual block `li`: conv, act, dropout, conv, plus the (1x1 conv) shortcut, act.
    fn block_forward(
        &self,
        p: &mut Pass,
        li: usize,
        in_shape: &[usize],
        out: usize,
        stride: usize,
        cur: Vec<f32>,
    ) -> (Vec<f32>, Cache) {
        let n = p.n;
        let v = &self.values;
        let s1 = conv_shape(n, in_shape, out, 3, stride, 1);
        let c1 = cpu::conv::conv2d_forward(&s1, &cur, &v[p.pi], &v[p.pi + 1]);
        let a1 = self.act(&c1, v[p.pi + 2][0]);
        let (d1, mask) = self.drop(p, li, &a1);
        let s2 = conv_shape(n, &p.shapes[li], out, 3, 1, 1);
        let c2 = cpu::conv::conv2d_forward(&s2, &d1, &v[p.pi + 3], &v[p.pi + 4]);
        p.pi += 5;
        let sc = if block_needs_shortcut(in_shape, &p.shapes[li]) {
            let ss = conv_shape(n, in_shape, out, 1, stride, 0);
            p.pi += 2;
            cpu::conv::conv2d_forward(&ss, &cur, &v[p.pi - 2], &v[p.pi - 1])
        } else {
            cur.clone()
        };
        let sum = cpu::elementwise::residual_add(&c2, &sc);
        p.pi += 1;
        let y = self.act(&sum, v[p.pi - 1][0]);
        (
            y,
            Cache::Block(Box::new(BlockCache {
                x: cur,
                c1,
                mask,
                d1,
                sum,
            })),
        )
    }

    /// Dropout of layer `li` on `x` (identity and an all-ones mask at evaluation);
    /// every call, training or not, takes the next dropout index.
    fn drop(&self, p: &mut Pass, li: usize, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = p.n;
        let per = x.len() / n;
        let (y, m) = match p.seed {
            Some(s) => {
                let prob = self.dropout_p(li);
                cpu::dropout::dropout_forward(n, per, n, prob, dropout_seed(s, p.di), x)
            }
            None => (x.to_vec(), vec![1.0; x.len()]),
        };
        p.di += 1;
        (y, m)
    }

    fn dropout_p(&self, li: usize) -> f32 {
        match self.cfg.layers[li] {
            LayerSpec::Dropout { p } => p,
            LayerSpec::Block { dropout, .. } => dropout,
            _ => 0.0,
        }
    }

    fn backward(&self, n: usize, caches: &[Cache], dlogits: Vec<f32>, grads: &mut [Vec<f32>]) {
        let shapes = self.cfg.shapes().unwrap_or_default();
        let mut pi_end = self.values.len();
        let mut g = dlogits;
        for li in (0..self.cfg.layers.len()).rev() {
            let in_shape: Vec<usize> = if li == 0 {
                self.cfg.input.to_vec()
            } else {
                shapes[li - 1].clone()
            };
            let v = &self.values;
            g = match (&self.cfg.layers[li], &caches[li]) {
                (
                    LayerSpec::Conv {
                        out, k, stride, pad, ..
                    },
                    Cache::Conv { x },
                ) => {
                    let s = conv_shape(n, &in_shape, *out, *k, *stride, *pad);
                    pi_end -= 2;
                    let (wi, bi) = (pi_end, pi_end + 1);
                    grads[wi] = cpu::conv::conv2d_backward_weight(&s, x, &g);
                    grads[bi] = cpu::linear::bias_backward(n, *out, s.out_h() * s.out_w(), &g);
                    cpu::conv::conv2d_backward_input(&s, &g, &v[wi])
                }
                (LayerSpec::Linear { out, .. }, Cache::Conv { x }) => {
                    pi_end -= 2;
                    let (wi, bi) = (pi_end, pi_end + 1);
                    grads[wi] = cpu::linear::linear_backward_weight(n, in_shape[0], *out, x, &g);
                    grads[bi] = cpu::linear::bias_backward(n, *out, 1, &g);
                    cpu::linear::linear_backward_input(n, in_shape[0], *out, &g, &v[wi])
                }
                (LayerSpec::Act { .. }, Cache::Act { x }) => {
                    pi_end -= 1;
                    grads[pi_end] = vec![self.act_dmu(x, v[pi_end][0], &g)];
                    cpu::activation::threshold_relu_backward(x, v[pi_end][0], &g)
                }
                (LayerSpec::Dropout { .. }, Cache::Mask(m)) => cpu::dropout::dropout_backward(&g, m),
                (LayerSpec::MaxPool { k, stride }, Cache::Max(arg)) => {
                    cpu::pool::maxpool2d_backward(&pool(n, &in_shape, *k, *stride), &g, arg)
                }
                (LayerSpec::AvgPool { k, stride }, _) => {
                    cpu::pool::avgpool2d_backward(&pool(n, &in_shape, *k, *stride), &g)
                }
                (LayerSpec::Block { out, stride, .. }, Cache::Block(c)) => {
                    let has_sc = block_needs_shortcut(&in_shape, &shapes[li]);
                    pi_end -= if has_sc { 8 } else { 6 };
                    let p = pi_end;
                    let mu2 = if has_sc { p + 7 } else { p + 5 };
                    let gsum = cpu::activation::threshold_relu_backward(&c.sum, v[mu2][0], &g);
                    grads[mu2] = vec![self.act_dmu(&c.sum, v[mu2][0], &g)];
                    let gx2 = if has_sc {
                        let ss = conv_shape(n, &in_shape, *out, 1, *stride, 0);
                        grads[p + 5] = cpu::conv::conv2d_backward_weight(&ss, &c.x, &gsum);
                        grads[p + 6] = cpu::linear::bias_backward(n, *out, ss.out_h() * ss.out_w(), &gsum);
                        cpu::conv::conv2d_backward_input(&ss, &gsum, &v[p + 5])
                    } else {
                        gsum.clone()
                    };
                    let s2 = conv_shape(n, &shapes[li], *out, 3, 1, 1);
                    grads[p + 3] = cpu::conv::conv2d_backward_weight(&s2, &c.d1, &gsum);
                    grads[p + 4] = cpu::linear::bias_backward(n, *out, s2.out_h() * s2.out_w(), &gsum);
                    let gd1 = cpu::conv::conv2d_backward_input(&s2, &gsum, &v[p + 3]);
                    let ga1 = cpu::dropout::dropout_backward(&gd1, &c.mask);
                    grads[p + 2] = vec![self.act_dmu(&c.c1, v[p + 2][0], &ga1)];
                    let gc1 = cpu::activation::threshold_relu_backward(&c.c1, v[p + 2][0], &ga1);
                    let s1 = conv_shape(n, &in_shape, *out, 3, *stride, 1);
                    grads[p] = cpu::conv::conv2d_backward_weight(&s1, &c.x, &gc1);
                    grads[p + 1] = cpu::linear::bias_backward(n, *out, s1.out_h() * s1.out_w(), &gc1);
                    let gx1 = cpu::conv::conv2d_backward_input(&s1, &gc1, &v[p]);
                    cpu::elementwise::residual_add(&gx1, &gx2)
                }
                _ => g,
            };
        }
    }
}

fn pool(n: usize, s: &[usize], k: usize, stride: usize) -> PoolShape {
    PoolShape {
        n,
        c: s[0],
        h: s[1],
        w: s[2],
        k,
        stride,
    }
}
