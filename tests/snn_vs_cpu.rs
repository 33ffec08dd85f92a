//! The GPU SNN against the CPU reference SNN (`cpu::snn`): inference (logits,
//! spike counts, spike maps), BPTT gradients of every parameter, and the
//! spike-height folding of `snn::fold`.
//!
//! Threshold-safe inputs: images are i/16 (-8 <= i <= 24), weights j/32
//! (-4 <= j <= 8), biases k/64 with k odd, vth = 1 + 2^-10 or 3/4 + 2^-9, beta
//! 1 or 3/2, leak 1. Every input, product, current, membrane and spike height
//! is then a dyadic rational on the 2^-18 grid (the finest: a 3/2-height
//! spike times j/32, averaged over 2x2) of magnitude well below 64, i.e. it
//! fits f32's 24-bit significand: every f32 product and partial sum is exact on
//! both sides in any summation order (the CPU's f64 accumulators included), so
//! both see the same membranes and the same spikes, and the logits agree
//! exactly. `exact_and_clear` (tests/common/snn.rs) asserts this on the CPU traces (each u_tmp on the
//! grid and below 64) and rejects draws with a membrane exactly at vth or a
//! silent layer (redraw), so no comparison u > vth is ever a near tie.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use common::assert_close;
use common::snn::{analog_prefix, draw, image, model, neurons, params, resnet, vgg, vgg_avg};
use pollster::block_on;
use ultraspike::convert::NeuronParams;
use ultraspike::cpu::snn::{CpuSnn, SnnGrads};
use ultraspike::gpu::Gpu;
use ultraspike::models::config::{LayerSpec, ModelConfig};
use ultraspike::nn::spiking::Surrogate;
use ultraspike::snn::fold::fold_spike_heights;
use ultraspike::snn::{snn_param_specs, SnnNet, SnnOptions};
use ultraspike::util::rng::Rng;

use LayerSpec::*;

struct GpuOut {
    logits: Vec<f32>,
    counts: Vec<u64>,
    maps: Vec<Vec<u32>>,
}

fn load(gpu: &Gpu, net: &SnnNet, cfg: &ModelConfig, p: &[Vec<f32>]) {
    for (s, v) in snn_param_specs(cfg).unwrap().iter().zip(p) {
        net.write_param(gpu, &s.name, v).unwrap();
    }
}

fn gpu_infer(
    gpu: &Gpu,
    cfg: &ModelConfig,
    nr: &[NeuronParams],
    p: &[Vec<f32>],
    x: &[f32],
    b: usize,
    t: usize,
) -> GpuOut {
    let net = SnnNet::new(gpu, cfg, nr, SnnOptions::inference(b, t)).unwrap();
    load(gpu, &net, cfg, p);
    net.reset_counters(gpu).unwrap();
    block_on(net.eval_step(gpu, x, &vec![0; b], b, true)).unwrap();
    let logits = block_on(net.read_logits(gpu, b)).unwrap();
    GpuOut {
        logits,
        counts: block_on(net.spike_counts(gpu)).unwrap(),
        maps: block_on(net.spike_maps(gpu)).unwrap(),
    }
}

fn inference_matches(cfg: &ModelConfig) {
    let gpu = common::gpu();
    let b = 3;
    for t in [1, 2, 4] {
        let nr = neurons(cfg, 1.0);
        let cpu = CpuSnn::new(cfg, &nr, t, Surrogate::Boxcar).unwrap();
        let (p, x, want) = draw(cfg, &nr, &cpu, b, 7 + t as u64, true, None);
        let got = gpu_infer(gpu, cfg, &nr, &p, &x, b, t);
        let what = format!("{} T={t}", cfg.name);
        // Exact arithmetic on both sides; 1e-6 only guards the test against a
        // future non-exact change of the draws.
        assert_close(&format!("{what} logits"), &got.logits, &want.logits, 1e-6, 1e-6);
        assert_eq!(got.counts, want.spike_counts, "{what}: spike counts");
        assert_eq!(got.maps, want.spike_maps, "{what}: spike maps");
        assert!(
            want.spike_counts.iter().all(|&c| c > 0),
            "{what}: every layer should spike: {:?}",
            want.spike_counts
        );
        println!(
            "{what}: spikes {:?} logits[0..3] {:?}",
            want.spike_counts,
            &want.logits[..3]
        );
    }
}

