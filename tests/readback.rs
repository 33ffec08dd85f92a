//! Batched readback: `read_many` returns every tensor exactly, with one map
//! (one GPU sync, one yield to the page in the browser) however many tensors
//! it reads; over a size cap it splits into chunks, and a lost device is still
//! reported as lost.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::gpu::context::plan_chunks;
use ultraspike::gpu::{Gpu, GpuOptions, Tensor};
use ultraspike::Error;

/// A device of its own, so that map counts are not shared with other tests.
fn own_gpu() -> Gpu {
    let opts = GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    };
    Gpu::new_blocking(&opts).unwrap()
}

/// Lengths 1, odd, a multiple of 4, empty, and large; values tell tensors apart.
fn sample(gpu: &Gpu) -> (Vec<Tensor>, Vec<Vec<f32>>) {
    let lens = [1usize, 7, 256, 1, 0, 1023, 3, 40_001];
    let mut tensors = Vec::new();
    let mut values = Vec::new();
    for (i, &n) in lens.iter().enumerate() {
        let v: Vec<f32> = (0..n).map(|j| i as f32 * 1000.0 + j as f32 * 0.5 - 3.0).collect();
        tensors.push(gpu.tensor_from(&format!("t{i}"), &[n], &v).unwrap());
        values.push(v);
    }
    (tensors, values)
}

#[test]
fn read_many_returns_every_tensor_exactly_with_one_map() {
    let gpu = own_gpu();
    let (tensors, want) = sample(&gpu);
    let refs: Vec<&Tensor> = tensors.iter().collect();
    let before = gpu.maps();
    let got = pollster::block_on(gpu.read_many(&refs)).unwrap();
    assert_eq!(gpu.maps() - before, 1, "one map for {} tensors", refs.len());
    assert_eq!(got, want);
    // The same as reading them one by one.
    for (t, w) in tensors.iter().zip(&want) {
        assert_eq!(&pollster::block_on(gpu.read(t)).unwrap(), w, "{}", t.label);
    }
}

#[test]
fn read_many_u32_returns_the_bits() {
    let gpu = common::gpu();
    let a = gpu.tensor_from_u32("a", &[1], &[u32::MAX]).unwrap();
    let b = gpu.tensor_from_u32("b", &[5], &[0, 1, 2, 3, 0x8000_0001]).unwrap();
    let got = pollster::block_on(gpu.read_many_u32(&[&a, &b])).unwrap();
    assert_eq!(got, vec![vec![u32::MAX], vec![0, 1, 2, 3, 0x8000_0001]]);
}

#[test]
fn an_empty_list_reads_nothing() {
    let gpu = own_gpu();
    let before = gpu.maps();
    assert!(pollster::block_on(gpu.read_many(&[])).unwrap().is_empty());
    assert!(pollster::block_on(gpu.read_many_u32(&[])).unwrap().is_empty());
    // Only empty tensors: nothing to copy, nothing to map.
    let e = gpu.tensor("e", &[0]).unwrap();
    assert_eq!(
        pollster::block_on(gpu.read_many(&[&e, &e])).unwrap(),
        vec![Vec::<f32>::new(); 2]
    );
    assert_eq!(gpu.maps(), before, "no map without bytes to read");
}

#[test]
fn chunks_stay_under_the_cap_in_order() {
    assert!(plan_chunks([], 8).is_empty());
    assert_eq!(plan_chunks([4, 4, 8, 100, 0, 4], 8), vec![0..2, 2..3, 3..4, 4..6]);
    assert_eq!(plan_chunks([4, 4, 4], 1 << 20), vec![0..3]);
    assert_eq!(plan_chunks([0, 0], 0), vec![0..2]);
}

#[test]
fn a_capped_read_splits_into_chunks_and_gives_the_same_values() {
    let gpu = own_gpu();
    let (tensors, want) = sample(&gpu);
    let refs: Vec<&Tensor> = tensors.iter().collect();
    for cap in [4u64, 64, 4096, 1 << 20] {
        let chunks = plan_chunks(refs.iter().map(|t| t.bytes()), cap).len() as u64;
        let before = gpu.maps();
        let got = pollster::block_on(gpu.read_many_chunked(&refs, cap)).unwrap();
        assert_eq!(got, want, "cap {cap}");
        assert_eq!(gpu.maps() - before, chunks, "cap {cap}: one map per chunk");
    }
}

