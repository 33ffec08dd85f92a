//! The page's scenario through the pipeline core, natively: load data, train,
//! calibrate, convert, sweep two points, fine-tune, evaluate, retrain; with the
//! metadata rules (epochs and histories add up across runs, a new DNN drops
//! its calibration and the SNN converted from it) and the regressions the two
//! faces used to disagree on. tests/e2e drives the same scenario in the page.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::checkpoint::Checkpoint;
use ultraspike::convert::{convert, ConversionMethod, NeuronParams};
use ultraspike::cpu::loss::softmax_xent;
use ultraspike::cpu::snn::CpuSnn;
use ultraspike::data::Dataset;
use ultraspike::models::config::ModelConfig;
use ultraspike::models::params::ParamKind;
use ultraspike::pipeline::{DataSource, FinetuneOptions, LoadedModel, Pipeline, SnnOrigin, TrainOptions, TrainStart};
use ultraspike::spec::Surrogate;

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(common::new_gpu());
    p.load_data(DataSource::Synthetic, Some(512), Some(128)).unwrap();
    p
}

fn train_options(epochs: usize, seed: u64) -> TrainOptions {
    TrainOptions {
        model: "vgg-tiny".into(),
        epochs,
        batch: 32,
        seed,
        ..TrainOptions::default()
    }
}

fn finetune_options(epochs: usize) -> FinetuneOptions {
    FinetuneOptions {
        epochs,
        batch: 32,
        train_subset: Some(128),
        ..FinetuneOptions::default()
    }
}

/// Drive a run step-wise, as the page does (a few batches per call).
fn train(p: &mut Pipeline) {
    while !pollster::block_on(p.train_steps(5)).unwrap().done {}
}

fn finetune(p: &mut Pipeline) {
    while !pollster::block_on(p.finetune_steps(3)).unwrap().done {}
}

fn calibrate(p: &mut Pipeline) -> Vec<f32> {
    let mut c = pollster::block_on(p.start_calibration(2, 64)).unwrap();
    assert_eq!((c.done, c.total), (0, 4), "two passes over two batches");
    while c.layers.is_none() {
        c = pollster::block_on(p.calibration_steps(1)).unwrap();
    }
    c.layers.unwrap().iter().map(|l| l.max).collect()
}

/// Test images an SNN classifies correctly, on the CPU reference (`cpu::snn`: no GPU code, f64
/// sums): weights and biases from `ck` by name, each spiking layer's vth and leak from `neurons`,
/// at `t` steps.
fn cpu_correct(
    model: &ModelConfig,
    ck: &Checkpoint,
    neurons: &[NeuronParams],
    t: usize,
    out_scale: f32,
    test: &Dataset,
) -> usize {
    let mut snn = CpuSnn::new(model, neurons, t, Surrogate::Boxcar).unwrap();
    snn.out_scale = out_scale;
    let mut layer = 0;
    let mut params = Vec::new();
    for s in &snn.specs {
        params.push(match s.kind {
            ParamKind::Vth => vec![neurons[layer].vth],
            ParamKind::Leak => {
                layer += 1;
                vec![neurons[layer - 1].leak]
            }
            _ => ck.get(&s.name, &s.shape).unwrap().to_vec(),
        });
    }
    let mut x = vec![0.0; test.n * test.image_len()];
    for (i, image) in x.chunks_mut(test.image_len()).enumerate() {
        test.normalized_into(i, image);
    }
    let logits = snn.forward(&params, &x, test.n, None).unwrap().logits;
    let labels: Vec<u32> = test.labels.iter().map(|&y| y as u32).collect();
    softmax_xent(test.n, model.classes, test.n, &logits, &labels).correct as usize
}

/// A GPU accuracy on `test` against the CPU reference's count of correct images. One image of
/// slack: the GPU sums in its own f32 order, so a membrane within an ulp of V_th may spike on one
/// side only, and where that decides a close image's class the two differ by one (lavapipe and the
/// CPU agree exactly on this scenario; a wrong method, T or neuron constant misses by far more).
fn assert_agrees(what: &str, gpu: f32, cpu_correct: usize, test: &Dataset) {
    let gpu_correct = (gpu as f64 * test.n as f64).round() as usize;
    assert!(
        gpu_correct.abs_diff(cpu_correct) <= 1,
        "{what}: the GPU classifies {gpu_correct} of {} test images correctly, the CPU reference {cpu_correct}",
        test.n
    );
}

