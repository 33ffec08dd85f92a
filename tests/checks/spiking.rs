use ultraspike::cpu;
use ultraspike::gpu::{Gpu, Tensor};
use ultraspike::nn::spiking::{
    if_backward_with, if_forward_with, IfBackwardIo, IfConfig, IfForwardIo, IfKernel, Surrogate,
};
use ultraspike::util::rng::Rng;

use super::{assert_close, assert_eq_u32, gpu_err, rng, CheckResult};

/// Threshold 1 + 1/16 with currents on a 1/8 grid: every u_tmp is exactly
/// representable and the forward must match the CPU bit for bit.
const VTH: f32 = 1.0 + 1.0 / 16.0;
/// One neuron per thread in 256-wide groups: this n needs a grid folded into y.
const BIG_N: usize = 65_535 * 256 + 77;

fn currents(r: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| (r.below(29) as f32 - 8.0) / 8.0).collect()
}

struct Layer {
    input: Tensor,
    vth: Tensor,
    leak: Tensor,
    out: Tensor,
    trace: Tensor,
    count: Tensor,
}

fn layer(gpu: &Gpu, t: usize, n: usize, input: &[f32], vth: f32, leak: f32, trace_len: usize) -> Result<Layer, String> {
    let e = gpu_err;
    Ok(Layer {
        input: gpu.tensor_from("input", &[input.len()], input).map_err(e)?,
        vth: gpu.tensor_from("vth", &[1], &[vth]).map_err(e)?,
        leak: gpu.tensor_from("leak", &[1], &[leak]).map_err(e)?,
        out: gpu.tensor("out", &[t, n]).map_err(e)?,
        trace: gpu.tensor("u_trace", &[trace_len]).map_err(e)?,
        count: gpu.tensor_from_u32("spikes", &[1], &[7]).map_err(e)?,
    })
}

/// Both kernels of the IF forward: every forward check runs each.
pub const IF_KERNELS: [IfKernel; 2] = [IfKernel::Workgroup, IfKernel::Register];

/// Run the GPU forward with `kernel`; returns (out, trace, spike counter - 7).
async fn forward(
    gpu: &Gpu,
    kernel: IfKernel,
    t: usize,
    n: usize,
    cfg: &IfConfig,
    l: &Layer,
) -> Result<(Vec<f32>, Vec<f32>, u64), String> {
    let io = IfForwardIo {
        input: &l.input,
        vth: &l.vth,
        leak: &l.leak,
        out: &l.out,
        u_trace: &l.trace,
        spike_count: &l.count,
    };
    let op = if_forward_with(gpu, kernel, "if", (t, n), cfg, &io).map_err(gpu_err)?;
    gpu.run(&[&op]).map_err(gpu_err)?;
    let out = gpu.read(&l.out).await.map_err(gpu_err)?;
    let trace = gpu.read(&l.trace).await.map_err(gpu_err)?;
    let count = gpu.read_u32(&l.count).await.map_err(gpu_err)?;
    Ok((out, trace, count[0] as u64 - 7))
}

/// Bit-exact forward: T in 1..5, leak 1 (IF) and 0.75 (exact LIF), input per
/// step and constant, odd n, output scaling and shift, trace on and off.
pub async fn if_forward_exact(gpu: &Gpu) -> CheckResult {
    let mut r = rng(11);
    let mut case = 0;
    for t in [1usize, 2, 3, 5] {
        for (n, leak, constant) in [
            (1usize, 1.0f32, false),
            (37, 1.0, true),
            (1000, 0.75, false),
            (333, 0.75, true),
        ] {
            case += 1;
            let odd = case % 2 == 0;
            let cfg = IfConfig {
                beta: if odd { 0.8 } else { 1.0 },
                shift: if odd { 1.0 / 16.0 } else { 0.0 },
                out_scale: if odd { 1.3 } else { 1.0 },
                init: if case % 4 < 2 { 0.5 } else { 0.0 },
                save_trace: case % 3 != 0,
            };
            let input = currents(&mut r, if constant { n } else { t * n });
            let want = cpu::spiking::if_forward(t, n, &cfg, &input, VTH, leak);
            let trace_len = if cfg.save_trace { t * n } else { 1 };
            if want.spikes == 0 && t > 1 && n > 1 {
                return Err(format!("if_forward T={t} n={n}: no spikes, the case tests nothing"));
            }
            for kernel in IF_KERNELS {
                let l = layer(gpu, t, n, &input, VTH, leak, trace_len)?;
                let (out, trace, spikes) = forward(gpu, kernel, t, n, &cfg, &l).await?;
                let what = format!("if_forward {kernel:?} T={t} n={n} leak={leak} constant={constant} cfg={cfg:?}");
                assert_close(&format!("{what} out"), &out, &want.out, 0.0, 0.0)?;
                if cfg.save_trace {
                    assert_close(&format!("{what} trace"), &trace, &want.u_trace, 0.0, 0.0)?;
                } else {
                    assert_close(&format!("{what} untouched dummy trace"), &trace, &[0.0], 0.0, 0.0)?;
                }
                if spikes != want.spikes {
                    return Err(format!("{what}: {spikes} spikes, want {}", want.spikes));
                }
            }
        }
    }
    Ok(())
}