#[test]
fn unaligned_ranges_are_refused() {
    let gpu = common::gpu();
    let t = gpu.tensor("t", &[4]).unwrap();
    for (offset, bytes) in [(2, 4), (0, 6)] {
        let r = t.read_range(offset, bytes);
        let e = pollster::block_on(gpu.read_bytes_many(&[r])).unwrap_err();
        assert!(
            matches!(e, Error::Readback(ref m) if m.contains("multiple of 4")),
            "{e}"
        );
    }
}

#[test]
fn a_lost_device_fails_a_batched_read_as_lost() {
    let gpu = own_gpu();
    let (tensors, _) = sample(&gpu);
    let refs: Vec<&Tensor> = tensors.iter().collect();
    gpu.device.destroy();
    let _ = gpu.wait();
    let r = pollster::block_on(gpu.read_many(&refs));
    assert!(
        matches!(r, Err(Error::DeviceLost(_))),
        "read_many on a destroyed device gave {r:?}"
    );
    let r = pollster::block_on(gpu.read_many(&[]));
    assert!(
        matches!(r, Err(Error::DeviceLost(_))),
        "even an empty read reports the loss: {r:?}"
    );
}

// ---- the exports and statistics that use it -----------------------------------

use ultraspike::checkpoint::Checkpoint;
use ultraspike::data::synthetic_split;
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::meta::{DnnMeta, SnnMeta};
use ultraspike::models::builtin;
use ultraspike::models::config::ModelConfig;
use ultraspike::snn::energy::CMOS_45NM;
use ultraspike::snn::eval::evaluate_snn;
use ultraspike::snn::{snn_param_specs, SnnNet, SnnOptions};
use ultraspike::spec::{ConversionMethod, NeuronParams};

fn tiny() -> ModelConfig {
    builtin("vgg-tiny", [1, 12, 12], 3).unwrap()
}

/// A DNN with its init weights and a non-zero momentum in every buffer.
fn dnn_with_momentum(gpu: &Gpu, model: &ModelConfig) -> DnnNet {
    let net = DnnNet::new(gpu, model, 1, 3, SgdConfig::default()).unwrap();
    for (i, p) in net.params.iter().enumerate() {
        let m: Vec<f32> = (0..p.value.len()).map(|j| ((i * 31 + j) as f32 * 0.37).sin()).collect();
        net.write_momentum(gpu, &p.spec.name, &m).unwrap();
    }
    net
}

/// An SNN with the DNN's weights and a different vth and leak in every layer.
fn snn_from(gpu: &Gpu, model: &ModelConfig, dnn: &DnnNet, batch: usize) -> SnnNet {
    let n = snn_param_specs(model)
        .unwrap()
        .iter()
        .filter(|s| s.name.ends_with(".vth"))
        .count();
    let neurons: Vec<NeuronParams> = (0..n)
        .map(|i| NeuronParams {
            vth: 0.5 + i as f32 * 0.1,
            beta: 1.0,
            shift: 0.01,
            alpha: 1.0,
            leak: 1.0,
            mu: 4.0,
            init: 0.0,
        })
        .collect();
    let snn = SnnNet::new(gpu, model, &neurons, SnnOptions::inference(batch, 3)).unwrap();
    let ck = pollster::block_on(dnn.to_checkpoint(gpu, &DnnMeta::new(model), false)).unwrap();
    snn.load_dnn_weights(gpu, &ck).unwrap();
    for (i, nr) in snn.neurons.iter().enumerate() {
        // Fine-tuning moves vth and leak on the GPU; the export must read them back.
        snn.write_param(gpu, &snn.params[nr.vth].spec.name, &[0.7 + i as f32 * 0.05])
            .unwrap();
        snn.write_param(gpu, &snn.params[nr.leak].spec.name, &[0.9 - i as f32 * 0.01])
            .unwrap();
    }
    snn
}

fn snn_meta(model: &ModelConfig, neurons: Vec<NeuronParams>) -> SnnMeta {
    SnnMeta {
        kind: "snn".into(),
        model: model.clone(),
        timesteps: 3,
        method: ConversionMethod::AlphaBeta,
        neurons,
        out_scale: 1.0,
        dataset: None,
        normalization: None,
        finetune_epochs: 0,
        adam_steps: 0,
        history: Vec::new(),
    }
}

