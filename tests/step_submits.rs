//! A training step and a fine-tuning step each make exactly one queue submission and no
//! readback: their loss statistics stay on the GPU until the progress read that ends a
//! `train_steps` / `finetune_steps` call (one readback for all its steps).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use pollster::block_on;
use ultraspike::pipeline::{FinetuneOptions, Pipeline, TrainOptions, TrainStart};

/// (submits, readbacks) that `run` makes on the pipeline's GPU.
fn counted<T>(p: &mut Pipeline, run: impl FnOnce(&mut Pipeline) -> T) -> (u64, u64, T) {
    let (s0, m0) = (p.gpu().submits(), p.gpu().maps());
    let out = run(p);
    (p.gpu().submits() - s0, p.gpu().maps() - m0, out)
}

#[test]
fn steps_submit_once_and_read_only_at_progress() {
    // 256 synthetic images in batches of 32: 8 steps an epoch, so 5 steps stay in one epoch.
    let mut p = common::converted_pipeline(64, 2);
    let train = TrainOptions {
        model: "vgg-tiny".into(),
        epochs: 1,
        batch: 32,
        ..TrainOptions::default()
    };
    p.start_training(&train, TrainStart::Fresh).unwrap();
    block_on(p.train_steps(1)).unwrap();
    let (submits, reads, progress) = counted(&mut p, |p| block_on(p.train_steps(5)).unwrap());
    assert_eq!(progress.batch, 6, "the steps were taken");
    assert!(
        progress.loss.is_finite() && progress.loss > 0.0,
        "progress has the steps' loss"
    );
    // 5 steps, plus the one copy that reads their statistics back.
    assert_eq!(
        (submits, reads),
        (5 + 1, 1),
        "training: (submits, readbacks) for 5 steps"
    );

    let mut p = common::converted_pipeline(64, 2);
    let ft = FinetuneOptions {
        epochs: 1,
        batch: 32,
        ..FinetuneOptions::default()
    };
    p.start_finetune(&ft).unwrap();
    block_on(p.finetune_steps(1)).unwrap();
    let (submits, reads, progress) = counted(&mut p, |p| block_on(p.finetune_steps(5)).unwrap());
    assert_eq!(progress.batch, 6, "the fine-tuning steps were taken");
    assert_eq!(
        (submits, reads),
        (5 + 1, 1),
        "fine-tuning: (submits, readbacks) for 5 steps"
    );
}

#[test]
fn queued_steps_give_the_numbers_of_steps_read_one_by_one() {
    use ultraspike::dnn::{DnnNet, SgdConfig};
    use ultraspike::models::builtin;
    let gpu = common::gpu();
    let cfg = builtin("vgg-tiny", [1, 16, 16], 4).unwrap();
    let sgd = SgdConfig::default();
    let mut one_by_one = DnnNet::new(gpu, &cfg, 8, 7, sgd).unwrap();
    let mut queued = DnnNet::new(gpu, &cfg, 8, 7, sgd).unwrap();
    let mut r = ultraspike::util::rng::Rng::new(5);
    let batches: Vec<(Vec<f32>, Vec<u32>)> = (0..5)
        .map(|_| (r.vec_normal(8 * 256, 1.0), (0..8).map(|i| (i % 4) as u32).collect()))
        .collect();
    let mut want = Vec::new();
    for (i, (x, y)) in batches.iter().enumerate() {
        want.push(block_on(one_by_one.train_step(gpu, x, y, 8, i as u32)).unwrap());
    }
    for (i, (x, y)) in batches.iter().enumerate() {
        queued.queue_train_step(gpu, x, y, 8, i as u32).unwrap();
    }
    let got = block_on(queued.drain_steps(gpu)).unwrap();
    assert_eq!(got, want, "queued steps must give the same statistics, bit for bit");
}

/// The fused passes in a training step: the optimizer updates every trainable parameter with
/// one dispatch per shared buffer (values, gradients and momenta each share one buffer per
/// binding-sized run: one for vgg-small, and VGG-11's 138 MB cannot be more than a few), and each
/// activation's backward is one fused pass (dx and mu's partial sums) plus its final reduction.
#[test]
fn a_step_has_one_optimizer_dispatch_per_buffer_and_one_pass_per_activation_backward() {
    use ultraspike::dnn::{DnnNet, SgdConfig};
    use ultraspike::gpu::Kernel;
    use ultraspike::models::builtin;
    let gpu = common::gpu();
    for (model, input, most) in [("vgg-small", [1, 28, 28], 1), ("vgg11", [3, 32, 32], 3)] {
        let cfg = builtin(model, input, 10).unwrap();
        let net = DnnNet::new(gpu, &cfg, 4, 1, SgdConfig::default()).unwrap();
        let ops = net.train_step_ops();
        let sgd: Vec<_> = ops.iter().filter(|op| op.label.ends_with(".sgd")).collect();
        let labels: Vec<_> = sgd.iter().map(|o| &o.label).collect();
        assert!((1..=most).contains(&sgd.len()), "{model}: {labels:?}");
        assert!(labels.iter().all(|l| l.starts_with("params.")), "{model}: {labels:?}");
        let trainable = net.params.iter().filter(|p| p.spec.trainable).count();
        assert!(trainable > 5, "{model} has {trainable} trainable tensors");
        let fused = [Kernel::ActivationBackwardFused, Kernel::ActivationBackwardFusedReg];
        let act_bwd = ops.iter().filter(|op| fused.contains(&op.kernel)).count();
        let unfused = [Kernel::ThresholdReluBackward, Kernel::ThresholdReluBackwardVec4];
        assert_eq!(ops.iter().filter(|op| unfused.contains(&op.kernel)).count(), 0);
        assert_eq!(
            act_bwd,
            net.pre_acts.len(),
            "{model}: one fused backward per activation"
        );
    }
}
