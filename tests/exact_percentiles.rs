//! The calibration's percentiles are exact: for every layer of a VGG and a ResNet
//! (residual adds included), each reported percentile is the k-th smallest of all the
//! calibration pre-activations, k = 1 + round(q/100 (n-1)), equal to a CPU sort of
//! the same values bit for bit (the old histogram could be off by a fraction of a bin).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::convert::stats::calibrate;
use ultraspike::cpu::select::percentile_rank;
use ultraspike::data::synthetic;
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::models::builtin;

#[test]
fn calibration_percentiles_are_the_sorted_values() {
    let gpu = common::gpu();
    let ds = synthetic(200, 1, 16, 16, 4, 3).unwrap();
    for (cfg, batch) in [
        (builtin("vgg-tiny", [1, 16, 16], 4).unwrap(), 50),
        (common::snn::resnet(true, 0.0), 40),
    ] {
        let ds = if cfg.input == [1, 16, 16] {
            ds.clone()
        } else {
            let [c, h, w] = cfg.input;
            synthetic(200, c, h, w, 3, 4).unwrap()
        };
        let batches = 3;
        let net = DnnNet::new(gpu, &cfg, batch, 7, SgdConfig::default()).unwrap();
        let stats = pollster::block_on(calibrate(gpu, net, &ds, batches)).unwrap();
        // The same weights (same seed), the same batches, every pre-activation read back.
        let net = DnnNet::new(gpu, &cfg, batch, 7, SgdConfig::default()).unwrap();
        let img = net.image_len();
        let mut values = vec![Vec::new(); stats.len()];
        let mut x = vec![0.0; batch * img];
        for b in 0..batches {
            for i in 0..batch {
                ds.normalized_into(b * batch + i, &mut x[i * img..(i + 1) * img]);
            }
            net.forward(gpu, &x, batch).unwrap();
            for (v, t) in values.iter_mut().zip(&net.pre_acts) {
                v.extend(pollster::block_on(gpu.read(t)).unwrap());
            }
        }
        for (s, mut v) in stats.into_iter().zip(values) {
            v.sort_by(f32::total_cmp);
            let n = v.len() as u64;
            assert_eq!(s.count, n, "{}", s.name);
            assert_eq!(s.percentile_error, 0.0);
            let qs = (1..=99).map(f64::from).chain([99.9, 99.99]);
            let got = s.percentiles.iter().chain([&s.p99_9, &s.p99_99]);
            for (q, &g) in qs.zip(got) {
                let want = v[percentile_rank(q, n) as usize - 1] as f64;
                assert_eq!(g, want, "{} ({} values): percentile {q}", s.name, n);
            }
            println!(
                "{}: {n} values, p1 {} p50 {} p99.99 {}",
                s.name, s.percentiles[0], s.percentiles[49], s.p99_99
            );
        }
    }
}