/// A grid beyond 65,535 workgroups (T = 1, so it stays cheap).
pub async fn if_forward_big_grid(gpu: &Gpu) -> CheckResult {
    let (t, n) = (1, BIG_N);
    let cfg = IfConfig::default();
    let input = currents(&mut rng(12), n);
    let want = cpu::spiking::if_forward(t, n, &cfg, &input, VTH, 1.0);
    for kernel in IF_KERNELS {
        let l = layer(gpu, t, n, &input, VTH, 1.0, t * n)?;
        let (out, trace, spikes) = forward(gpu, kernel, t, n, &cfg, &l).await?;
        assert_close(&format!("if_forward {kernel:?} big out"), &out, &want.out, 0.0, 0.0)?;
        assert_close(
            &format!("if_forward {kernel:?} big trace"),
            &trace,
            &want.u_trace,
            0.0,
            0.0,
        )?;
        assert_eq_u32(
            &format!("if_forward {kernel:?} big spikes"),
            &[spikes as u32],
            &[want.spikes as u32],
        )?;
    }
    Ok(())
}

/// An upper bound on the sum of |terms| of dvth and dleak, for their tolerances.
fn magnitudes(
    t: usize,
    n: usize,
    cfg: &IfConfig,
    trace: &[f32],
    g_out: &[f32],
    d_input: &[f32],
    vth: f32,
) -> (f32, f32) {
    let h = (cfg.beta * vth * cfg.out_scale).abs() + (cfg.beta * cfg.out_scale).abs();
    let mv = t as f32 * g_out.iter().map(|g| g.abs() * h).sum::<f32>();
    let mut ml = 0.0;
    for o in n..t * n {
        let up = trace[o - n];
        ml += d_input[o].abs() * if up > vth { up - vth } else { up }.abs();
    }
    (mv, ml)
}

/// One backward with `kernel` over fresh tensors (garbage in the outputs: the backward must
/// overwrite, not accumulate); returns (d_input, dvth, dleak).
async fn backward_run(gpu: &Gpu, kernel: IfKernel, c: &BackwardCase<'_>) -> Result<(Vec<f32>, f32, f32), String> {
    let (e, (t, n)) = (gpu_err, (c.t, c.n));
    let tt = gpu.tensor_from("u_trace", &[t, n], c.trace).map_err(e)?;
    let tv = gpu.tensor_from("vth", &[1], &[c.vth]).map_err(e)?;
    let tl = gpu.tensor_from("leak", &[1], &[c.leak]).map_err(e)?;
    let tg = gpu.tensor_from("g_out", &[t, n], c.g_out).map_err(e)?;
    let td = gpu.tensor_from("d_input", &[t, n], &vec![9.0; t * n]).map_err(e)?;
    let tdv = gpu.tensor_from("dvth", &[1], &[9.0]).map_err(e)?;
    let tdl = gpu.tensor_from("dleak", &[1], &[9.0]).map_err(e)?;
    let io = IfBackwardIo {
        u_trace: &tt,
        vth: &tv,
        leak: &tl,
        g_out: &tg,
        d_input: &td,
        dvth: &tdv,
        dleak: &tdl,
    };
    let bw = if_backward_with(gpu, kernel, "if_bw", (t, n), c.cfg, c.sg, &io).map_err(e)?;
    gpu.run(&bw.ops.iter().collect::<Vec<_>>()).map_err(e)?;
    let d_input = gpu.read(&td).await.map_err(e)?;
    let dvth = gpu.read(&tdv).await.map_err(e)?[0];
    let dleak = gpu.read(&tdl).await.map_err(e)?[0];
    Ok((d_input, dvth, dleak))
}

