//! Spike counting: `spike_map_count` against its CPU reference, and the count
//! limits that keep the padding images of a partial batch out of the spike
//! counts of `spike_map_count` and `if_forward`.

use ultraspike::cpu;
use ultraspike::gpu::Gpu;
use ultraspike::nn::spikes::{spike_map_count, SPIKE_MAP_COUNT_LIMIT_WORD};
use ultraspike::nn::spiking::{if_forward_with, IfConfig, IfForwardIo, IF_COUNT_LIMIT_WORD};

use super::{assert_eq_u32, gpu_err, rng, CheckResult};

/// Sparse spike trains [T, batch, C, HW]: about one value in three is non-zero.
fn spikes(seed: u64, len: usize) -> Vec<f32> {
    let mut r = rng(seed);
    (0..len).map(|_| if r.below(3) == 0 { 1.5 } else { 0.0 }).collect()
}

/// Full counts and counts limited to the first `valid` images of each step,
/// for small and large maps, one value per thread and many (a linear layer's
/// single position, 120 000 values over the 65 536 threads; a 70x70 map with
/// ~7 values per thread).
pub async fn spike_map_count_vs_cpu(gpu: &Gpu) -> CheckResult {
    for (t, batch, c, hw, valid) in [
        (2usize, 5usize, 3usize, 49usize, 3usize),
        (3, 4, 2, 4900, 1),
        (1, 7, 4, 9, 7),
        (2, 3, 20_000, 1, 2),
        (4, 8, 3, 4900, 5),
    ] {
        let step = batch * c * hw;
        let n = t * step;
        let x = spikes(21 + hw as u64, n);
        let xt = gpu.tensor_from("x", &[n], &x).map_err(gpu_err)?;
        let counts = gpu.tensor_from_u32("counts", &[hw], &vec![0; hw]).map_err(gpu_err)?;
        let op = spike_map_count(gpu, "spike_map", n, step, hw, &xt, &counts).map_err(gpu_err)?;
        gpu.run(&[&op]).map_err(gpu_err)?;
        let what = format!("spike_map T={t} batch={batch} C={c} hw={hw}");
        assert_eq_u32(
            &format!("{what} full"),
            &gpu.read_u32(&counts).await.map_err(gpu_err)?,
            &cpu::spikes::spike_map_count(&x, hw, step, step),
        )?;

        // Limited to `valid` images; counts accumulate, so clear first.
        let limited = gpu.tensor_from_u32("counts", &[hw], &vec![0; hw]).map_err(gpu_err)?;
        let op = spike_map_count(gpu, "spike_map", n, step, hw, &xt, &limited).map_err(gpu_err)?;
        op.set_param_word(gpu, SPIKE_MAP_COUNT_LIMIT_WORD, (valid * c * hw) as u32)
            .map_err(gpu_err)?;
        gpu.run(&[&op]).map_err(gpu_err)?;
        let want = cpu::spikes::spike_map_count(&x, hw, step, valid * c * hw);
        if valid < batch && want == cpu::spikes::spike_map_count(&x, hw, step, step) {
            return Err(format!("{what}: the limit changes nothing, the case tests nothing"));
        }
        assert_eq_u32(
            &format!("{what} first {valid} images"),
            &gpu.read_u32(&limited).await.map_err(gpu_err)?,
            &want,
        )?;
    }
    Ok(())
}

/// `if_forward` with its count limited to the first `count_n` neurons counts
/// exactly their spikes, and still writes every neuron's output.
pub async fn if_forward_count_limit(gpu: &Gpu) -> CheckResult {
    let (t, n, count_n) = (3usize, 1000usize, 600usize);
    let mut r = rng(31);
    let input: Vec<f32> = (0..t * n).map(|_| (r.below(29) as f32 - 8.0) / 8.0).collect();
    let cfg = IfConfig::default();
    let want = cpu::spiking::if_forward(t, n, &cfg, &input, 1.0, 1.0);
    let e = gpu_err;
    let limited = (0..t)
        .flat_map(|s| (0..count_n).map(move |i| s * n + i))
        .filter(|&o| want.out[o] != 0.0)
        .count() as u32;
    if limited == 0 || limited as u64 == want.spikes {
        return Err(format!(
            "if_forward count limit: {limited} of {} spikes, the case tests nothing",
            want.spikes
        ));
    }
    for kernel in super::spiking::IF_KERNELS {
        let x = gpu.tensor_from("input", &[t * n], &input).map_err(e)?;
        let vth = gpu.tensor_from("vth", &[1], &[1.0]).map_err(e)?;
        let leak = gpu.tensor_from("leak", &[1], &[1.0]).map_err(e)?;
        let out = gpu.tensor("out", &[t, n]).map_err(e)?;
        let trace = gpu.tensor("trace", &[t * n]).map_err(e)?;
        let count = gpu.tensor_from_u32("count", &[1], &[0]).map_err(e)?;
        let io = IfForwardIo {
            input: &x,
            vth: &vth,
            leak: &leak,
            out: &out,
            u_trace: &trace,
            spike_count: &count,
        };
        let op = if_forward_with(gpu, kernel, "if", (t, n), &cfg, &io).map_err(e)?;
        op.set_param_word(gpu, IF_COUNT_LIMIT_WORD, count_n as u32).map_err(e)?;
        gpu.run(&[&op]).map_err(e)?;
        assert_eq_u32(
            &format!("if_forward {kernel:?} count limit"),
            &gpu.read_u32(&count).await.map_err(e)?,
            &[limited],
        )?;
        let got = gpu.read(&out).await.map_err(e)?;
        if got != want.out {
            return Err(format!("if_forward {kernel:?} count limit: outputs changed"));
        }
    }
    Ok(())
}
