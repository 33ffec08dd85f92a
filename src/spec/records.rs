//! What training and evaluation report: one step's sums, a dataset's loss and
//! accuracy, an epoch's record (kept in checkpoint metadata) and a run's progress.

use serde::{Deserialize, Serialize};

/// What one step measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    pub loss_sum: f32,
    pub correct: f32,
    pub count: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f32,
    pub train_loss: f32,
    pub train_acc: f32,
    pub test_loss: f32,
    pub test_acc: f32,
    pub seconds: f64,
    pub images_per_s: f64,
}

/// Loss and accuracy over a dataset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
    pub images: usize,
}

/// Where a run stands, for progress bars and the page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: usize,
    pub epochs: usize,
    /// Batches done in the current epoch.
    pub batch: usize,
    pub batches: usize,
    /// Running mean training loss and accuracy of the current epoch.
    pub loss: f32,
    pub accuracy: f32,
    /// Set when an epoch closed (with its test evaluation).
    pub record: Option<EpochRecord>,
    pub done: bool,
}