/// The DNN export as it was before batching: one read per tensor.
fn dnn_export_tensor_by_tensor(gpu: &Gpu, net: &DnnNet, meta: &DnnMeta, optimizer: bool) -> Checkpoint {
    let mut ck = Checkpoint::new(serde_json::to_value(meta).unwrap());
    for p in net.params.iter().filter(|p| p.spec.trainable) {
        ck.insert(
            &p.spec.name,
            &p.spec.shape,
            pollster::block_on(gpu.read(&p.value)).unwrap(),
        )
        .unwrap();
        if optimizer {
            let m = pollster::block_on(gpu.read(&p.momentum)).unwrap();
            ck.insert(&format!("optimizer.{}.momentum_buffer", p.spec.name), &p.spec.shape, m)
                .unwrap();
        }
    }
    ck
}

/// The SNN export as it was before batching: vth and leak, then every tensor, one read each.
fn snn_export_tensor_by_tensor(gpu: &Gpu, net: &SnnNet, meta: &SnnMeta) -> Checkpoint {
    let read = |t: &Tensor| pollster::block_on(gpu.read(t)).unwrap();
    let mut meta = meta.clone();
    meta.neurons = net
        .neurons
        .iter()
        .map(|n| NeuronParams {
            vth: read(&net.params[n.vth].value)[0],
            leak: read(&net.params[n.leak].value)[0],
            ..n.params
        })
        .collect();
    meta.timesteps = net.opts.t;
    let mut ck = Checkpoint::new(serde_json::to_value(&meta).unwrap());
    for p in net.params.iter().filter(|p| p.spec.trainable) {
        ck.insert(&p.spec.name, &p.spec.shape, read(&p.value)).unwrap();
    }
    ck
}

#[test]
fn dnn_export_is_byte_identical_and_takes_one_map() {
    let gpu = own_gpu();
    // ResNet-20 has a parameter that is not saved (the bias-free classifier).
    for model in [tiny(), builtin("resnet20", [3, 32, 32], 10).unwrap()] {
        let net = dnn_with_momentum(&gpu, &model);
        let meta = DnnMeta::new(&model);
        for optimizer in [false, true] {
            let before = gpu.maps();
            let got = pollster::block_on(net.to_checkpoint(&gpu, &meta, optimizer)).unwrap();
            assert_eq!(
                gpu.maps() - before,
                1,
                "{}: one map (optimizer {optimizer})",
                model.name
            );
            let want = dnn_export_tensor_by_tensor(&gpu, &net, &meta, optimizer);
            assert!(
                got.to_bytes().unwrap() == want.to_bytes().unwrap(),
                "{}: bytes differ (optimizer {optimizer})",
                model.name
            );
        }
    }
}

#[test]
fn snn_export_and_neuron_params_are_byte_identical_and_take_one_map() {
    let gpu = own_gpu();
    let model = tiny();
    let snn = snn_from(&gpu, &model, &dnn_with_momentum(&gpu, &model), 1);
    let before = gpu.maps();
    let neurons = pollster::block_on(snn.neuron_params(&gpu)).unwrap();
    assert_eq!(
        gpu.maps() - before,
        1,
        "neuron_params: one map for {} layers",
        snn.neurons.len()
    );
    assert_eq!(neurons[1].vth, 0.75);
    assert_eq!(neurons[1].leak, 0.89);
    let meta = snn_meta(&model, Vec::new());
    let before = gpu.maps();
    let got = pollster::block_on(snn.to_checkpoint(&gpu, &meta)).unwrap();
    assert_eq!(gpu.maps() - before, 1, "SNN export: one map");
    assert_eq!(SnnMeta::from_checkpoint(&got).unwrap().neurons, neurons);
    let want = snn_export_tensor_by_tensor(&gpu, &snn, &meta);
    assert!(
        got.to_bytes().unwrap() == want.to_bytes().unwrap(),
        "SNN checkpoint bytes differ"
    );
}