#[test]
fn inference_vgg_matches_cpu() {
    inference_matches(&vgg());
    inference_matches(&vgg_avg(0.25));
    inference_matches(&analog_prefix());
}

#[test]
fn inference_residual_matches_cpu() {
    inference_matches(&resnet(false, 0.0));
    inference_matches(&resnet(true, 0.25));
}

/// BPTT with lr = 0 (Adam then leaves every parameter as it was): the GPU's
/// `grad` tensors against the CPU reference, dropout masks included.
fn bptt_matches(cfg: &ModelConfig) {
    let gpu = common::gpu();
    let b = 2;
    let mut worst = 0.0f32;
    for t in [1, 2, 3] {
        for (leak, sg) in [
            (1.0, Surrogate::Boxcar),
            (0.9, Surrogate::Boxcar),
            (1.0, Surrogate::Triangle),
            (0.9, Surrogate::Triangle),
        ] {
            let nr = neurons(cfg, leak);
            let cpu = CpuSnn::new(cfg, &nr, t, sg).unwrap();
            // The exactness argument holds at leak 1; at 0.9 both sides round
            // leak*u identically (same f32 operations, no fma).
            let seed = 11;
            let (p, x, _) = draw(cfg, &nr, &cpu, b, 100 + t as u64, leak == 1.0, Some(seed));
            let y: Vec<u32> = (0..b).map(|i| (i % 3) as u32).collect();
            let (fwd, want) = cpu.loss_grads(&p, &x, &y, b, Some(seed)).unwrap();
            let opts = SnnOptions {
                train: true,
                lr: 0.1,
                surrogate: sg,
                ..SnnOptions::inference(b, t)
            };
            let mut net = SnnNet::new(gpu, cfg, &nr, opts).unwrap();
            load(gpu, &net, cfg, &p);
            // Built at lr 0.1, then the schedule's lr 0: every optimizer op must take it (the
            // values stay put, `grads_match` checks).
            net.set_lr(0.0);
            // Two steps: the second must give the same gradients (nothing accumulates).
            block_on(net.train_step(gpu, &x, &y, b, seed)).unwrap();
            let st = block_on(net.train_step(gpu, &x, &y, b, seed)).unwrap();
            let what = format!("{} T={t} leak={leak} {sg:?}", cfg.name);
            assert!(
                (st.loss_sum as f64 - want.loss_sum).abs() < 1e-4 * (1.0 + want.loss_sum),
                "{what}: loss {} vs {}",
                st.loss_sum,
                want.loss_sum
            );
            assert!(
                fwd.spike_counts.iter().all(|&c| c > 0),
                "{what}: spikes {:?}",
                fwd.spike_counts
            );
            worst = worst.max(grads_match(gpu, &net, &want, &p, t, &what));
        }
    }
    println!(
        "{}: worst gradient error relative to the tensor's max {worst:e}",
        cfg.name
    );
}

/// Every parameter's GPU `grad` against the CPU's `want`, and its value
/// unmoved at lr = 0; returns the worst gradient error relative to the tensor's max.
fn grads_match(gpu: &Gpu, net: &SnnNet, want: &SnnGrads, p: &[Vec<f32>], t: usize, what: &str) -> f32 {
    let mut worst = 0.0f32;
    for (i, sp) in net.params.iter().enumerate() {
        let g = block_on(gpu.read(&sp.grad)).unwrap();
        let scale = want.grads[i].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // (a leak has no effect at T = 1: u(0) = 0)
        let inert = !sp.spec.trainable || (t == 1 && sp.spec.name.ends_with(".leak"));
        assert!(
            scale > 0.0 || inert,
            "{what}: {} has an all-zero gradient",
            sp.spec.name
        );
        let err = g
            .iter()
            .zip(&want.grads[i])
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        worst = worst.max(err / scale.max(1e-3));
        assert_close(
            &format!("{what}: d{}", sp.spec.name),
            &g,
            &want.grads[i],
            1e-5 * scale.max(1e-2),
            1e-4,
        );
        assert_eq!(
            block_on(gpu.read(&sp.value)).unwrap(),
            p[i],
            "{what}: {} moved with lr = 0",
            sp.spec.name
        );
    }
    worst
}

#[test]
fn bptt_vgg_matches_cpu() {
    bptt_matches(&vgg());
    bptt_matches(&vgg_avg(0.5));
    bptt_matches(&analog_prefix());
}

