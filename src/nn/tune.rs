//! Autotuning: time every variant that can run a pass of a layer shape, keep the fastest in the
//! GPU's table (`gpu::tune`). `ConvAlgo::Auto` / `LinearAlgo::Auto` consult it through `consult`;
//! the variants give the same bits (tests/kernels.rs, tests/tune.rs), so a choice changes speed,
//! never a number. Candidates are each enum's `ALL` filtered by what runs the shape here, so a
//! variant added later is timed without touching this file.

use web_time::{Duration, Instant};

use super::conv::{
    conv2d_backward_input_with_algo, conv2d_backward_weight_with_algo, conv2d_forward, Conv2dShape, ConvAlgo,
};
use super::conv_select::{is_real_gpu, runs_pass};
use super::linear::{
    linear_backward_input_with_algo, linear_backward_weight_with_algo, linear_forward_with_algo, LinearAlgo, LinearPass,
};
use crate::error::Result;
use crate::gpu::tune::Pending;
use crate::gpu::{Encoder, Gpu, Op, Tensor, TunePass, TuneShape};

/// How long tuning may take.
#[derive(Clone, Copy, Debug)]
pub struct TuneOptions {
    /// All shapes of one call together; shapes left when it runs out keep their default and stay
    /// pending for the next call.
    pub budget: Duration,
    /// Timed runs of one variant stop after this much time (or `max_reps`).
    pub per_variant: Duration,
    pub max_reps: usize,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            budget: Duration::from_secs(3),
            per_variant: Duration::from_millis(5),
            max_reps: 5,
        }
    }
}

/// What a tuning call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TuneReport {
    /// Shapes timed.
    pub tuned: usize,
    /// Shapes whose choice differs from the default they were built with (a network built before
    /// the call runs slower than it could until rebuilt).
    pub changed: usize,
    /// Shapes left pending (budget spent).
    pub left: usize,
    /// Why the cache file was not written (tuning itself still counts).
    pub warning: Option<String>,
}

/// `requested`, or for `auto` the variant of `all` the table chose for `pass` on `shape` (when it
/// still runs here: `runs`), else `default()`, noted as pending so `tune_pending` times it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn consult<A: Copy + PartialEq + std::fmt::Debug>(
    gpu: &Gpu,
    pass: TunePass,
    shape: TuneShape,
    requested: A,
    auto: A,
    all: &[A],
    runs: impl Fn(A) -> bool,
    default: impl FnOnce() -> A,
) -> A {
    if requested != auto {
        return requested;
    }
    let chosen = gpu.with_tune(|t| t.choice(pass, &shape).map(String::from));
    let named = |n: &str| all.iter().copied().find(|a| *a != auto && format!("{a:?}") == n);
    if let Some(a) = chosen.as_deref().and_then(named).filter(|a| runs(*a)) {
        return a;
    }
    let d = default();
    gpu.with_tune(|t| t.note_default(pass, &shape, &format!("{d:?}")));
    d
}

/// The variant names that can run `pass` on `shape` here, in `ALL` order.
pub fn runnable(gpu: &Gpu, pass: TunePass, shape: &TuneShape) -> Vec<String> {
    match shape {
        TuneShape::Conv(s) => ConvAlgo::ALL
            .into_iter()
            .filter(|a| *a != ConvAlgo::Auto && runs_pass(gpu, pass, s, *a))
            .map(|a| format!("{a:?}"))
            .collect(),
        TuneShape::Linear { in_f, out_f, .. } => LinearAlgo::ALL
            .into_iter()
            .filter(|a| *a != LinearAlgo::Auto && a.supported(gpu, linear_pass(pass), *in_f, *out_f))
            .map(|a| format!("{a:?}"))
            .collect(),
    }
}