#[test]
fn the_pages_scenario_keeps_the_metadata_rules() {
    let mut p = pipeline();
    // Train: a snapshot per epoch, its history as long as its epochs.
    p.start_training(&train_options(2, 1), TrainStart::Fresh).unwrap();
    train(&mut p);
    let dnn = p.saved_dnn().unwrap().meta.clone();
    assert_eq!((dnn.epoch, dnn.history.len()), (2, 2));
    let ev = pollster::block_on(p.evaluate_dnn(100)).unwrap();
    assert_eq!(ev.accuracy, dnn.history[1].test_acc, "the snapshot is the trained net");

    // Calibrate, convert, sweep two points.
    let first_maxima = calibrate(&mut p);
    let conv = pollster::block_on(p.convert(ConversionMethod::AlphaBeta, 2, 100)).unwrap();
    assert_eq!(
        (conv.t, conv.layers.len(), conv.meta.finetune_epochs),
        (2, first_maxima.len(), 0)
    );
    assert_eq!(conv.meta.dataset, dnn.dataset);
    // Each sweep point's accuracy is that of the same conversion run on the CPU reference.
    let test = p.data().unwrap().test.clone();
    for (m, t) in [(ConversionMethod::Deng, 1), (ConversionMethod::MaxNorm, 3)] {
        let point = pollster::block_on(p.sweep_point(m, t, 100)).unwrap();
        let neurons = convert(m, p.layer_stats().unwrap(), t).unwrap();
        let cpu = cpu_correct(&dnn.model, &p.saved_dnn().unwrap().ck, &neurons, t, 1.0, &test);
        assert_eq!(point.t, t);
        assert_agrees(&format!("sweep point {m:?} at T={t}"), point.accuracy, cpu, &test);
    }
    assert_eq!(
        p.walkthrough(0).unwrap().t,
        2,
        "the walkthrough follows the last conversion's T"
    );

    // Fine-tune twice: epochs and history add up (the page used to keep the max).
    for (run, want) in [(1, 1), (2, 3)] {
        let info = p.start_finetune(&finetune_options(run)).unwrap();
        assert_eq!((info.t, info.images), (2, 128));
        finetune(&mut p);
        let meta = &pollster::block_on(p.snn_snapshot()).unwrap().meta;
        assert_eq!((meta.finetune_epochs, meta.history.len()), (want, want));
    }
    let report = pollster::block_on(p.evaluate_snn(None, 100)).unwrap();
    assert_eq!(
        (report.t, report.finetune_epochs, report.evaluation.images),
        (2, 3, 128)
    );
    // Accuracy at another T: the fine-tuned SNN (its vth and leak moved) on the CPU reference at
    // T = 4, and far above chance (1/4): fine-tuned at T = 2 it classifies ~99 % of this easy set.
    let at4 = pollster::block_on(p.snn_accuracy_at(4, 100)).unwrap();
    let snn = pollster::block_on(p.snn_snapshot()).unwrap().clone();
    let cpu = cpu_correct(
        &snn.meta.model,
        &snn.ck,
        &snn.meta.neurons,
        4,
        snn.meta.out_scale,
        &test,
    );
    assert_agrees("the fine-tuned SNN at T=4", at4, cpu, &test);
    assert!(at4 > 0.75, "the fine-tuned SNN at T=4: accuracy {at4}");

    // Retrain: the old DNN's calibration and the SNN converted from it go.
    p.start_training(&train_options(1, 2), TrainStart::Fresh).unwrap();
    assert!(
        p.saved_snn().is_none(),
        "the converted SNN derived from the replaced DNN"
    );
    let stale = pollster::block_on(p.sweep_point(ConversionMethod::AlphaBeta, 2, 100));
    assert!(
        stale.unwrap_err().to_string().contains("calibrate"),
        "a sweep must not use the old DNN's calibration"
    );
    train(&mut p);
    assert!(p.walkthrough(0).is_err());
    let new_maxima = calibrate(&mut p);
    assert_ne!(first_maxima, new_maxima, "the new calibration measures the new weights");
    assert_eq!(
        p.saved_dnn().unwrap().meta.history.len(),
        1,
        "a fresh run starts a fresh history"
    );
}

