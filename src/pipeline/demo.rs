//! The quick demo sized to the device. A face trains each of `DEMO_MODELS` for a
//! few batches and reports how long the first batch took (building a network:
//! its pipelines, buffers and first upload) and the following ones (steady state);
//! `plan_quick_demo` turns that into the demo's model, data, epochs and sizes so
//! that the whole demo (training, calibration, conversion, the 28-point sweep,
//! fine-tuning and the evaluations) fits a time budget where the device allows
//! it, and says what it chose and why. A real GPU gets the bigger model on the
//! whole training set for a few epochs; a CPU adapter gets the smallest demo
//! (which still finishes, past the budget, and says so).
//!
//! The cost model, in training-image equivalents (one image through forward,
//! backward and update of the chosen model):
//! - training: epochs x training images;
//! - every test-set pass of the demo: a forward image-step costs about half a
//!   training image, and a test image goes through ~127 of them (the per-epoch
//!   evaluations, the DNN's, the conversion's at T=2, 7 methods at T = 1, 2, 4, 8
//!   in the sweep, the fine-tuned SNN's at T=2 and at the 4 T's, the final one);
//! - fine-tuning: BPTT over T=2 is about two training images per image;
//! - calibration: two forward passes over 100 images per batch;
//! - and `NETWORKS_BUILT` networks built after training, each costing what the
//!   probe's first batch cost beyond a steady one.

use serde::{Deserialize, Serialize};

use super::{no_data, Pipeline};
use crate::data::DatasetKind;
use crate::error::{Error, Result};

/// The demo's time budget (seconds) unless the face asks for another.
pub const DEMO_BUDGET_S: f64 = 60.0;
/// The models the demo chooses from, the bigger first; a face probes both (a tiny
/// model's rate does not follow its multiply-adds: per-dispatch costs dominate it).
pub const DEMO_MODELS: [&str; 2] = ["vgg-small", "vgg-tiny"];
/// Networks the demo builds after training (see the module header).
const NETWORKS_BUILT: f64 = 38.0;
const TEST_WORK_PER_IMAGE: f64 = 64.0;
const FINETUNE_WORK_PER_IMAGE: f64 = 2.0;
const CALIB_WORK_PER_BATCH: f64 = 100.0;
/// Shares of the compute time left after building the networks.
const SHARES: (f64, f64, f64, f64) = (0.55, 0.35, 0.07, 0.03); // train, test, fine-tune, calibration
/// The smallest demo (what the quick demo was before it was sized), and the caps.
const MIN_TRAIN: usize = 1500;
const MIN_TEST: usize = 200;
const MIN_FINETUNE: usize = 400;
const MAX_FINETUNE: usize = 10_000;
const MAX_EPOCHS: usize = 3;
const CALIB_BATCHES: (usize, usize) = (4, 10);

/// A trained model a face ships for a dataset (the page serves it as `models/<file>`), made by
/// scripts/train-bundled.sh and checked by tests/bundled_models.rs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BundledModel {
    pub dataset: DatasetKind,
    pub file: &'static str,
    /// Its built-in architecture and QCFS levels.
    pub model: &'static str,
    pub qcfs: u32,
    /// The conversion that keeps its accuracy at T = 2.
    pub method: &'static str,
}

pub const BUNDLED_MODELS: [BundledModel; 2] = [
    BundledModel {
        dataset: DatasetKind::Mnist,
        file: "mnist.safetensors",
        model: "vgg-small-avg",
        qcfs: 4,
        method: "qcfs",
    },
    BundledModel {
        dataset: DatasetKind::FashionMnist,
        file: "fashion-mnist.safetensors",
        model: "vgg-small-avg",
        qcfs: 4,
        method: "qcfs+bias",
    },
];

/// The learning rate of a demo that fine-tunes a bundled model (it was trained down to 8e-5).
const BUNDLED_FINETUNE_LR: f32 = 5e-4;

/// Where the demo's DNN starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DemoStart {
    /// The paper's init: the demo trains its model from scratch.
    Fresh,
    /// The bundled model of the dataset, fine-tuned on what the budget allows.
    Bundled,
}

/// What a face measured while training one of `DEMO_MODELS` for a few batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoProbe {
    pub model: String,
    pub batch: usize,
    /// Seconds of the first batch (it builds the network).
    pub first_batch_s: f64,
    /// Mean seconds of the batches after it.
    pub batch_s: f64,
}