/// The variants the tuner times: `runnable`'s, in order (ties go to the first), but on CPU
/// adapters not the workgroup-memory `Tiled` family. It never won there (lavapipe: last or next
/// to last in all 35 shapes of a vgg-small/vgg-tiny cache; SwiftShader: 756 ms against Direct's
/// 84 on vgg-small's first conv), and SwiftShader takes 1.4-2.8 s to compile one of its kernels,
/// which a short run never earns back. Every variant gives the same bits, so this changes no
/// number.
pub fn candidates(gpu: &Gpu, pass: TunePass, shape: &TuneShape) -> Vec<String> {
    let mut names = runnable(gpu, pass, shape);
    if !is_real_gpu(gpu) {
        names.retain(|n| n != "Tiled");
    }
    names
}

fn linear_pass(pass: TunePass) -> LinearPass {
    match pass {
        TunePass::LinearBackwardInput => LinearPass::BackwardInput,
        TunePass::LinearBackwardWeight => LinearPass::BackwardWeight,
        _ => LinearPass::Forward,
    }
}

/// Scratch tensors of one shape, allocated once for all its variants (values do not matter).
struct Scratch {
    x: Tensor,
    w: Tensor,
    b: Tensor,
    y: Tensor,
}

fn scratch(gpu: &Gpu, shape: &TuneShape) -> Result<Scratch> {
    let (x, w, b, y): (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>) = match shape {
        TuneShape::Conv(s) => (
            s.x_shape().into(),
            s.w_shape().into(),
            vec![s.c_out],
            s.y_shape().into(),
        ),
        TuneShape::Linear { n, in_f, out_f } => (vec![n * in_f], vec![out_f * in_f], vec![*out_f], vec![n * out_f]),
    };
    Ok(Scratch {
        x: gpu.tensor("tune.x", &x)?,
        w: gpu.tensor("tune.w", &w)?,
        b: gpu.tensor("tune.b", &b)?,
        y: gpu.tensor("tune.y", &y)?,
    })
}

/// The ops of variant `name` for `pass` on `shape` over the scratch tensors (x/y double as dx/dy).
fn ops(gpu: &Gpu, pass: TunePass, shape: &TuneShape, name: &str, t: &Scratch) -> Result<Vec<Op>> {
    let label = format!("tune.{pass:?}.{name}");
    match shape {
        TuneShape::Conv(s) => {
            let a = variant(&ConvAlgo::ALL, name);
            conv_ops(gpu, &label, pass, s, a, t)
        }
        TuneShape::Linear { n, in_f, out_f } => {
            let a = variant(&LinearAlgo::ALL, name);
            let dims = [*n, *in_f, *out_f];
            Ok(vec![match pass {
                TunePass::LinearBackwardInput => {
                    linear_backward_input_with_algo(gpu, &label, dims, a, &t.y, &t.w, &t.x)?
                }
                TunePass::LinearBackwardWeight => {
                    linear_backward_weight_with_algo(gpu, &label, dims, a, &t.x, &t.y, &t.w)?
                }
                _ => linear_forward_with_algo(gpu, &label, dims, a, &t.x, &t.w, &t.b, &t.y)?,
            }])
        }
    }
}

fn conv_ops(gpu: &Gpu, label: &str, pass: TunePass, s: &Conv2dShape, a: ConvAlgo, t: &Scratch) -> Result<Vec<Op>> {
    match pass {
        TunePass::ConvBackwardInput => conv2d_backward_input_with_algo(gpu, label, s, &t.y, &t.w, &t.x, a),
        TunePass::ConvBackwardWeight => conv2d_backward_weight_with_algo(gpu, label, s, &t.x, &t.y, &t.w, a),
        _ => conv2d_forward(gpu, label, s, a, &t.x, &t.w, &t.b, &t.y),
    }
}

/// The variant of `all` named `name` (candidates come from `all`, so it is there).
fn variant<A: Copy + std::fmt::Debug + Default>(all: &[A], name: &str) -> A {
    all.iter()
        .copied()
        .find(|a| format!("{a:?}") == name)
        .unwrap_or_default()
}

