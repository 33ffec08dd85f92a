//! SnnBuilder's IF neuron (forward, spike counter, BPTT), moved out of build.rs for size.

use super::build::{alias, CountLimit, Flow, SnnBuilder};
use super::net::{Neuron, SnnParam};
use crate::error::{Error, Result};
use crate::gpu::Tensor;
use crate::nn::program::Step;
use crate::nn::reduce::sum_over_t;
use crate::nn::spiking::{if_backward, if_forward, IfBackwardIo, IfConfig, IfForwardIo, IF_COUNT_LIMIT_WORD};

impl SnnBuilder<'_> {
    /// The IF neuron where the DNN had a threshold-ReLU.
    pub fn neuron(&mut self, name: &str, x: &Flow, bwd: &mut Vec<Step>) -> Result<Flow> {
        let (vth, leak) = (self.param("vth")?, self.param("leak")?);
        let np = *self
            .neuron_params
            .get(self.neurons.len())
            .ok_or_else(|| Error::Config(format!("no neuron constants for `{name}`")))?;
        let y = self.flow(&format!("{name}.spikes"), &x.shape, true)?;
        let per: usize = x.shape.iter().product();
        let (t, n) = (self.opts.t, self.opts.batch * per);
        let cfg = IfConfig {
            beta: np.beta,
            shift: np.shift,
            out_scale: self.opts.out_scale,
            init: np.init,
            save_trace: self.opts.train,
        };
        let trace = if self.opts.train {
            self.scratch(&format!("{name}.u"), &[t * n])?
        } else {
            self.scratch(&format!("{name}.u"), &[1])?
        };
        let count = self.scratch(&format!("{name}.count"), &[1])?;
        self.count_limits.push(CountLimit {
            op: self.arena.ops.len(),
            word: IF_COUNT_LIMIT_WORD,
            per_image: per,
        });
        let io = IfForwardIo {
            input: &x.x,
            vth: &vth.value,
            leak: &leak.value,
            out: &y.x,
            u_trace: &trace,
            spike_count: &count,
        };
        self.both(if_forward(self.gpu, name, (t, n), &cfg, &io)?);
        if let (Some(gy), true) = (&y.g, self.opts.train) {
            self.neuron_backward(name, x, gy, &cfg, &trace, (vth, leak), bwd)?;
        }
        self.arena.tensor(trace);
        self.neurons.push(Neuron {
            name: name.into(),
            vth: self.params_used() - 2,
            leak: self.params_used() - 1,
            params: np,
            cfg,
            per_sample: per,
            out: alias(&y.x, name),
            input: alias(&x.x, &format!("{name}.in")),
            count,
        });
        Ok(y)
    }

    /// The neuron's BPTT, which writes dL/dI per step; an analog input gets
    /// their sum over T.
    #[allow(clippy::too_many_arguments)]
    fn neuron_backward(
        &mut self,
        name: &str,
        x: &Flow,
        gy: &Tensor,
        cfg: &IfConfig,
        trace: &Tensor,
        (vth, leak): (&SnnParam, &SnnParam),
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let per: usize = x.shape.iter().product();
        let (t, n) = (self.opts.t, self.opts.batch * per);
        let d_in = if x.spiking {
            x.g.clone()
        } else {
            Some(self.scratch(&format!("{name}.dI"), &[t * n])?)
        };
        if let Some(d_in) = d_in {
            let io = IfBackwardIo {
                u_trace: trace,
                vth: &vth.value,
                leak: &leak.value,
                g_out: gy,
                d_input: &d_in,
                dvth: &vth.grad,
                dleak: &leak.grad,
            };
            let b = if_backward(self.gpu, &format!("{name}.bptt"), (t, n), cfg, self.opts.surrogate, &io)?;
            bwd.extend(self.arena.ops(b.ops));
            if let (false, Some(gx)) = (x.spiking, &x.g) {
                bwd.push(
                    self.arena
                        .op(sum_over_t(self.gpu, &format!("{name}.dI.sum"), t, n, &d_in, gx)?),
                );
            }
        }
        Ok(())
    }
}
