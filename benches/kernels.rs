//! Kernel throughput in GFLOP/s: conv2d forward / backward-input / backward-weight (each variant
//! that `--algo` names) on VGG-16
//! CIFAR layers (N = 32, 3x3/s1/p1: 64x32x32, 256x8x8, 512x4x4, 512x2x2) and linear 4096x4096 (batch 32).
//!
//!   CARGO_TARGET_DIR=/work/tgt/conv cargo bench --bench kernels [-- --algo auto|direct|subgroup|vec4|tiled|all] [--quick]
//!
//! The linear cases run the matching `LinearAlgo` (direct: Plain, vec4: Subgroup).
//!
//! Each case: warm-up runs, then several timed reps of `gpu.run(ops)` + `gpu.wait()`;
//! prints the median and best rep. ULTRASPIKE_FALLBACK=1 forces the CPU adapter (lavapipe).

use std::time::Instant;

use ultraspike::gpu::{Gpu, GpuOptions, Op, Tensor};
use ultraspike::nn::conv::{self, Conv2dShape, ConvAlgo};
use ultraspike::nn::linear::{self, LinearAlgo};
use ultraspike::util::rng::Rng;
use ultraspike::Result;

struct Args {
    algos: Vec<ConvAlgo>,
    quick: bool,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut args = Args {
        algos: vec![ConvAlgo::Auto],
        quick: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--algo" => {
                args.algos = match it.next().as_deref() {
                    Some("auto") => vec![ConvAlgo::Auto],
                    Some("direct") => vec![ConvAlgo::Direct],
                    Some("subgroup") => vec![ConvAlgo::Subgroup],
                    Some("vec4") => vec![ConvAlgo::Vec4],
                    Some("tiled") => vec![ConvAlgo::Tiled],
                    Some("register") => vec![ConvAlgo::Register],
                    Some("all") => vec![
                        ConvAlgo::Direct,
                        ConvAlgo::Subgroup,
                        ConvAlgo::Vec4,
                        ConvAlgo::Tiled,
                        ConvAlgo::Register,
                    ],
                    other => {
                        return Err(format!(
                            "--algo takes auto|direct|subgroup|vec4|tiled|register|all, got {other:?}"
                        ))
                    }
                }
            }
            "--bench" => {} // cargo bench passes this to harness = false targets
            other => return Err(format!("unknown argument `{other}` (use --algo X, --quick)")),
        }
    }
    Ok(args)
}

/// CPU seconds used by this process so far (all threads: lavapipe runs its shaders on them),
/// from /proc/self/stat; None where that file does not exist.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

struct Timing {
    median: f64,
    best: f64,
    /// GFLOP per CPU-second: insensitive to other processes sharing the cores.
    per_cpu_s: Option<f64>,
}

/// GFLOP/s of `reps` timed runs after `warm` untimed ones.
fn time(gpu: &Gpu, ops: &[&Op], flops: u64, warm: usize, reps: usize) -> Result<Timing> {
    for _ in 0..warm {
        gpu.run(ops)?;
        gpu.wait()?;
    }
    let mut secs = Vec::with_capacity(reps);
    let cpu0 = cpu_seconds();
    for _ in 0..reps {
        let t = Instant::now();
        gpu.run(ops)?;
        gpu.wait()?;
        secs.push(t.elapsed().as_secs_f64());
    }
    let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a).filter(|&c| c > 0.0);
    secs.sort_by(f64::total_cmp);
    let g = |s: f64| flops as f64 / s / 1e9;
    Ok(Timing {
        median: g(secs[secs.len() / 2]),
        best: g(secs[0]),
        per_cpu_s: cpu.map(|c| g(c / reps as f64)),
    })
}

fn random(gpu: &Gpu, r: &mut Rng, label: &str, dims: &[usize]) -> Result<Tensor> {
    gpu.tensor_from(label, dims, &r.vec_uniform(dims.iter().product(), -1.0, 1.0))
}

fn report(name: &str, t: Timing) {
    let cpu = t.per_cpu_s.map_or(String::new(), |c| format!(", {c:.2} GFLOP/CPU-s"));
    println!("{name:<44} {:>7.2} GFLOP/s (best {:.2}{cpu})", t.median, t.best);
}

