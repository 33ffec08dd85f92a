//! Hyper-parameters of a run, as checkpoint metadata records them: the
//! step-decay schedule (lr divided by `1/gamma` at fractions of the run; paper:
//! 60/80/90 % of the epochs, by 10; its code divides by 5), the DNN's training
//! config and the SNN's fine-tuning config.

use serde::{Deserialize, Serialize};

use super::neuron::Surrogate;
use super::optim::SgdConfig;
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub sgd: SgdConfig,
    pub schedule: StepDecay,
    pub augment: bool,
    pub shuffle: bool,
    pub dropout: bool,
    pub seed: u64,
    /// Stop after this many steps in total (for quick runs and tests).
    pub max_steps: Option<u64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch: 64,
            sgd: SgdConfig::default(),
            schedule: StepDecay::default(),
            augment: false,
            shuffle: true,
            dropout: true,
            seed: 0,
            max_steps: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub epochs: usize,
    pub batch: usize,
    pub t: usize,
    pub lr: f32,
    pub weight_decay: f32,
    pub schedule: StepDecay,
    pub surrogate: Surrogate,
    /// Replace every dropout probability of the model (paper's SGL: 0.1); None keeps the model's.
    pub dropout: Option<f32>,
    pub augment: bool,
    pub shuffle: bool,
    pub seed: u64,
    pub max_steps: Option<u64>,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            epochs: 5,
            batch: 32,
            t: 2,
            lr: 1e-4,
            weight_decay: 0.0,
            schedule: StepDecay::default(),
            surrogate: Surrogate::Boxcar,
            dropout: Some(0.1),
            augment: false,
            shuffle: true,
            seed: 0,
            max_steps: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepDecay {
    pub milestones: Vec<f32>,
    pub gamma: f32,
}

impl Default for StepDecay {
    fn default() -> Self {
        StepDecay {
            milestones: vec![0.6, 0.8, 0.9],
            gamma: 0.1,
        }
    }
}

impl StepDecay {
    /// The learning rate for `epoch` (0-based) of `epochs`.
    pub fn lr(&self, base: f32, epoch: usize, epochs: usize) -> f32 {
        let passed = self
            .milestones
            .iter()
            .filter(|&&m| epoch >= (m * epochs as f32).round() as usize && m > 0.0)
            .count();
        base * self.gamma.powi(passed as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_at_60_80_90_percent() {
        let s = StepDecay::default();
        let lrs: Vec<f32> = (0..10).map(|e| s.lr(1.0, e, 10)).collect();
        assert_eq!(lrs[5], 1.0);
        assert!((lrs[6] - 0.1).abs() < 1e-7);
        assert!((lrs[8] - 0.01).abs() < 1e-8);
        assert!((lrs[9] - 0.001).abs() < 1e-9);
    }
}
