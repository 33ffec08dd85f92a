//! NIR export (`ultraspike export --format nir`, `export::snn_to_nir`): SNN
//! checkpoints built here from metadata and random finite tensors (no GPU),
//! exported, and read back by the Python `nir` package (python/check_nir.py
//! compares every node, parameter and edge with the checkpoint); a max-pool
//! model is refused with the layer named; the HDF5 writer's file reads in h5py; the
//! pipeline (the page's path) exports the same bytes (this one test needs a GPU, lavapipe on CI).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use ultraspike::checkpoint::Checkpoint;
use ultraspike::cpu::snn::CpuSnn;
use ultraspike::export::hdf5::{write_file, Dataset, Group};
use ultraspike::meta::{DnnMeta, SnnMeta};
use ultraspike::models::builtin::builtin;
use ultraspike::models::config::{LayerSpec, LayerSpec::*, ModelConfig};
use ultraspike::models::params::{param_specs, snn_param_specs, ParamKind};
use ultraspike::pipeline::Pipeline;
use ultraspike::spec::{ConversionMethod, NeuronParams, Surrogate};
use ultraspike::util::rng::Rng;

/// A test's own temp folder, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ultraspike-nir-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn export_cli(ck: &Path, out: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(["export", "--format", "nir", "--ckpt"])
        .arg(ck)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn conv(out: usize, stride: usize, bias: bool) -> LayerSpec {
    Conv {
        out,
        k: 3,
        stride,
        pad: 1,
        bias,
    }
}

/// An SNN checkpoint of `model`: random weights, V_th in [0.5, 1.5], the
/// given leaks and input shifts per spiking layer (in order), beta in [0.5, 1];
/// with `qcfs`, every other layer starts at V_th / 2.
fn snn_checkpoint(model: &ModelConfig, leaks: &[f32], shifts: &[f32], method: ConversionMethod) -> Checkpoint {
    let mut rng = Rng::new(7);
    let specs = snn_param_specs(model).unwrap();
    let mut ck = Checkpoint::new(serde_json::Value::Null);
    let mut neurons = Vec::new();
    for s in specs.iter().filter(|s| s.trainable) {
        let n: usize = s.shape.iter().product();
        let data = match s.kind {
            ParamKind::Vth => vec![rng.range(0.5, 1.5)],
            ParamKind::Leak => vec![leaks[neurons.len() - 1]],
            _ => rng.vec_uniform(n, -1.0, 1.0),
        };
        if s.kind == ParamKind::Vth {
            let i = neurons.len();
            neurons.push(NeuronParams {
                vth: data[0],
                beta: rng.range(0.5, 1.0),
                shift: shifts[i],
                alpha: 1.0,
                leak: leaks[i],
                mu: 1.0,
                init: if method == ConversionMethod::Qcfs && i % 2 == 0 {
                    0.5
                } else {
                    0.0
                },
            });
        }
        ck.insert(&s.name, &s.shape, data).unwrap();
    }
    let meta = SnnMeta {
        kind: "snn".into(),
        model: model.clone(),
        timesteps: 4,
        method,
        neurons,
        out_scale: 1.25,
        dataset: None,
        normalization: None,
        finetune_epochs: 0,
        adam_steps: 0,
        history: vec![],
    };
    ck.metadata = serde_json::to_value(&meta).unwrap();
    SnnMeta::from_checkpoint(&ck).expect("the test checkpoint is valid");
    ck
}

/// conv - IF - avg-pool - conv (no bias) - LIF (Deng's shift) - flatten - linear - IF - linear (no bias).
fn avg_pool_model() -> ModelConfig {
    ModelConfig {
        name: "avg-net".into(),
        input: [2, 8, 8],
        classes: 3,
        layers: vec![
            conv(4, 1, true),
            Act { mu: 1.0 },
            Dropout { p: 0.1 },
            AvgPool { k: 2, stride: 2 },
            conv(5, 1, false),
            Act { mu: 1.0 },
            AvgPool { k: 2, stride: 2 },
            Flatten,
            Linear { out: 6, bias: true },
            Act { mu: 1.0 },
            Linear { out: 3, bias: false },
        ],
        act_levels: None,
    }
}

/// One random image and the CPU reference SNN's logits of it, as python/check_nir.py reads them.
fn reference_run(ck: &Checkpoint, path: &Path) {
    let meta = SnnMeta::from_checkpoint(ck).unwrap();
    let params: Vec<Vec<f32>> = snn_param_specs(&meta.model)
        .unwrap()
        .iter()
        .map(|s| match ck.tensors.get(&s.name) {
            Some(t) => t.data.clone(),
            None => vec![0.0; s.shape.iter().product()], // a bias the config turned off
        })
        .collect();
    let mut snn = CpuSnn::new(&meta.model, &meta.neurons, meta.timesteps, Surrogate::Boxcar).unwrap();
    snn.out_scale = meta.out_scale;
    let x = Rng::new(3).vec_uniform(meta.model.input.iter().product(), 0.0, 1.0);
    let logits = snn.forward(&params, &x, 1, None).unwrap().logits;
    let json = serde_json::json!({ "input": x, "logits": logits });
    std::fs::write(path, json.to_string()).unwrap();
}