/// What the quick demo runs, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DemoPlan {
    pub start: DemoStart,
    /// With `Bundled`: the file to start from (`BundledModel::file`).
    pub bundled_file: Option<String>,
    pub model: String,
    /// QCFS levels to train with (the bundled model's), else the form's activation.
    pub qcfs: Option<u32>,
    /// The learning rate (a bundled model's fine-tuning), else the form's.
    pub lr: Option<f32>,
    /// The conversion method (a bundled model's), else the form's.
    pub method: Option<String>,
    pub batch: usize,
    pub train_images: usize,
    pub epochs: usize,
    pub test_images: usize,
    pub calib_batches: usize,
    pub finetune_images: usize,
    /// Training images per second of the chosen model (measured, or scaled from the probe).
    pub images_per_s: f64,
    pub estimated_seconds: f64,
    pub budget_seconds: f64,
    pub reason: String,
}

impl Pipeline {
    /// Size the quick demo for this device from one probe of each of
    /// `DEMO_MODELS` (any order), for the loaded data.
    /// A device too slow for the bigger model to see the training set once starts from the
    /// dataset's bundled model when there is one (`BUNDLED_MODELS`) and fine-tunes it on what the
    /// budget allows, instead of training the smaller model from scratch: a converted SNN near
    /// the bundled model's accuracy (MNIST: 98.9 % at T = 2) instead of the smaller model's ~90 %.
    pub fn plan_quick_demo(&self, probes: &[DemoProbe], budget_s: f64) -> Result<DemoPlan> {
        let data = self.data.as_ref().ok_or_else(no_data)?;
        let bundled = BUNDLED_MODELS.iter().find(|b| b.dataset == data.train.kind);
        plan_with_bundled(demo_probes(probes)?, budget_s, data.train.n, data.test.n, bundled)
    }
}

/// `plan`, or, when it falls back to the smaller model and `bundled` is given, the bigger
/// model's sizes spent fine-tuning the bundled model (same architecture size as `DEMO_MODELS[0]`).
fn plan_with_bundled(
    probes: [&DemoProbe; 2],
    budget_s: f64,
    train_n: usize,
    test_n: usize,
    bundled: Option<&BundledModel>,
) -> Result<DemoPlan> {
    let fresh = plan(probes, budget_s, train_n, test_n)?;
    let Some(b) = bundled.filter(|_| fresh.model != probes[0].model) else {
        return Ok(fresh);
    };
    let mut p = plan([probes[0], probes[0]], budget_s, train_n, test_n)?;
    p.start = DemoStart::Bundled;
    p.bundled_file = Some(b.file.into());
    p.model = b.model.into();
    p.qcfs = Some(b.qcfs);
    p.lr = Some(BUNDLED_FINETUNE_LR);
    p.method = Some(b.method.into());
    p.reason = reason(&p, probes, Costs::of(probes[0], budget_s).build_s);
    Ok(p)
}

/// The probes of `DEMO_MODELS[0]` and `[1]`, in that order.
fn demo_probes(probes: &[DemoProbe]) -> Result<[&DemoProbe; 2]> {
    let find = |name: &str| {
        probes.iter().find(|p| p.model == name).ok_or_else(|| {
            Error::InvalidOption(format!(
                "demo plan: no probe of `{name}` (it needs one of each of {DEMO_MODELS:?})"
            ))
        })
    };
    Ok([find(DEMO_MODELS[0])?, find(DEMO_MODELS[1])?])
}

/// The plan from the probes of the bigger and the smaller model.
fn plan(probes: [&DemoProbe; 2], budget_s: f64, train_n: usize, test_n: usize) -> Result<DemoPlan> {
    for p in probes {
        check_probe(p, budget_s)?;
    }
    if train_n == 0 || test_n == 0 {
        return Err(Error::MissingStep(
            "demo plan: load a dataset with training and test images first".into(),
        ));
    }
    // The bigger model when it can see the whole training set once in its share; else the smaller.
    let pick = usize::from(Costs::of(probes[0], budget_s).work(SHARES.0) < train_n as f64);
    let probe = probes[pick];
    let costs = Costs::of(probe, budget_s);
    let train_work = costs.work(SHARES.0);
    let (train_images, epochs) = if train_work >= train_n as f64 {
        (train_n, ((train_work / train_n as f64) as usize).clamp(1, MAX_EPOCHS))
    } else {
        ((train_work as usize).clamp(MIN_TRAIN.min(train_n), train_n), 1)
    };
    let test_images = ((costs.work(SHARES.1) / TEST_WORK_PER_IMAGE) as usize).clamp(MIN_TEST.min(test_n), test_n);
    let finetune_images = ((costs.work(SHARES.2) / FINETUNE_WORK_PER_IMAGE) as usize)
        .clamp(MIN_FINETUNE.min(train_images), MAX_FINETUNE.min(train_images));
    let calib_batches =
        ((costs.work(SHARES.3) / CALIB_WORK_PER_BATCH) as usize).clamp(CALIB_BATCHES.0, CALIB_BATCHES.1);
    let image_work = (epochs * train_images) as f64
        + TEST_WORK_PER_IMAGE * test_images as f64
        + FINETUNE_WORK_PER_IMAGE * finetune_images as f64
        + CALIB_WORK_PER_BATCH * calib_batches as f64;
    let mut plan = DemoPlan {
        start: DemoStart::Fresh,
        bundled_file: None,
        model: probe.model.clone(),
        qcfs: None,
        lr: None,
        method: None,
        batch: probe.batch,
        train_images,
        epochs,
        test_images,
        calib_batches,
        finetune_images,
        images_per_s: costs.rate,
        estimated_seconds: image_work / costs.rate + NETWORKS_BUILT * costs.build_s,
        budget_seconds: budget_s,
        reason: String::new(),
    };
    plan.reason = reason(&plan, probes, costs.build_s);
    Ok(plan)
}

