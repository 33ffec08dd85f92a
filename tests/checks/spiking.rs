use ultraspike::cpu;
use ultraspike::gpu::{Gpu, Tensor};
use ultraspike::nn::spiking::{if_backward, if_forward, IfConfig, Surrogate};
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

/// Run the GPU forward; returns (out, trace, spike counter - 7).
async fn forward(
    gpu: &Gpu,
    t: usize,
    n: usize,
    cfg: &IfConfig,
    l: &Layer,
) -> Result<(Vec<f32>, Vec<f32>, u64), String> {
    let op = if_forward(
        gpu, "if", t, n, cfg, &l.input, &l.vth, &l.leak, &l.out, &l.trace, &l.count,
    )
    .map_err(gpu_err)?;
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
            let l = layer(gpu, t, n, &input, VTH, leak, trace_len)?;
            let (out, trace, spikes) = forward(gpu, t, n, &cfg, &l).await?;
            let what = format!("if_forward T={t} n={n} leak={leak} constant={constant} cfg={cfg:?}");
            assert_close(&format!("{what} out"), &out, &want.out, 0.0, 0.0)?;
            if cfg.save_trace {
                assert_close(&format!("{what} trace"), &trace, &want.u_trace, 0.0, 0.0)?;
            } else {
                assert_close(&format!("{what} untouched dummy trace"), &trace, &[0.0], 0.0, 0.0)?;
            }
            if spikes != want.spikes {
                return Err(format!("{what}: {spikes} spikes, want {}", want.spikes));
            }
            if want.spikes == 0 && t > 1 && n > 1 {
                return Err(format!("{what}: no spikes, the case tests nothing"));
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
    let l = layer(gpu, t, n, &input, VTH, 1.0, t * n)?;
    let (out, trace, spikes) = forward(gpu, t, n, &cfg, &l).await?;
    assert_close("if_forward big out", &out, &want.out, 0.0, 0.0)?;
    assert_close("if_forward big trace", &trace, &want.u_trace, 0.0, 0.0)?;
    assert_eq_u32("if_forward big spikes", &[spikes as u32], &[want.spikes as u32])
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

#[allow(clippy::too_many_arguments)]
async fn backward_case(
    gpu: &Gpu,
    t: usize,
    n: usize,
    cfg: &IfConfig,
    sg: Surrogate,
    trace: &[f32],
    g_out: &[f32],
    vth: f32,
    leak: f32,
) -> CheckResult {
    let e = gpu_err;
    let what = format!("if_backward T={t} n={n} leak={leak} {sg:?} cfg={cfg:?}");
    let tt = gpu.tensor_from("u_trace", &[t, n], trace).map_err(e)?;
    let tv = gpu.tensor_from("vth", &[1], &[vth]).map_err(e)?;
    let tl = gpu.tensor_from("leak", &[1], &[leak]).map_err(e)?;
    let tg = gpu.tensor_from("g_out", &[t, n], g_out).map_err(e)?;
    // Garbage in the outputs: the backward must overwrite, not accumulate.
    let td = gpu.tensor_from("d_input", &[t, n], &vec![9.0; t * n]).map_err(e)?;
    let tdv = gpu.tensor_from("dvth", &[1], &[9.0]).map_err(e)?;
    let tdl = gpu.tensor_from("dleak", &[1], &[9.0]).map_err(e)?;
    let bw = if_backward(gpu, "if_bw", t, n, cfg, sg, &tt, &tv, &tl, &tg, &td, &tdv, &tdl).map_err(e)?;
    gpu.run(&bw.ops.iter().collect::<Vec<_>>()).map_err(e)?;
    let want = cpu::spiking::if_backward(t, n, cfg, sg, trace, vth, leak, g_out);
    let d_input = gpu.read(&td).await.map_err(e)?;
    assert_close(&format!("{what} d_input"), &d_input, &want.d_input, 1e-6, 1e-5)?;
    let (mv, ml) = magnitudes(t, n, cfg, trace, g_out, &want.d_input, vth);
    let dvth = gpu.read(&tdv).await.map_err(e)?;
    assert_close(&format!("{what} dvth"), &dvth, &[want.dvth], 1e-6 + 2e-6 * mv, 1e-5)?;
    let dleak = gpu.read(&tdl).await.map_err(e)?;
    assert_close(&format!("{what} dleak"), &dleak, &[want.dleak], 1e-6 + 2e-6 * ml, 1e-5)
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
                    let (_, trace, _) = forward(gpu, t, n, &cfg, &l).await?;
                    let g_out = r.vec_uniform(t * n, -1.0, 1.0);
                    backward_case(gpu, t, n, &cfg, sg, &trace, &g_out, VTH, leak).await?;
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
    backward_case(
        gpu,
        1,
        BIG_N,
        &IfConfig::default(),
        Surrogate::Boxcar,
        &trace,
        &g_out,
        VTH,
        1.0,
    )
    .await
}