/// python/check_nir.py: the nodes and edges against the checkpoint, and the graph run
/// against the CPU reference SNN.
fn check_with_python(nir: &Path, ck_path: &Path, ck: &Checkpoint) {
    let run = nir.with_extension("run.json");
    reference_run(ck, &run);
    if let Some(py) = common::python() {
        let args = [OsStr::new("nir"), nir.as_os_str(), ck_path.as_os_str(), run.as_os_str()];
        println!("{}", common::run_python(&py, "python/check_nir.py", &args));
    }
}

#[test]
fn cli_exports_an_avg_pool_snn_that_nir_reads_back() {
    let ck = snn_checkpoint(
        &avg_pool_model(),
        &[1.0, 0.9, 1.0],
        &[0.0, 0.25, 0.0],
        ConversionMethod::Deng,
    );
    let tmp = Scratch::new("avg");
    let (ck_path, nir_path) = (tmp.path("avg.safetensors"), tmp.path("avg.nir"));
    ck.save_atomic(&ck_path).unwrap();
    let out = export_cli(&ck_path, &nir_path);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "export failed: {text}");
    assert!(std::fs::read(&nir_path).unwrap().starts_with(b"\x89HDF\r\n\x1a\n"));
    check_with_python(&nir_path, &ck_path, &ck);
}

#[test]
fn residual_blocks_export_with_both_branches_into_the_second_if() {
    let model = ModelConfig {
        name: "res-net".into(),
        input: [1, 8, 8],
        classes: 3,
        layers: vec![
            conv(4, 1, true),
            Act { mu: 1.0 },
            Block {
                out: 4,
                stride: 1,
                dropout: 0.1,
            },
            Block {
                out: 6,
                stride: 2,
                dropout: 0.0,
            },
            AvgPool { k: 2, stride: 2 },
            Flatten,
            Linear { out: 3, bias: true },
        ],
        act_levels: None,
    };
    let ck = snn_checkpoint(
        &model,
        &[1.0; 5],
        &[0.0, 0.1, 0.2, 0.0, 0.3],
        ConversionMethod::Qcfs, // and starts at V_th / 2 in layers 0, 2, 4: metadata/initial_membrane
    );
    let tmp = Scratch::new("res");
    let (ck_path, nir_path) = (tmp.path("res.safetensors"), tmp.path("res.nir"));
    ck.save_atomic(&ck_path).unwrap();
    std::fs::write(&nir_path, ultraspike::export::snn_to_nir(&ck).unwrap()).unwrap();
    check_with_python(&nir_path, &ck_path, &ck);
}

#[test]
fn max_pool_is_refused_with_the_layer_named() {
    let model = builtin("vgg-tiny", [1, 8, 8], 3).unwrap();
    let ck = snn_checkpoint(&model, &[1.0; 2], &[0.0; 2], ConversionMethod::AlphaBeta);
    let err = ultraspike::export::snn_to_nir(&ck).unwrap_err().to_string();
    assert!(
        err.contains("layer 3 (max_pool, `features.3`)") && err.contains("NIR has no max-pooling"),
        "{err}"
    );
    let tmp = Scratch::new("maxpool");
    let (ck_path, nir_path) = (tmp.path("maxpool.safetensors"), tmp.path("maxpool.nir"));
    ck.save_atomic(&ck_path).unwrap();
    refused(&export_cli(&ck_path, &nir_path), "error: config: ", "max_pool");
    assert!(!nir_path.exists(), "nothing is written on a refusal");
}

#[test]
fn hdf5_writer_file_reads_in_h5py() {
    let mut b = Group::new();
    b.dataset("x", Dataset::f32(&[2, 3], vec![1.5, -2.0, 3.25, 0.0, 1e-3, -7.0]));
    let mut a = Group::new();
    a.group("b", b)
        .dataset("n", Dataset::i64(&[3], vec![-1, 0, 1 << 40]))
        .dataset("s", Dataset::string("Conv2d"))
        .dataset(
            "t",
            Dataset::strings(&[2, 2], ["in", "layer_1", "layer_1", "out"].map(String::from).to_vec()),
        );
    let mut root = Group::new();
    root.group("a", a).dataset("v", Dataset::scalar_i64(7));
    let tmp = Scratch::new("writer");
    let path = tmp.path("writer.h5");
    std::fs::write(&path, write_file(&root).unwrap()).unwrap();
    if let Some(py) = common::python() {
        println!(
            "{}",
            common::run_python(&py, "python/check_nir.py", &[OsStr::new("hdf5"), path.as_os_str()])
        );
    }
}