#[test]
fn exports_refuse_a_non_finite_value_naming_tensor_and_index() {
    let gpu = common::gpu();
    let model = tiny();
    let dnn = dnn_with_momentum(gpu, &model);
    let snn = snn_from(gpu, &model, &dnn, 1);
    // The last saved tensor: the check runs over every tensor of the one read.
    let w = dnn.params.iter().rev().find(|p| p.spec.trainable).unwrap();
    let name = w.spec.name.clone();
    let mut bad = vec![0.5; w.value.len()];
    bad[w.value.len() - 1] = f32::INFINITY;
    dnn.write_param(gpu, &name, &bad).unwrap();
    let e = pollster::block_on(dnn.to_checkpoint(gpu, &DnnMeta::new(&model), true)).unwrap_err();
    let want = format!("{name}[{}] is inf - refusing to save it", bad.len() - 1);
    assert!(matches!(e, Error::Diverged(ref m) if *m == want), "{e}");
    let vth = snn.params[snn.neurons[0].vth].spec.name.clone();
    snn.write_param(gpu, &vth, &[f32::NAN]).unwrap();
    let e = pollster::block_on(snn.to_checkpoint(gpu, &snn_meta(&model, Vec::new()))).unwrap_err();
    assert!(
        matches!(e, Error::Diverged(ref m) if *m == format!("{vth}[0] is NaN - refusing to save it")),
        "{e}"
    );
}

#[test]
fn an_snn_evaluation_reads_its_spikes_once() {
    let gpu = own_gpu();
    let model = tiny();
    let split = synthetic_split(8, 10, 1, 12, 12, 3, 4).unwrap();
    let snn = snn_from(&gpu, &model, &dnn_with_momentum(&gpu, &model), 4);
    let (maps0, submits0) = (gpu.maps(), gpu.submits());
    let ev = pollster::block_on(evaluate_snn(&gpu, &snn, &split.test, Some(CMOS_45NM))).unwrap();
    // 10 images in batches of 4: the 3 batches are queued (one submission each, no readback);
    // one map reads their (loss, correct) from the inference log, one every layer's spikes.
    assert_eq!(gpu.maps() - maps0, 1 + 1, "SNN evaluation: maps");
    let counter_clear = 1;
    assert_eq!(
        gpu.submits() - submits0,
        counter_clear + 3 + 2,
        "SNN evaluation: submits (clear, 3 batches, 2 reads)"
    );
    // The queued statistics are the ones each batch gives read on its own, summed in order.
    let img = snn.image_len();
    let (mut loss, mut correct) = (0f64, 0f64);
    for start in (0..10).step_by(4) {
        let valid = (10 - start).min(4);
        let mut x = vec![0.0; 4 * img];
        let mut y = vec![0u32; 4];
        for i in 0..valid {
            split.test.normalized_into(start + i, &mut x[i * img..(i + 1) * img]);
            y[i] = split.test.labels[start + i] as u32;
        }
        let s = pollster::block_on(snn.eval_step(&gpu, &x, &y, valid, false)).unwrap();
        loss += s.loss_sum as f64;
        correct += s.correct as f64;
    }
    assert_eq!(ev.loss.to_bits(), ((loss / 10.0) as f32).to_bits(), "queued loss");
    assert_eq!(
        ev.accuracy.to_bits(),
        ((correct / 10.0) as f32).to_bits(),
        "queued accuracy"
    );
    // (The per-batch reads above counted spikes again: reset, and evaluate once more.)
    let ev = pollster::block_on(evaluate_snn(&gpu, &snn, &split.test, Some(CMOS_45NM))).unwrap();
    // The batched tally equals the per-tensor reads.
    let counts: Vec<u64> = snn
        .neurons
        .iter()
        .map(|n| pollster::block_on(gpu.read_u32(&n.count)).unwrap()[0] as u64)
        .collect();
    let maps: Vec<Vec<u32>> = snn
        .synapses
        .iter()
        .map(|s| pollster::block_on(gpu.read_u32(&s.map)).unwrap())
        .collect();
    assert!(counts.iter().all(|&c| c > 0), "every layer spikes: {counts:?}");
    assert_eq!(pollster::block_on(snn.spike_counts(&gpu)).unwrap(), counts);
    assert_eq!(pollster::block_on(snn.spike_maps(&gpu)).unwrap(), maps);
    assert_eq!(
        pollster::block_on(snn.read_spikes(&gpu, true)).unwrap(),
        (counts.clone(), maps)
    );
    assert_eq!(
        pollster::block_on(snn.read_spikes(&gpu, false)).unwrap(),
        (counts.clone(), Vec::new())
    );
    let per_image: Vec<f64> = ev.layers.iter().map(|l| l.spikes_per_image).collect();
    assert_eq!(per_image, counts.iter().map(|&c| c as f64 / 10.0).collect::<Vec<_>>());
}