fn bench_conv(gpu: &Gpu, s: &Conv2dShape, args: &Args, warm: usize, reps: usize) -> Result<()> {
    let mut r = Rng::new(1);
    let x = random(gpu, &mut r, "x", &s.x_shape())?;
    let w = random(gpu, &mut r, "w", &s.w_shape())?;
    let b = random(gpu, &mut r, "b", &[s.c_out])?;
    let y = gpu.tensor("y", &s.y_shape())?;
    let dx = gpu.tensor("dx", &s.x_shape())?;
    let dw = gpu.tensor("dw", &s.w_shape())?;
    let tag = format!("{}x{}x{}->{}", s.c_in, s.h, s.w, s.c_out);
    for &algo in &args.algos {
        if !algo.supports_shape(gpu, s) {
            println!("conv {tag} {algo:?}: not supported on this adapter or shape");
            continue;
        }
        let shown = format!("{algo:?}->{:?}", algo.resolve(gpu));
        let ops = conv::conv2d_forward(gpu, "fwd", s, algo, &x, &w, &b, &y)?;
        report(
            &format!("conv fwd      {tag} {shown} ({} ops)", ops.len()),
            time(gpu, &ops.iter().collect::<Vec<_>>(), s.flops(), warm, reps)?,
        );
        let ops = conv::conv2d_backward_input_with_algo(gpu, "bwd_in", s, &y, &w, &dx, algo)?;
        report(
            &format!("conv bwd-in   {tag} {shown} ({} ops)", ops.len()),
            time(gpu, &ops.iter().collect::<Vec<_>>(), s.flops(), warm, reps)?,
        );
        let ops = conv::conv2d_backward_weight_with_algo(gpu, "bwd_w", s, &x, &y, &dw, algo)?;
        let refs: Vec<&Op> = ops.iter().collect();
        report(
            &format!("conv bwd-w    {tag} {shown} ({} ops)", ops.len()),
            time(gpu, &refs, s.flops(), warm, reps)?,
        );
    }
    Ok(())
}

/// The linear variant benched beside a conv variant.
fn linear_algo(a: ConvAlgo) -> LinearAlgo {
    match a {
        ConvAlgo::Auto => LinearAlgo::Auto,
        ConvAlgo::Direct => LinearAlgo::Plain,
        ConvAlgo::Subgroup | ConvAlgo::Vec4 => LinearAlgo::Subgroup,
        ConvAlgo::Tiled => LinearAlgo::Tiled,
        ConvAlgo::Register => LinearAlgo::Register,
    }
}

fn bench_linear(gpu: &Gpu, n: usize, f: usize, args: &Args, warm: usize, reps: usize) -> Result<()> {
    let mut r = Rng::new(2);
    let x = random(gpu, &mut r, "x", &[n, f])?;
    let w = random(gpu, &mut r, "w", &[f, f])?;
    let b = random(gpu, &mut r, "b", &[f])?;
    let y = gpu.tensor("y", &[n, f])?;
    let dx = gpu.tensor("dx", &[n, f])?;
    let dw = gpu.tensor("dw", &[f, f])?;
    let flops = 2 * (n * f * f) as u64;
    let dims = [n, f, f];
    let mut algos: Vec<LinearAlgo> = args.algos.iter().map(|&a| linear_algo(a)).collect();
    algos.dedup();
    for algo in algos {
        let tag = format!("{f}x{f} batch {n} {algo:?}");
        let fwd = linear::linear_forward_with_algo(gpu, "lin", dims, algo, &x, &w, &b, &y)?;
        report(&format!("linear fwd    {tag}"), time(gpu, &[&fwd], flops, warm, reps)?);
        let bi = linear::linear_backward_input_with_algo(gpu, "lin.dx", dims, algo, &y, &w, &dx)?;
        report(&format!("linear bwd-in {tag}"), time(gpu, &[&bi], flops, warm, reps)?);
        let bw = linear::linear_backward_weight_with_algo(gpu, "lin.dw", dims, algo, &x, &y, &dw)?;
        report(&format!("linear bwd-w  {tag}"), time(gpu, &[&bw], flops, warm, reps)?);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args().map_err(ultraspike::Error::Config)?;
    let opts = GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    };
    let gpu = Gpu::new_blocking(&opts)?;
    let (warm, reps) = if args.quick { (1, 3) } else { (2, 7) };
    println!("command: {}", std::env::args().collect::<Vec<_>>().join(" "));
    println!(
        "adapter: {} ({:?}), subgroups: {}, warm-up {warm}, reps {reps}",
        gpu.info.name,
        gpu.info.backend,
        gpu.has_subgroups()
    );
    let layers = [(64, 32), (256, 8), (512, 4), (512, 2)];
    for (c, hw) in layers {
        let s = Conv2dShape {
            n: 32,
            c_in: c,
            h: hw,
            w: hw,
            c_out: c,
            k: 3,
            stride: 1,
            pad: 1,
        };
        bench_conv(&gpu, &s, &args, warm, reps)?;
    }
    bench_linear(&gpu, 32, 4096, &args, warm, reps)
}
