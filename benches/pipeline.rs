//! Pipeline throughput in images/s (after warm-up, median of timed reps):
//!   - DNN training steps (forward + backward + SGD) of a model at a batch size;
//!   - DNN forward vs SNN inference at several T (direct encoding, all layers);
//!   - SNN fine-tuning steps (BPTT + Adam) at several T, with the planned GPU memory.
//!
//!   cargo bench --bench pipeline -- [--model vgg16] [--input 3,32,32] [--classes 10]
//!       [--batch 32] [--ts 2,16] [--ft-ts 2,5] [--reps 5] [--skip-train] [--skip-snn] [--profile] [--queue 16]
//!
//! --profile also times each op of a training step and of each SNN inference alone (submit +
//! wait), by label and kernel.
//!
//! ULTRASPIKE_FALLBACK=1 forces the CPU adapter (lavapipe). Weights are random:
//! throughput does not depend on them except through spike counts (reported).

use std::time::Instant;

use ultraspike::convert::NeuronParams;
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::gpu::{Gpu, GpuOptions};
use ultraspike::models::builtin;
use ultraspike::models::config::ModelConfig;
use ultraspike::nn::loss::LOG_SLOTS;
use ultraspike::snn::{SnnNet, SnnOptions};
use ultraspike::util::rng::Rng;
use ultraspike::Result;

struct Args {
    model: String,
    input: [usize; 3],
    classes: usize,
    batch: usize,
    ts: Vec<usize>,
    ft_ts: Vec<usize>,
    reps: usize,
    train: bool,
    snn: bool,
    profile: bool,
    /// Training steps queued per readback (1..=LOG_SLOTS).
    queue: usize,
}

fn list(s: &str) -> Vec<usize> {
    s.split(',').filter_map(|v| v.trim().parse().ok()).collect()
}

fn parse() -> Args {
    let mut a = Args {
        model: "vgg16".into(),
        input: [3, 32, 32],
        classes: 10,
        batch: 32,
        ts: vec![2, 16],
        ft_ts: vec![2, 5],
        reps: 5,
        train: true,
        snn: true,
        profile: false,
        queue: LOG_SLOTS,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_default();
        match k.as_str() {
            "--model" => a.model = v(),
            "--input" => {
                let l = list(&v());
                if l.len() == 3 {
                    a.input = [l[0], l[1], l[2]];
                }
            }
            "--classes" => a.classes = v().parse().unwrap_or(10),
            "--batch" => a.batch = v().parse().unwrap_or(32),
            "--ts" => a.ts = list(&v()),
            "--ft-ts" => a.ft_ts = list(&v()),
            "--reps" => a.reps = v().parse().unwrap_or(5),
            "--skip-train" => a.train = false,
            "--skip-snn" => a.snn = false,
            "--profile" => a.profile = true,
            "--queue" => a.queue = v().parse::<usize>().unwrap_or(LOG_SLOTS).clamp(1, LOG_SLOTS),
            _ => {}
        }
    }
    a
}

/// Seconds of CPU time this process has used (user + system; lavapipe's threads included),
/// None where /proc is missing.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

thread_local! {
    /// CPU seconds per run of the last `time` call (for CPU adapters on shared machines, where
    /// wall time depends on the other processes and CPU time much less).
    static LAST_CPU: std::cell::Cell<Option<f64>> = const { std::cell::Cell::new(None) };
}

/// Median seconds of `reps` runs of `f` after one warm-up run.
fn time(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut v = Vec::with_capacity(reps);
    let c0 = cpu_seconds();
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        f()?;
        v.push(t0.elapsed().as_secs_f64());
    }
    let per_run = c0.zip(cpu_seconds()).map(|(a, b)| (b - a) / v.len() as f64);
    LAST_CPU.with(|c| c.set(per_run));
    v.sort_by(|a, b| a.total_cmp(b));
    Ok(v[v.len() / 2])
}