/// One submission of `ops`, waited for.
async fn run_once(gpu: &Gpu, ops: &[Op]) -> Result<Duration> {
    let t0 = Instant::now();
    let mut enc = Encoder::new(gpu, "tune");
    for op in ops {
        enc.dispatch(op);
    }
    enc.submit(gpu)?;
    gpu.wait_fence(gpu.fence()).await?;
    Ok(t0.elapsed())
}

/// The best wall time of `ops` in milliseconds: one warm-up run (pipeline compilation, first
/// touch of the buffers), then runs until `per_variant` or `max_reps`, at least one.
async fn time_ops(gpu: &Gpu, ops: &[Op], opts: &TuneOptions) -> Result<f64> {
    run_once(gpu, ops).await?;
    let start = Instant::now();
    let mut best = Duration::MAX;
    for _ in 0..opts.max_reps.max(1) {
        best = best.min(run_once(gpu, ops).await?);
        if start.elapsed() >= opts.per_variant {
            break;
        }
    }
    Ok(best.as_secs_f64() * 1e3)
}

/// Time every candidate of one pending shape; returns (variant, ms) in candidate order.
/// Candidates that run the same kernels as an earlier one are not timed again.
pub async fn time_shape(
    gpu: &Gpu,
    pass: TunePass,
    shape: &TuneShape,
    opts: &TuneOptions,
) -> Result<Vec<(String, f64)>> {
    let names = candidates(gpu, pass, shape);
    if names.len() == 1 {
        // Nothing to choose (e.g. the page, where every pass has one variant without
        // subgroups): recorded untimed (0 ms) so that it is not pending again.
        return Ok(names.into_iter().map(|n| (n, 0.0)).collect());
    }
    let t = scratch(gpu, shape)?;
    let mut timings = Vec::new();
    let mut seen: Vec<Vec<crate::gpu::Kernel>> = Vec::new();
    for name in names {
        let ops = ops(gpu, pass, shape, &name, &t)?;
        // A variant that runs another's kernels for this pass (Vec4's backward-weight where rows
        // hold no whole quads is Subgroup's) is that variant: timing it again would only pick noise.
        let kernels: Vec<_> = ops.iter().map(|o| o.kernel).collect();
        if seen.contains(&kernels) {
            continue;
        }
        seen.push(kernels);
        timings.push((name, time_ops(gpu, &ops, opts).await?));
    }
    Ok(timings)
}

/// Time the shapes resolved by default so far (`consult`), keep the fastest variant of each and
/// persist the table where it has a cache file. Tuning order is the order the shapes were met.
pub async fn tune_pending(gpu: &Gpu, opts: &TuneOptions) -> Result<TuneReport> {
    tune_pending_where(gpu, opts, |_| true).await
}

/// `tune_pending` for the pending shapes `wanted` selects (a training run times the shapes of its
/// own batch first, not those an evaluation at another batch left); the others stay pending and
/// do not count in the report.
pub async fn tune_pending_where(
    gpu: &Gpu,
    opts: &TuneOptions,
    wanted: impl Fn(&Pending) -> bool,
) -> Result<TuneReport> {
    let (pending, mut rest): (Vec<Pending>, Vec<Pending>) =
        gpu.with_tune(|t| t.take_pending()).into_iter().partition(|p| wanted(p));
    let others = rest.len();
    let start = Instant::now();
    let mut report = TuneReport::default();
    for p in pending {
        if start.elapsed() >= opts.budget {
            rest.push(p);
            continue;
        }
        let timings = time_shape(gpu, p.pass, &p.shape, opts).await?;
        let choice = gpu.with_tune(|t| t.record(p.pass, p.shape, timings));
        report.tuned += 1;
        report.changed += usize::from(choice.is_some_and(|c| c != p.default));
    }
    report.left = rest.len() - others;
    gpu.with_tune(|t| t.requeue(rest));
    if report.tuned > 0 {
        report.warning = gpu
            .save_tune_cache()
            .err()
            .map(|e| format!("tuning cache not written: {e}"));
    }
    Ok(report)
}
