//! Step-decay learning-rate schedule: lr divided by `1/gamma` at given fractions
//! of the run (paper: 60/80/90 % of the epochs, by 10; its code divides by 5).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepDecay {
    pub milestones: Vec<f32>,
    pub gamma: f32,
}

impl Default for StepDecay {
    fn default() -> Self {
        StepDecay { milestones: vec![0.6, 0.8, 0.9], gamma: 0.1 }
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