#[test]
fn bptt_residual_matches_cpu() {
    bptt_matches(&resnet(true, 0.5));
    bptt_matches(&resnet(false, 0.0));
}

/// Folding the spike height into the next weights: same logits, same spikes.
/// Case 1 exact (dyadic vth, beta; 1/vth exact); case 2 generic floats, where
/// the folded weights round (tolerance stated below, margins checked).
#[test]
fn folded_heights_give_the_same_logits() {
    let gpu = common::gpu();
    let (b, t) = (3, 4);
    for cfg in [vgg(), vgg_avg(0.0)] {
        let nr = neurons(&cfg, 1.0);
        // Exact case: vth powers of two, beta dyadic.
        let mut exact = nr.clone();
        for (i, n) in exact.iter_mut().enumerate() {
            (n.vth, n.beta) = if i % 2 == 0 { (0.5, 1.5) } else { (2.0, 0.75) };
        }
        // Generic case: Algorithm-1-like constants.
        let mut generic = nr.clone();
        for (i, n) in generic.iter_mut().enumerate() {
            (n.vth, n.beta) = (0.9137 + 0.31 * i as f32, 1.27 - 0.13 * i as f32);
        }
        for (case, nrs, tol) in [("exact", exact, 0.0f32), ("generic", generic, 2e-5)] {
            let cpu = CpuSnn::new(&cfg, &nrs, t, Surrogate::Boxcar).unwrap();
            // Redraw until every membrane keeps 1e-4 from its threshold, far
            // beyond the rounding of the folded weights.
            let (p, x, f) = (3u64..)
                .find_map(|seed| {
                    let mut r = Rng::new(seed);
                    let p = params(&cfg, &nrs, &mut r);
                    let x = image(&mut r, &cfg, b);
                    let f = cpu.forward(&p, &x, b, None).unwrap();
                    let margin = f
                        .traces
                        .iter()
                        .zip(&nrs)
                        .flat_map(|(tr, n)| tr.iter().map(move |u| (u - n.vth).abs()))
                        .fold(f32::MAX, f32::min);
                    (margin > 1e-4).then_some((p, x, f))
                })
                .unwrap();
            let (fp, fnr) = fold_spike_heights(&cfg, &p, &nrs).unwrap();
            let a = gpu_infer(gpu, &cfg, &nrs, &p, &x, b, t);
            let z = gpu_infer(gpu, &cfg, &fnr, &fp, &x, b, t);
            let what = format!("{} {case}", cfg.name);
            assert_eq!(a.counts, z.counts, "{what}: spike counts");
            assert!(a.counts.iter().all(|&c| c > 0), "{what}: {:?}", a.counts);
            assert_close(&format!("{what}: folded logits"), &z.logits, &a.logits, tol, tol);
            assert_close(&format!("{what}: CPU logits"), &a.logits, &f.logits, 1e-5, 1e-5);
            println!(
                "{what}: spikes {:?}, logits {:?} vs folded {:?}",
                a.counts,
                &a.logits[..3],
                &z.logits[..3]
            );
        }
    }
    let res = resnet(false, 0.0);
    let nr = neurons(&res, 1.0);
    let e = fold_spike_heights(&res, &params(&res, &nr, &mut Rng::new(1)), &nr);
    assert!(e.is_err(), "a block model cannot be folded");
}

/// A residual block fed by the analog image (no IF before it).
#[test]
fn block_on_analog_input_is_refused() {
    let cfg = model(
        "block-first",
        [2, 4, 4],
        vec![
            Block {
                out: 2,
                stride: 1,
                dropout: 0.0,
            },
            Flatten,
            Linear { out: 3, bias: true },
        ],
    );
    let nr = neurons(&cfg, 1.0);
    assert!(CpuSnn::new(&cfg, &nr, 2, Surrogate::Boxcar)
        .unwrap()
        .forward(&params(&cfg, &nr, &mut Rng::new(1)), &[0.0; 64], 2, None)
        .is_err());
    for train in [false, true] {
        let r = SnnNet::new(
            common::gpu(),
            &cfg,
            &nr,
            SnnOptions {
                train,
                ..SnnOptions::inference(2, 2)
            },
        );
        let e = r
            .err()
            .unwrap_or_else(|| panic!("train={train}: built a block on the analog input"));
        assert!(matches!(e, ultraspike::Error::Config(_)), "train={train}: {e}");
    }
}
