//! Optimizer hyper-parameters (SGD for the DNN, Adam/AMSGrad for SNN
//! fine-tuning; the `*Params` structs mirror the WGSL uniforms) and the
//! dropout keep threshold: plain data for the GPU kernels and the CPU reference.

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

/// SGD hyper-parameters (PyTorch semantics, see paper.md section 8).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 0.01,
            momentum: 0.95,
            weight_decay: 5e-4,
        }
    }
}

/// PyTorch SGD hyper-parameters (mirrors `sgd_step.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct SgdParams {
    pub n: u32,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// PyTorch Adam hyper-parameters (mirrors `adam_step.wgsl`). `step_size` and
/// `bc2_sqrt` derive from `step`, `lr` and the betas: call `prepared()` after
/// changing those (the builder and `adam_set` do).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct AdamParams {
    pub n: u32,
    /// 1-based step count.
    pub step: u32,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub amsgrad: u32,
    pub clamp_max: f32,
    pub use_clamp: u32,
    /// lr / (1 - beta1^step).
    pub step_size: f32,
    /// sqrt(1 - beta2^step).
    pub bc2_sqrt: f32,
}

impl AdamParams {
    /// The paper's fine-tuning setting: betas (0.9, 0.999), eps 1e-8, AMSGrad,
    /// no weight decay, no clamp, step 1.
    pub fn new(n: u32, lr: f32) -> Self {
        AdamParams {
            n,
            step: 1,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: 1,
            clamp_max: 0.0,
            use_clamp: 0,
            step_size: 0.0,
            bc2_sqrt: 0.0,
        }
        .prepared()
    }

    /// Recompute the bias corrections (in f64, as PyTorch does in Python floats).
    pub fn prepared(self) -> Self {
        let t = self.step.max(1) as i32;
        let bc1 = 1.0 - (self.beta1 as f64).powi(t);
        let bc2 = 1.0 - (self.beta2 as f64).powi(t);
        AdamParams {
            step_size: (self.lr as f64 / bc1) as f32,
            bc2_sqrt: bc2.sqrt() as f32,
            ..self
        }
    }
}

/// `min(round(p * 2^32), 2^32 - 1)`: a 32-bit hash `h` is kept when `h >= threshold`,
/// so the drop probability is `p` to within 2^-32.
pub fn keep_threshold(p: f32) -> u32 {
    (p as f64 * 4_294_967_296.0).round().min(u32::MAX as f64) as u32
}