#[test]
fn a_shift_with_no_bias_before_it_is_refused_with_the_layer_named() {
    let model = ModelConfig {
        name: "if-if".into(),
        input: [1, 4, 4],
        classes: 3,
        layers: vec![
            conv(2, 1, true),
            Act { mu: 1.0 },
            Act { mu: 1.0 },
            Flatten,
            Linear { out: 3, bias: true },
        ],
        act_levels: None,
    };
    let ck = snn_checkpoint(&model, &[1.0; 2], &[0.0, 0.5], ConversionMethod::Deng);
    let err = ultraspike::export::snn_to_nir(&ck).unwrap_err().to_string();
    assert!(
        err.contains("`features.2`") && err.contains("no conv or linear bias"),
        "{err}"
    );
}

/// Exit status 1 and one `error:` line that starts with `kind` and mentions `what`.
fn refused(out: &std::process::Output, kind: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with(kind) && stderr.contains(what), "{stderr}");
}

#[test]
fn a_dnn_checkpoint_or_an_unwritable_out_is_refused() {
    let model = avg_pool_model();
    let mut dnn = Checkpoint::new(serde_json::to_value(DnnMeta::new(&model)).unwrap());
    for s in param_specs(&model).unwrap().iter().filter(|s| s.trainable) {
        dnn.insert(&s.name, &s.shape, vec![1.0; s.shape.iter().product()])
            .unwrap();
    }
    let tmp = Scratch::new("refusals");
    let (dnn_path, out) = (tmp.path("dnn.safetensors"), tmp.path("dnn.nir"));
    dnn.save_atomic(&dnn_path).unwrap();
    refused(
        &export_cli(&dnn_path, &out),
        "error: checkpoint: ",
        "convert it into an SNN",
    );
    assert!(!out.exists());

    let ck = snn_checkpoint(&model, &[1.0; 3], &[0.0; 3], ConversionMethod::MaxNorm);
    let ck_path = tmp.path("snn.safetensors");
    ck.save_atomic(&ck_path).unwrap();
    let missing = tmp.path("no-such-folder").join("x.nir");
    refused(&export_cli(&ck_path, &missing), "error: config: ", "no-such-folder");
    refused(
        &export_cli(&tmp.path("absent.safetensors"), &out),
        "error: checkpoint: ",
        "absent.safetensors",
    );
}

/// The page's path (`Session.export_nir` -> `Pipeline::snn_nir`) writes the CLI's bytes.
#[test]
fn the_pipeline_exports_the_current_snn_as_the_cli_does() {
    let mut p = Pipeline::new(common::new_gpu());
    let none = pollster::block_on(p.snn_nir()).unwrap_err().to_string();
    assert!(none.contains("no SNN yet"), "{none}");
    let ck = snn_checkpoint(
        &avg_pool_model(),
        &[1.0, 0.9, 1.0],
        &[0.0, 0.25, 0.0],
        ConversionMethod::Deng,
    );
    p.load_snn(ck.clone()).unwrap();
    let bytes = pollster::block_on(p.snn_nir()).unwrap();
    assert_eq!(bytes, ultraspike::export::snn_to_nir(&ck).unwrap());
    let tiny = builtin("vgg-tiny", [1, 8, 8], 3).unwrap();
    p.load_snn(snn_checkpoint(&tiny, &[1.0; 2], &[0.0; 2], ConversionMethod::MaxNorm))
        .unwrap();
    let err = pollster::block_on(p.snn_nir()).unwrap_err().to_string();
    assert!(err.contains("max_pool, `features.3`"), "{err}");
}

/// Spikes are exported at height 1 and each layer's spike height goes into the next layer's
/// weights: an output straight after a spiking layer leaves the height nowhere to go, so the
/// export refuses it by name rather than write a graph whose logits are off by that factor.
#[test]
fn an_output_right_after_a_spiking_layer_or_a_pool_is_refused() {
    // A spiking layer's height, or an average pool's 1/k^2 (and the height before it), at the end.
    let endings = [
        (
            "spiking-output",
            vec![Flatten, Linear { out: 3, bias: true }, Act { mu: 1.0 }],
        ),
        (
            "pooled-output",
            vec![conv(3, 1, true), Act { mu: 1.0 }, AvgPool { k: 2, stride: 2 }, Flatten],
        ),
    ];
    for (name, layers) in endings {
        let model = ModelConfig {
            name: name.into(),
            input: [1, 2, 2],
            classes: 3,
            layers,
            act_levels: None,
        };
        let ck = snn_checkpoint(&model, &[1.0], &[0.0], ConversionMethod::AlphaBeta);
        let err = ultraspike::export::snn_to_nir(&ck).unwrap_err().to_string();
        assert!(
            err.contains("the output follows a spiking layer or a pool directly"),
            "{name}: {err}"
        );
    }
}
