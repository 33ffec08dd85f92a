//! How far the trainers run ahead of the GPU. A queued step needs no readback, so without a
//! bound a `train_steps(k)` call would queue all k steps at once: the GPU would then run them
//! while a cancel request waits, and in the browser the worker would not see the request before
//! the call ends. After queueing step i the trainer waits (a fence, not a readback) until step
//! i - 1 is done: step i keeps the GPU busy while the host prepares and uploads step i + 1, and a
//! cancel acts within about one step.

use std::collections::VecDeque;

use super::epochs::EpochLoop;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Fence, Gpu};
use crate::spec::StepStats;

/// What both trainers' nets (DNN SGD, SNN BPTT) offer for queued steps.
#[allow(async_fn_in_trait)] // driven on one thread, like `EpochTrainer`
pub trait QueuedSteps {
    fn log_full(&self) -> bool;
    fn queue_train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<()>;
    async fn drain_steps(&mut self, gpu: &Gpu) -> Result<Vec<StepStats>>;
}

impl QueuedSteps for crate::dnn::DnnNet {
    fn log_full(&self) -> bool {
        crate::dnn::DnnNet::log_full(self)
    }
    fn queue_train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<()> {
        crate::dnn::DnnNet::queue_train_step(self, gpu, x, y, valid, seed)
    }
    async fn drain_steps(&mut self, gpu: &Gpu) -> Result<Vec<StepStats>> {
        crate::dnn::DnnNet::drain_steps(self, gpu).await
    }
}

impl QueuedSteps for crate::snn::SnnNet {
    fn log_full(&self) -> bool {
        crate::snn::SnnNet::log_full(self)
    }
    fn queue_train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<()> {
        crate::snn::SnnNet::queue_train_step(self, gpu, x, y, valid, seed)
    }
    async fn drain_steps(&mut self, gpu: &Gpu) -> Result<Vec<StepStats>> {
        crate::snn::SnnNet::drain_steps(self, gpu).await
    }
}

/// Queue a step of `net` on the next batch of `run` (draining the log first when full);
/// `Ok(false)` at the end of the epoch. The one body of both trainers' `train_batch`.
pub async fn queue_next<N: QueuedSteps>(
    net: &mut N,
    run: &mut EpochLoop,
    in_flight: &mut InFlight,
    gpu: &Gpu,
    train: &Dataset,
) -> Result<bool> {
    if net.log_full() {
        flush(net, run, in_flight, gpu).await?;
    }
    let Some((valid, seed)) = run.next_batch(train)? else {
        return Ok(false);
    };
    net.queue_train_step(gpu, &run.x, &run.y, valid, seed)?;
    run.count_step();
    in_flight.stepped(gpu).await?;
    Ok(true)
}

/// Read `net`'s queued steps (one readback) into `run`'s running means, in step order.
pub async fn flush<N: QueuedSteps>(
    net: &mut N,
    run: &mut EpochLoop,
    in_flight: &mut InFlight,
    gpu: &Gpu,
) -> Result<()> {
    let steps = net.drain_steps(gpu).await?;
    in_flight.clear();
    for s in steps {
        run.add_stats(&s);
    }
    Ok(())
}

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
