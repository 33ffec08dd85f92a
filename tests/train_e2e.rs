//! The whole DNN training step on the GPU against the CPU reference network:
//! a 2-conv + 1-linear threshold-ReLU net over 50 SGD steps (loss curves), and
//! one step of VGG-11 on a CIFAR-shaped batch (loss and weight updates).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::cpu::net::CpuNet;
use ultraspike::data::synthetic;
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::models::{builtin, LayerSpec, ModelConfig};

fn small_net() -> ModelConfig {
    ModelConfig {
        name: "two-conv".into(),
        input: [1, 12, 12],
        classes: 4,
        layers: vec![
            LayerSpec::Conv {
                out: 4,
                k: 3,
                stride: 1,
                pad: 1,
                bias: true,
            },
            LayerSpec::Act { mu: 4.0 },
            LayerSpec::Dropout { p: 0.2 },
            LayerSpec::MaxPool { k: 2, stride: 2 },
            LayerSpec::Conv {
                out: 8,
                k: 3,
                stride: 1,
                pad: 1,
                bias: true,
            },
            LayerSpec::Act { mu: 4.0 },
            LayerSpec::MaxPool { k: 2, stride: 2 },
            LayerSpec::Flatten,
            LayerSpec::Linear { out: 4, bias: true },
        ],
        act_levels: None,
    }
}

fn batch(ds: &ultraspike::data::Dataset, start: usize, n: usize) -> (Vec<f32>, Vec<u32>) {
    let l = ds.image_len();
    let mut x = vec![0.0; n * l];
    let mut y = vec![0; n];
    for i in 0..n {
        let j = (start + i) % ds.n;
        ds.normalized_into(j, &mut x[i * l..(i + 1) * l]);
        y[i] = ds.labels[j] as u32;
    }
    (x, y)
}

/// Tolerance: every step's mean loss within 1e-3 * max(1, loss) of the CPU's
/// (f32 sums in different orders drift a little over 50 steps, no more).
#[test]
fn fifty_sgd_steps_match_the_cpu_loss_curve() {
    let gpu = common::gpu();
    let cfg = small_net();
    let ds = synthetic(64, 1, 12, 12, 4, 7).unwrap();
    let sgd = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 5e-4,
    };
    let n = 8;
    let mut net = DnnNet::new(gpu, &cfg, n, 3, sgd).unwrap();
    let mut cpu = CpuNet::new(&cfg, 3).unwrap();
    let (mut first, mut last) = (0.0, 0.0);
    for step in 0..50u32 {
        let (x, y) = batch(&ds, step as usize * n, n);
        let g = pollster::block_on(net.train_step(gpu, &x, &y, n, step)).unwrap();
        let (c, _) = cpu.train_step(&x, &y, n, step, true, &sgd);
        let (gl, cl) = (g.loss_sum / n as f32, (c / n as f64) as f32);
        assert!(
            (gl - cl).abs() <= 1e-3 * cl.abs().max(1.0),
            "step {step}: gpu loss {gl} vs cpu {cl}"
        );
        if step == 0 {
            first = cl;
        }
        last = cl;
    }
    assert!(last < first * 0.7, "the net should learn: loss {first} -> {last}");
}

/// One SGD step of VGG-11 (the paper's, 3x32x32, 10 classes) on 2 images: the
/// loss and every parameter's update agree with the CPU reference.
#[test]
fn vgg11_training_step_matches_cpu() {
    let gpu = common::gpu();
    let cfg = builtin("vgg11", [3, 32, 32], 10).unwrap();
    let ds = synthetic(2, 3, 32, 32, 10, 11).unwrap();
    let sgd = SgdConfig {
        lr: 0.01,
        momentum: 0.95,
        weight_decay: 5e-4,
    };
    let mut net = DnnNet::new(gpu, &cfg, 2, 5, sgd).unwrap();
    let mut cpu = CpuNet::new(&cfg, 5).unwrap();
    let before = cpu.values.clone();
    let (x, y) = batch(&ds, 0, 2);
    let g = pollster::block_on(net.train_step(gpu, &x, &y, 2, 9)).unwrap();
    let (c, _) = cpu.train_step(&x, &y, 2, 9, true, &sgd);
    assert!(
        (g.loss_sum as f64 - c).abs() < 1e-3 * c.abs().max(1.0),
        "loss gpu {} cpu {c}",
        g.loss_sum
    );
    let after = pollster::block_on(net.read_params(gpu)).unwrap();
    for (i, (name, _, v)) in after.iter().enumerate() {
        let dg: Vec<f32> = v.iter().zip(&before[i]).map(|(a, b)| a - b).collect();
        let dc: Vec<f32> = cpu.values[i].iter().zip(&before[i]).map(|(a, b)| a - b).collect();
        let scale = dc.iter().fold(0f32, |m, d| m.max(d.abs())).max(1e-12);
        let err = dg.iter().zip(&dc).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= 2e-3 * scale + 1e-9,
            "{name}: update differs by {err} (largest update {scale})"
        );
    }
}

/// QCFS activations (L = 4; a residual block's two included) over 20 SGD steps: the GPU
/// loss follows the CPU reference, and every parameter, each layer's mu included (its
/// straight-through gradient has the level-minus-input term), ends where the CPU's does.
#[test]
fn qcfs_training_matches_cpu() {
    let gpu = common::gpu();
    let mut cfg = common::snn::resnet(true, 0.0);
    cfg.act_levels = Some(4);
    cfg.validate().unwrap();
    let ds = synthetic(40, 2, 4, 4, 3, 5).unwrap();
    let sgd = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    let n = 8;
    let mut net = DnnNet::new(gpu, &cfg, n, 4, sgd).unwrap();
    let mut cpu = CpuNet::new(&cfg, 4).unwrap();
    let before = cpu.values.clone();
    for step in 0..20u32 {
        let (x, y) = batch(&ds, step as usize * n, n);
        let g = pollster::block_on(net.train_step(gpu, &x, &y, n, step)).unwrap();
        let (c, _) = cpu.train_step(&x, &y, n, step, true, &sgd);
        let (gl, cl) = (g.loss_sum / n as f32, (c / n as f64) as f32);
        assert!(
            (gl - cl).abs() <= 1e-3 * cl.abs().max(1.0),
            "step {step}: gpu loss {gl} vs cpu {cl}"
        );
    }
    let after = pollster::block_on(net.read_params(gpu)).unwrap();
    let mut mu_moved = 0;
    for (i, (name, _, v)) in after.iter().enumerate() {
        let err = v
            .iter()
            .zip(&cpu.values[i])
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let moved = cpu.values[i]
            .iter()
            .zip(&before[i])
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= 1e-3 * moved.max(1e-3),
            "{name}: gpu and cpu differ by {err} (moved {moved})"
        );
        mu_moved += (name.ends_with(".mu") && moved > 1e-4) as usize;
    }
    assert_eq!(mu_moved, 3, "every mu trains");
}