struct BackwardCase<'a> {
    t: usize,
    n: usize,
    cfg: &'a IfConfig,
    sg: Surrogate,
    trace: &'a [f32],
    g_out: &'a [f32],
    vth: f32,
    leak: f32,
}

/// Both kernels against the CPU reference, and against each other bit for bit (the Register
/// kernel sums each group's terms with the workgroup kernel's tree).
async fn backward_case(gpu: &Gpu, c: &BackwardCase<'_>) -> CheckResult {
    let (t, n, cfg, sg) = (c.t, c.n, c.cfg, c.sg);
    let want = cpu::spiking::if_backward(t, n, cfg, sg, c.trace, c.vth, c.leak, c.g_out);
    let (mv, ml) = magnitudes(t, n, cfg, c.trace, c.g_out, &want.d_input, c.vth);
    let mut first: Option<(Vec<u32>, u32, u32)> = None;
    for kernel in IF_KERNELS {
        let what = format!("if_backward {kernel:?} T={t} n={n} leak={} {sg:?} cfg={cfg:?}", c.leak);
        let (d_input, dvth, dleak) = backward_run(gpu, kernel, c).await?;
        assert_close(&format!("{what} d_input"), &d_input, &want.d_input, 1e-6, 1e-5)?;
        assert_close(&format!("{what} dvth"), &[dvth], &[want.dvth], 1e-6 + 2e-6 * mv, 1e-5)?;
        assert_close(
            &format!("{what} dleak"),
            &[dleak],
            &[want.dleak],
            1e-6 + 2e-6 * ml,
            1e-5,
        )?;
        let bits = (
            d_input.iter().map(|v| v.to_bits()).collect(),
            dvth.to_bits(),
            dleak.to_bits(),
        );
        match &first {
            None => first = Some(bits),
            Some(f) if *f != bits => return Err(format!("{what}: not the bits of {:?}", IF_KERNELS[0])),
            Some(_) => {}
        }
    }
    Ok(())
}

/// BPTT vs the CPU reference on the GPU forward's own trace: T = 1, 2, 3, 5,
/// leak 1.0 and 0.9, every surrogate, per-step and constant input.
/// Tolerances: d_input atol 1e-6 + rtol 1e-5; dvth / dleak 2e-6 x the sum of
/// |terms| (f32 tree sums vs the reference's f64 sum).
pub async fn if_backward_vs_cpu(gpu: &Gpu) -> CheckResult {
    let mut r = rng(21);
    let n = 301;
    for t in [1usize, 2, 3, 5] {
        for leak in [1.0f32, 0.9] {
            for (k, sg) in [Surrogate::Boxcar, Surrogate::Triangle, Surrogate::FastSigmoid]
                .into_iter()
                .enumerate()
            {
                for constant in [false, true] {
                    let scaled = (k + constant as usize) % 2 == 1;
                    let cfg = IfConfig {
                        beta: if scaled { 0.7 } else { 1.0 },
                        out_scale: if scaled { 1.3 } else { 1.0 },
                        shift: 0.0,
                        init: if constant { 0.5 } else { 0.0 },
                        save_trace: true,
                    };
                    let input: Vec<f32> = r.vec_uniform(if constant { n } else { t * n }, -0.8, 2.6);
                    let l = layer(gpu, t, n, &input, VTH, leak, t * n)?;
                    let (_, trace, _) = forward(gpu, IfKernel::for_adapter(gpu), t, n, &cfg, &l).await?;
                    let g_out = r.vec_uniform(t * n, -1.0, 1.0);
                    let c = BackwardCase {
                        t,
                        n,
                        cfg: &cfg,
                        sg,
                        trace: &trace,
                        g_out: &g_out,
                        vth: VTH,
                        leak,
                    };
                    backward_case(gpu, &c).await?;
                }
            }
        }
    }
    Ok(())
}

/// Backward on a grid beyond 65,535 workgroups (T = 1: 65,536 partial sums
/// reduced in stages).
pub async fn if_backward_big_grid(gpu: &Gpu) -> CheckResult {
    let mut r = rng(22);
    let trace = r.vec_uniform(BIG_N, -0.5, 2.5);
    let g_out = r.vec_uniform(BIG_N, -1.0, 1.0);
    let c = BackwardCase {
        t: 1,
        n: BIG_N,
        cfg: &IfConfig::default(),
        sg: Surrogate::Boxcar,
        trace: &trace,
        g_out: &g_out,
        vth: VTH,
        leak: 1.0,
    };
    backward_case(gpu, &c).await
}