#[test]
fn resume_appends_and_a_loaded_snn_counts_its_earlier_epochs() {
    let mut p = pipeline();
    p.start_training(&train_options(1, 5), TrainStart::Fresh).unwrap();
    train(&mut p);
    let bytes = pollster::block_on(p.dnn_snapshot()).unwrap().to_bytes().unwrap();

    // Resume to 2 epochs from the file: the history carries the first epoch.
    let mut q = pipeline();
    q.load_checkpoint(Checkpoint::from_bytes(&bytes).unwrap()).unwrap();
    let info = q.start_training(&train_options(2, 5), TrainStart::Resume).unwrap();
    assert_eq!(info.epoch, 1);
    train(&mut q);
    let meta = &q.saved_dnn().unwrap().meta;
    assert_eq!((meta.epoch, meta.history.len()), (2, 2));
    let (carried, first) = (&meta.history[0], &p.saved_dnn().unwrap().meta.history[0]);
    assert_eq!(
        (carried.epoch, carried.train_loss, carried.test_acc),
        (first.epoch, first.train_loss, first.test_acc)
    );

    // An SNN file that says 3 fine-tuning epochs, tuned 1 more, says 4 (CLI and page alike).
    pollster::block_on(q.calibrate(2, 64, |_| {})).unwrap();
    pollster::block_on(q.convert(ConversionMethod::AlphaBetaMse, 2, 64)).unwrap();
    let mut snn = pollster::block_on(q.snn_snapshot()).unwrap().clone();
    snn.meta.finetune_epochs = 3;
    snn.ck.metadata = serde_json::to_value(&snn.meta).unwrap();
    let loaded = q
        .load_checkpoint(Checkpoint::from_bytes(&snn.to_bytes().unwrap()).unwrap())
        .unwrap();
    assert!(matches!(loaded, LoadedModel::Snn { finetune_epochs: 3, .. }));
    q.start_finetune(&finetune_options(1)).unwrap();
    finetune(&mut q);
    assert_eq!(pollster::block_on(q.snn_snapshot()).unwrap().meta.finetune_epochs, 4);

    // A loaded SNN does not derive from the DNN: a new DNN leaves it alone.
    q.start_training(&train_options(1, 6), TrainStart::Fresh).unwrap();
    assert_eq!(q.state().snn.map(|s| s.origin), Some(SnnOrigin::Loaded));
}

#[test]
fn new_data_drops_the_calibration_and_bad_options_are_refused() {
    let mut p = pipeline();
    p.start_training(&train_options(1, 7), TrainStart::Fresh).unwrap();
    train(&mut p);
    calibrate(&mut p);
    assert!(p.state().calibrated);
    p.load_data(DataSource::Synthetic, Some(256), Some(64)).unwrap();
    assert!(
        !p.state().calibrated,
        "statistics of the old data must not convert on the new"
    );
    assert!(p.saved_dnn().is_some(), "the DNN itself stays");

    for bad in [
        TrainOptions {
            lr: f32::NAN,
            ..train_options(1, 0)
        },
        TrainOptions {
            epochs: 0,
            ..train_options(1, 0)
        },
        TrainOptions {
            lr_gamma: 0.0,
            ..train_options(1, 0)
        },
    ] {
        assert!(p.start_training(&bad, TrainStart::Fresh).is_err());
    }
    assert!(p.saved_dnn().is_some(), "a refused start leaves the DNN alone");
    pollster::block_on(p.calibrate(2, 64, |_| {})).unwrap();
    let err = pollster::block_on(p.convert(ConversionMethod::Deng, 100_000, 64)).unwrap_err();
    assert!(err.to_string().contains("time steps"), "{err}");
}

#[test]
fn a_cancel_request_stops_step_wise_work_before_the_next_batch() {
    let mut p = pipeline();
    p.start_training(&train_options(2, 1), TrainStart::Fresh).unwrap();
    let first = pollster::block_on(p.train_steps(2)).unwrap();
    let cancel = p.cancel_handle();
    cancel.request();
    let err = pollster::block_on(p.train_steps(100)).unwrap_err();
    assert!(matches!(err, ultraspike::Error::Cancelled), "{err}");
    assert_eq!(
        p.training_progress().unwrap().batch,
        first.batch,
        "no batch ran after the request"
    );
    // The request is consumed: the run goes on from where it stopped.
    let next = pollster::block_on(p.train_steps(1)).unwrap();
    assert_eq!(next.batch, first.batch + 1);
    while !pollster::block_on(p.train_steps(8)).unwrap().done {}

    // Calibration and fine-tuning honour it the same way.
    let c = pollster::block_on(p.start_calibration(2, 64)).unwrap();
    cancel.request();
    assert!(matches!(
        pollster::block_on(p.calibration_steps(4)),
        Err(ultraspike::Error::Cancelled)
    ));
    let resumed = pollster::block_on(p.calibration_steps(1)).unwrap();
    assert_eq!((c.done, resumed.done), (0, 1));
    while pollster::block_on(p.calibration_steps(4)).unwrap().layers.is_none() {}
    pollster::block_on(p.convert(ConversionMethod::AlphaBeta, 2, 100)).unwrap();
    p.start_finetune(&finetune_options(1)).unwrap();
    cancel.request();
    assert!(matches!(
        pollster::block_on(p.finetune_steps(4)),
        Err(ultraspike::Error::Cancelled)
    ));
    finetune(&mut p);
    assert_eq!(
        p.saved_snn().unwrap().meta.finetune_epochs,
        1,
        "the cancelled run finished afterwards"
    );
}
