//! BPTT of the CPU reference SNN (see `cpu::snn`).

use super::{BlockCache, Cache, CpuSnn, NeuronCache};
use crate::cpu;
use crate::spec::Conv2dShape;

/// Backward state: the gradients being filled in.
pub(super) struct Back<'a> {
    pub(super) net: &'a CpuSnn,
    pub(super) p: &'a [Vec<f32>],
    pub(super) grads: Vec<Vec<f32>>,
}

impl Back<'_> {
    /// dW, db of a conv at parameter `p`; returns dx when `need_dx`.
    fn conv(&mut self, s: &Conv2dShape, x: &[f32], p: usize, g: &[f32], need_dx: bool) -> Vec<f32> {
        self.grads[p] = cpu::conv::conv2d_backward_weight(s, x, g);
        if self.net.specs[p + 1].trainable {
            self.grads[p + 1] = cpu::linear::bias_backward(s.n, s.c_out, s.out_h() * s.out_w(), g);
        }
        if need_dx {
            cpu::conv::conv2d_backward_input(s, g, &self.p[p])
        } else {
            Vec::new()
        }
    }

    /// BPTT of one IF layer; an analog input gets d_input summed over T.
    fn neuron(&mut self, c: &NeuronCache, g: &[f32]) -> Vec<f32> {
        let t = self.net.t;
        let r = cpu::spiking::if_backward(
            t,
            c.n,
            &c.cfg,
            self.net.surrogate,
            &c.trace,
            self.p[c.p][0],
            self.p[c.p + 1][0],
            g,
        );
        self.grads[c.p] = vec![r.dvth];
        self.grads[c.p + 1] = vec![r.dleak];
        if c.analog_in {
            cpu::reduce::sum_over_t(t, c.n, &r.d_input)
        } else {
            r.d_input
        }
    }

    pub(super) fn layer(&mut self, c: &Cache, g: Vec<f32>, need_dx: bool) -> Vec<f32> {
        match c {
            Cache::Conv { s, x, p } => self.conv(s, x, *p, &g, need_dx),
            Cache::Linear { rows, inf, out, x, p } => {
                let p = *p;
                self.grads[p] = cpu::linear::linear_backward_weight(*rows, *inf, *out, x, &g);
                if self.net.specs[p + 1].trainable {
                    self.grads[p + 1] = cpu::linear::bias_backward(*rows, *out, 1, &g);
                }
                cpu::linear::linear_backward_input(*rows, *inf, *out, &g, &self.p[p])
            }
            Cache::Neuron(nc) => self.neuron(nc, &g),
            Cache::Mask(Some(m)) => cpu::dropout::dropout_backward(&g, m),
            Cache::Max(s, arg) => cpu::pool::maxpool2d_backward(s, &g, arg),
            Cache::Avg(s) => cpu::pool::avgpool2d_backward(s, &g),
            Cache::Mask(None) | Cache::Flatten => g,
            Cache::Block(b) => self.block(b, &g),
        }
    }

    /// conv1 - IF1 - dropout - conv2 (+ shortcut) - IF2 backwards; both
    /// branches' input gradients summed.
    fn block(&mut self, b: &BlockCache, g: &[f32]) -> Vec<f32> {
        let gsum = self.neuron(&b.act2, g);
        let gx2 = match &b.ss {
            Some(ss) => self.conv(ss, &b.x, b.p + 6, &gsum, true),
            None => gsum.clone(),
        };
        let gd1 = self.conv(&b.s2, &b.d1, b.p + 4, &gsum, true);
        let ga1 = match &b.mask {
            Some(m) => cpu::dropout::dropout_backward(&gd1, m),
            None => gd1,
        };
        let gc1 = self.neuron(&b.act1, &ga1);
        let gx1 = self.conv(&b.s1, &b.x, b.p, &gc1, true);
        cpu::elementwise::residual_add(&gx1, &gx2)
    }
}
