//! The spike view of one image (the page's spike maps and drawing pad) agrees
//! with the SNN it shows: the final scores are the logits, the spike counts per
//! step are the raster's, a neuron spikes exactly when its recomputed membrane
//! exceeds the threshold, and drawn pixels equal to a test image give that
//! image's maps.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::pipeline::SpikeInput;

#[test]
fn spike_maps_agree_with_the_snn_they_show() {
    let t = 3;
    let p = common::converted_pipeline(20, t);
    for index in [0, 7] {
        let maps = pollster::block_on(p.spike_maps(SpikeInput::Test(index), 1)).unwrap();
        let raster = pollster::block_on(p.raster(index, 8)).unwrap();
        assert_eq!((maps.t, maps.label, maps.scores.len()), (t, Some(raster.label), t));
        let last = maps.scores.last().unwrap();
        for (a, b) in last.iter().zip(&raster.logits) {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                "final scores {last:?} vs logits {:?}",
                raster.logits
            );
        }
        assert_eq!(maps.predicted, raster.predicted);
        assert_eq!(maps.layers.len(), raster.layers.len());
        for (l, r) in maps.layers.iter().zip(&raster.layers) {
            let per: usize = l.shape.iter().product();
            assert_eq!(per, r.neurons, "{}: shape {:?}", l.name, l.shape);
            let counts: Vec<usize> = l
                .spikes
                .chunks(per)
                .map(|s| s.iter().map(|&b| b as usize).sum())
                .collect();
            assert_eq!(counts, r.per_step, "{}: spikes per step", l.name);
            // The membrane (before reset) of the shown channel crosses V_th exactly where a spike is.
            let (first, n) = match l.shape.as_slice() {
                [c, h, w] => (1usize.min(c - 1) * h * w, h * w),
                _ => (1usize.min(per - 1), 1),
            };
            assert_eq!(l.membrane.len(), t * n, "{}", l.name);
            for s in 0..t {
                for i in 0..n {
                    let spiked = l.spikes[s * per + first + i] == 1;
                    let u = l.membrane[s * n + i];
                    assert_eq!(
                        spiked,
                        u > l.vth,
                        "{} step {s} neuron {i}: u {u} vs vth {}",
                        l.name,
                        l.vth
                    );
                    // The step table a click shows: the leaked membrane plus this step's current
                    // gives the membrane before the reset, and a spike takes V_th off it.
                    let prev = if s == 0 {
                        l.start
                    } else {
                        l.after_reset[(s - 1) * n + i]
                    };
                    let before = l.leak * prev + l.current[s * n + i];
                    assert!(
                        (before - u).abs() <= 1e-5 * (1.0 + u.abs()),
                        "{} step {s}: {before} vs {u}",
                        l.name
                    );
                    let after = if spiked { u - l.vth } else { u };
                    assert_eq!(l.after_reset[s * n + i], after, "{} step {s} neuron {i}", l.name);
                }
            }
        }
    }
    let ds_image = p.test_image(7).unwrap();
    let drawn = pollster::block_on(p.spike_maps(SpikeInput::Pixels(&ds_image.pixels), 1)).unwrap();
    let shown = pollster::block_on(p.spike_maps(SpikeInput::Test(7), 1)).unwrap();
    assert_eq!(
        (drawn.label, drawn.predicted, &drawn.layers),
        (None, shown.predicted, &shown.layers)
    );
    let err = pollster::block_on(p.spike_maps(SpikeInput::Pixels(&[0; 10]), 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("10 pixels given"), "{err}");
}
