//! How far the trainers run ahead of the GPU. A queued step needs no readback, so without a
//! bound a `train_steps(k)` call would queue all k steps at once: the GPU would then run them
//! while a cancel request waits, and in the browser the worker would not see the request before
//! the call ends. After queueing step i the trainer waits (a fence, not a readback) until step
//! i - 1 is done: step i keeps the GPU busy while the host prepares and uploads step i + 1, and a
//! cancel acts within about one step.

use std::collections::VecDeque;

use crate::error::Result;
use crate::gpu::{Fence, Gpu};

/// Queued steps that may be unfinished when the trainer prepares the next one.
const AHEAD: usize = 1;

#[derive(Default)]
pub struct InFlight {
    fences: VecDeque<Fence>,
}

impl InFlight {
    /// Call after queueing a step: waits until at most `AHEAD` queued steps are unfinished.
    pub async fn stepped(&mut self, gpu: &Gpu) -> Result<()> {
        self.fences.push_back(gpu.fence());
        while self.fences.len() > AHEAD {
            if let Some(oldest) = self.fences.pop_front() {
                gpu.wait_fence(oldest).await?;
            }
        }
        Ok(())
    }

    /// Forget the fences once everything queued is known done (a drain of the step log).
    pub fn clear(&mut self) {
        self.fences.clear();
    }
}