/// ", N images/CPU-s" for the last `time` call over `per_run` images per run, or "".
fn per_cpu(per_run: f64) -> String {
    LAST_CPU
        .with(|c| c.get())
        .map_or(String::new(), |c| format!(", {:.1} images/CPU-s", per_run / c))
}

/// What every section measures on: the device, the arguments, the model and one batch.
struct Bench {
    gpu: Gpu,
    a: Args,
    cfg: ModelConfig,
    x: Vec<f32>,
    y: Vec<u32>,
}

/// The trained DNN's parameters: (name, shape, values).
type Params = Vec<(String, Vec<usize>, Vec<f32>)>;

fn main() -> Result<()> {
    let b = setup()?;
    let mut dnn = DnnNet::new(
        &b.gpu,
        &b.cfg,
        b.a.batch,
        1,
        SgdConfig {
            lr: 1e-4,
            ..Default::default()
        },
    )?;
    if b.a.train {
        dnn_train(&b, &mut dnn)?;
    }
    if b.a.profile {
        profile_train_step(&b, &mut dnn)?;
    }
    let fwd = dnn_forward(&b, &dnn)?;
    if !b.a.snn {
        return Ok(());
    }
    let params = pollster::block_on(dnn.read_params(&b.gpu))?;
    drop(dnn);
    let neurons = spiking_neurons(&params);
    snn_inference(&b, &params, &neurons, fwd)?;
    snn_fine_tune(&b, &params, &neurons)
}

/// The arguments, the device (reported), the model and a batch of random images.
fn setup() -> Result<Bench> {
    let a = parse();
    let gpu = Gpu::new_blocking(&GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    })?;
    println!(
        "adapter: {} ({:?}); model {} input {:?} batch {}",
        gpu.info.name, gpu.info.backend, a.model, a.input, a.batch
    );
    let cfg = builtin(&a.model, a.input, a.classes)?;
    let img: usize = a.input.iter().product();
    let mut rng = Rng::new(1);
    let x = rng.vec_normal(a.batch * img, 1.0);
    let y: Vec<u32> = (0..a.batch).map(|i| (i % a.classes) as u32).collect();
    Ok(Bench { gpu, a, cfg, x, y })
}

/// DNN training steps (forward + backward + SGD) as the trainer runs them: `LOG_SLOTS` steps
/// queued without readbacks, then their statistics read; the time per step of that cycle.
fn dnn_train(b: &Bench, dnn: &mut DnnNet) -> Result<()> {
    let (gpu, a) = (&b.gpu, &b.a);
    let mut step = 0u32;
    let s = time(a.reps, || {
        for _ in 0..a.queue {
            step += 1;
            dnn.queue_train_step(gpu, &b.x, &b.y, a.batch, step)?;
        }
        pollster::block_on(dnn.drain_steps(gpu)).map(|_| ())
    })? / a.queue as f64;
    println!(
        "dnn train step: {:.1} ms, {:.1} images/s{} ({} queued steps per readback)",
        s * 1e3,
        a.batch as f64 / s,
        per_cpu((a.batch * a.queue) as f64),
        a.queue
    );
    Ok(())
}

/// Each dispatch of a training step run and waited for alone (median of `--reps`), summed
/// by label; the shares show where a step's time goes.
fn profile_train_step(b: &Bench, dnn: &mut DnnNet) -> Result<()> {
    pollster::block_on(dnn.train_step(&b.gpu, &b.x, &b.y, b.a.batch, 1))?;
    profile_ops(b, "dnn train step", &dnn.train_step_ops())
}

/// Each of `ops` run and waited for alone (median of `--reps`), by label and kernel.
fn profile_ops(b: &Bench, what: &str, ops: &[&ultraspike::gpu::Op]) -> Result<()> {
    let gpu = &b.gpu;
    let mut rows = Vec::new();
    for op in ops {
        let s = time(b.a.reps, || {
            gpu.run(&[op])?;
            gpu.wait()
        })?;
        rows.push((format!("{} ({:?})", op.label, op.kernel), s));
    }
    let total: f64 = rows.iter().map(|r| r.1).sum();
    println!(
        "profile of the {what}: {} dispatches, {:.1} ms when run one by one",
        rows.len(),
        total * 1e3
    );
    for (label, s) in rows {
        println!("  {label:<56} {:>8.2} ms {:>5.1} %", s * 1e3, 100.0 * s / total);
    }
    Ok(())
}