/// One model's measured rate and network-building cost, and the compute time the budget leaves it.
struct Costs {
    rate: f64,
    build_s: f64,
    compute_s: f64,
}

impl Costs {
    fn of(p: &DemoProbe, budget_s: f64) -> Costs {
        let build_s = (p.first_batch_s - p.batch_s).max(0.0);
        Costs {
            rate: p.batch as f64 / p.batch_s,
            build_s,
            compute_s: (budget_s - NETWORKS_BUILT * build_s).max(0.0),
        }
    }

    /// Training-image equivalents that `share` of the compute time buys.
    fn work(&self, share: f64) -> f64 {
        share * self.compute_s * self.rate
    }
}

fn check_probe(probe: &DemoProbe, budget_s: f64) -> Result<()> {
    let bad = |what: &str, v: f64| Error::InvalidOption(format!("demo probe: {what} must be finite and > 0, got {v}"));
    if !(probe.batch_s.is_finite() && probe.batch_s > 0.0) {
        return Err(bad("batch_s", probe.batch_s));
    }
    if !(probe.first_batch_s.is_finite() && probe.first_batch_s > 0.0) {
        return Err(bad("first_batch_s", probe.first_batch_s));
    }
    if probe.batch == 0 {
        return Err(bad("batch", 0.0));
    }
    if !(budget_s.is_finite() && (5.0..=3600.0).contains(&budget_s)) {
        return Err(Error::InvalidOption(format!(
            "demo budget must be 5-3600 seconds, got {budget_s}"
        )));
    }
    Ok(())
}

fn reason(p: &DemoPlan, probes: [&DemoProbe; 2], build_s: f64) -> String {
    let rate = |q: &DemoProbe| q.batch as f64 / q.batch_s;
    let measured = format!(
        "measured here: {} trains {:.0} images/s, {} {:.0}; building a {} network costs ~{:.2} s",
        probes[0].model,
        rate(probes[0]),
        probes[1].model,
        rate(probes[1]),
        p.model,
        build_s
    );
    let model = if let Some(file) = &p.bundled_file {
        format!(
            "{} cannot see one epoch of the training set in its share of the budget, so the demo starts from the bundled {} ({file}: QCFS L = {}, trained by scripts/train-bundled.sh), fine-tunes it at lr {} and converts it with {}",
            probes[0].model,
            p.model,
            p.qcfs.unwrap_or(0),
            p.lr.unwrap_or(0.0),
            p.method.as_deref().unwrap_or("")
        )
    } else if p.model == probes[0].model {
        format!("{} sees the whole training set in its share of the budget", p.model)
    } else {
        format!(
            "{} cannot see one epoch of the training set in its share of the budget, so the demo trains {}",
            probes[0].model, p.model
        )
    };
    let fit = if p.estimated_seconds <= p.budget_seconds * 1.1 {
        format!(
            "about {:.0} s in all, within the {:.0} s budget",
            p.estimated_seconds, p.budget_seconds
        )
    } else {
        format!(
            "the smallest demo, and still about {:.0} s here, past the {:.0} s budget on this adapter",
            p.estimated_seconds, p.budget_seconds
        )
    };
    format!(
        "{measured}. {model}: {} images x {} epoch(s), {} test images, {} calibration batches, {} fine-tuning images; {fit}.",
        p.train_images, p.epochs, p.test_images, p.calib_batches, p.finetune_images
    )
}

#[cfg(test)]
#[path = "demo_tests.rs"]
mod tests;
