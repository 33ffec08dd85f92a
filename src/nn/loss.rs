//! Mean softmax cross-entropy with its gradient, in two dispatches: one thread
//! per row (loss, correctness, dlogits), then one workgroup summing the rows in
//! a fixed order (deterministic stats, no float atomics).

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::shape_err;

/// Uniform of `softmax_xent` and `softmax_xent_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct XentParams {
    pub n: u32,
    pub classes: u32,
    /// Rows < n_valid count; the rest (a short last batch) get zero gradient.
    pub n_valid: u32,
    pub _pad: u32,
}

/// The two ops (rows, then stats) and the per-row scratch [2, n].
pub struct SoftmaxXent {
    pub ops: Vec<Op>,
    params: XentParams,
    _row_stats: Tensor,
}

impl SoftmaxXent {
    /// Only the first `n_valid` rows (<= n) count from the next dispatch on.
    pub fn set_valid(&self, gpu: &Gpu, n_valid: u32) -> Result<()> {
        if n_valid > self.params.n {
            return Err(shape_err!("softmax_xent: {n_valid} valid rows of {}", self.params.n));
        }
        let p = XentParams { n_valid, ..self.params };
        for op in &self.ops {
            op.set_params(gpu, &p);
        }
        Ok(())
    }
}

/// `logits` [n, classes] f32, `labels` [n] u32 (each < classes). Writes
/// `dlogits` [n, classes] = (softmax - onehot) / n_valid on rows < n_valid, 0
/// beyond, and `stats` [2] = [sum of the valid rows' losses, number of valid
/// rows whose first maximal logit is the label]. All rows valid initially.
#[allow(clippy::too_many_arguments)]
pub fn softmax_xent(
    gpu: &Gpu,
    label: &str,
    n: usize,
    classes: usize,
    logits: &Tensor,
    labels: &Tensor,
    dlogits: &Tensor,
    stats: &Tensor,
) -> Result<SoftmaxXent> {
    if n == 0 || classes == 0 || n.checked_mul(classes).is_none_or(|nc| nc > u32::MAX as usize) {
        return Err(shape_err!("{label}: softmax_xent of {n} rows x {classes} classes"));
    }
    for (x, want) in [(logits, n * classes), (dlogits, n * classes), (labels, n), (stats, 2)] {
        if x.len() != want {
            return Err(shape_err!(
                "{label}: `{}` has {} elements ({:?}), expected {want}",
                x.label,
                x.len(),
                x.shape
            ));
        }
    }
    let params = XentParams {
        n: n as u32,
        classes: classes as u32,
        n_valid: n as u32,
        _pad: 0,
    };
    let row_stats = gpu.tensor(&format!("{label}.row_stats"), &[2, n])?;
    let rows = gpu.op(
        Kernel::SoftmaxXent,
        label,
        &[logits.bind(), labels.bind(), dlogits.bind(), row_stats.bind()],
        &params,
        grid_1d(n, 256),
    )?;
    let sum = gpu.op(
        Kernel::SoftmaxXentStats,
        &format!("{label}.stats"),
        &[row_stats.bind(), stats.bind()],
        &params,
        [1, 1, 1],
    )?;
    Ok(SoftmaxXent {
        ops: vec![rows, sum],
        params,
        _row_stats: row_stats,
    })
}

/// Steps whose statistics a `StepLog` holds before it must be drained.
pub const LOG_SLOTS: usize = 16;

/// The loss statistics of queued steps, kept on the GPU: each step copies its `stats` [2] into
/// the next slot of `[LOG_SLOTS, 2]` inside its own submission, and `drain` reads every filled
/// slot with one map. So a training step needs no readback, and the host still sums each step's
/// values in order (the same numbers as reading after every step).
pub struct StepLog {
    log: Tensor,
    /// Valid images of each filled slot, in order (a RefCell so that inference, which holds
    /// the net by `&`, can queue too; no borrow is held across an await).
    valid: std::cell::RefCell<Vec<usize>>,
}

impl StepLog {
    pub fn new(gpu: &Gpu, label: &str) -> Result<StepLog> {
        Ok(StepLog {
            log: gpu.tensor(label, &[LOG_SLOTS, 2])?,
            valid: std::cell::RefCell::new(Vec::with_capacity(LOG_SLOTS)),
        })
    }

    pub fn is_full(&self) -> bool {
        self.valid.borrow().len() >= LOG_SLOTS
    }

    /// Record the copy of `stats` into the next slot (call `drain` first when full).
    pub fn record(&self, enc: &mut crate::gpu::Encoder<'_>, stats: &Tensor, valid: usize) -> Result<()> {
        if self.is_full() {
            return Err(crate::Error::Gpu(format!(
                "step log `{}` is full ({LOG_SLOTS} steps): drain it first",
                self.log.label
            )));
        }
        let at = (self.valid.borrow().len() * 8) as u64;
        enc.copy_at(stats.bind(), 0, self.log.bind(), at, 8);
        self.valid.borrow_mut().push(valid);
        Ok(())
    }

    /// `drain`, with a non-finite loss among the steps turned into `Error::Diverged` carrying
    /// `why(loss)`: both trainers' divergence rule, detected at the read.
    pub async fn drain_finite(
        &self,
        gpu: &Gpu,
        why: impl FnOnce(f32) -> String,
    ) -> Result<Vec<crate::spec::StepStats>> {
        let steps = self.drain(gpu).await?;
        match steps.iter().find(|s| !s.loss_sum.is_finite()) {
            Some(bad) => Err(crate::Error::Diverged(why(bad.loss_sum))),
            None => Ok(steps),
        }
    }

    /// The statistics of every queued step, in order, with one readback (none when empty).
    pub async fn drain(&self, gpu: &Gpu) -> Result<Vec<crate::spec::StepStats>> {
        let filled = self.valid.borrow().len();
        if filled == 0 {
            return Ok(Vec::new());
        }
        let values = gpu.read_range(&self.log, 0, 2 * filled).await?;
        let valid: Vec<usize> = self.valid.borrow_mut().drain(..).collect();
        let stats = valid
            .into_iter()
            .zip(values.chunks_exact(2))
            .map(|(count, v)| crate::spec::StepStats {
                loss_sum: v[0],
                correct: v[1],
                count,
            })
            .collect();
        Ok(stats)
    }
}