/// The DNN forward; returns its seconds per batch, the SNN inference's yardstick.
fn dnn_forward(b: &Bench, dnn: &DnnNet) -> Result<f64> {
    let (gpu, a) = (&b.gpu, &b.a);
    let fwd = time(a.reps, || {
        pollster::block_on(dnn.eval_step(gpu, &b.x, &b.y, a.batch)).map(|_| ())
    })?;
    println!(
        "dnn forward: {:.1} ms, {:.1} images/s{}",
        fwd * 1e3,
        a.batch as f64 / fwd,
        per_cpu(a.batch as f64)
    );
    Ok(fwd)
}

/// One setting per IF layer of the model whose parameters are `params`.
fn spiking_neurons(params: &Params) -> Vec<NeuronParams> {
    let n_neurons = params.iter().filter(|p| p.0.ends_with(".mu")).count();
    // A threshold that makes random-weight layers spike at a realistic rate.
    vec![
        NeuronParams {
            vth: 0.5,
            beta: 1.0,
            shift: 0.0,
            alpha: 1.0,
            leak: 1.0,
            mu: 4.0,
            init: 0.0,
        };
        n_neurons
    ]
}

/// Copy the DNN's trainable weights (not its thresholds) into `net`.
fn load(gpu: &Gpu, net: &SnnNet, params: &Params) -> Result<()> {
    for (name, _, v) in params {
        if !name.ends_with(".mu") && net.param(name).is_ok_and(|p| p.spec.trainable) {
            net.write_param(gpu, name, v)?;
        }
    }
    Ok(())
}

/// SNN inference at every T of `--ts`, against the DNN forward's `fwd` seconds.
fn snn_inference(b: &Bench, params: &Params, neurons: &[NeuronParams], fwd: f64) -> Result<()> {
    let (gpu, a) = (&b.gpu, &b.a);
    for &t in &a.ts {
        let net = SnnNet::new(gpu, &b.cfg, neurons, SnnOptions::inference(a.batch, t))?;
        load(gpu, &net, params)?;
        net.reset_counters(gpu)?;
        let s = time(a.reps, || {
            pollster::block_on(net.eval_step(gpu, &b.x, &b.y, a.batch, false)).map(|_| ())
        })?;
        let spikes: u64 = pollster::block_on(net.spike_counts(gpu))?.iter().sum();
        println!(
            "snn inference T={t}: {:.1} ms, {:.1} images/s ({:.2}x the DNN forward's time); {:.0} spikes/image",
            s * 1e3,
            a.batch as f64 / s,
            s / fwd,
            spikes as f64 / ((a.reps + 1) * a.batch) as f64
        );
        if a.profile {
            profile_ops(b, &format!("snn inference T={t}"), &net.eval_ops(true))?;
        }
    }
    Ok(())
}

/// SNN fine-tuning steps (BPTT + Adam) at every T of `--ft-ts`, with the planned GPU memory.
fn snn_fine_tune(b: &Bench, params: &Params, neurons: &[NeuronParams]) -> Result<()> {
    let (gpu, a) = (&b.gpu, &b.a);
    for &t in &a.ft_ts {
        let opts = SnnOptions {
            train: true,
            ..SnnOptions::inference(a.batch, t)
        };
        let mut net = SnnNet::new(gpu, &b.cfg, neurons, opts)?;
        load(gpu, &net, params)?;
        let mut step = 0u32;
        let s = time(a.reps, || {
            step += 1;
            pollster::block_on(net.train_step(gpu, &b.x, &b.y, a.batch, step)).map(|_| ())
        })?;
        println!(
            "snn fine-tune step T={t}: {:.1} ms, {:.1} images/s; planned GPU memory {:.1} MiB",
            s * 1e3,
            a.batch as f64 / s,
            net.memory_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}
