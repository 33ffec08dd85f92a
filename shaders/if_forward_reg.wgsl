// if_forward_reg: if_forward.wgsl (see there for the neuron's formula, the layouts and the
// count limit) for CPU adapters: no workgroup memory, no barriers and no workgroup atomics,
// which SwiftShader (the page's CPU WebGPU) runs as coroutine switches and locked adds: there
// the workgroup version spends 130 ms on 1.25 M neurons at T = 1. Each thread runs
// NEURONS_PER_THREAD neurons, i = g + k * threads (k = 0..NEURONS_PER_THREAD-1, threads = p.threads
// = ceil(n / NEURONS_PER_THREAD)), so neighbouring lanes still touch neighbouring neurons; it
// sums its own spikes and adds them to spike_count[0] with one global atomicAdd. The count is a
// sum of integers, so it equals the workgroup version's exactly; every other output is the
// same per-neuron loop, bit for bit.
// Dispatch: grid_1d(threads, 64); g = gid.x + gid.y * nwg.x * 64.

const NEURONS_PER_THREAD: u32 = 16u;

struct Params {
    n: u32, t: u32, in_stride_t: u32, save_trace: u32,
    beta: f32, shift: f32, out_scale: f32, surrogate: u32,
    count_n: u32, init: f32, threads: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read>       input: array<f32>;        // [T, n] or [n]
@group(0) @binding(1) var<storage, read>       vth_buf: array<f32>;      // [1]
@group(0) @binding(2) var<storage, read>       leak_buf: array<f32>;     // [1]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;          // [T, n]
@group(0) @binding(4) var<storage, read_write> u_trace: array<f32>;      // [T, n] u_tmp
@group(0) @binding(5) var<storage, read_write> spike_count: array<atomic<u32>>;
@group(0) @binding(6) var<uniform>             p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * 64u;
    if (g >= p.threads) { return; }
    let vth = vth_buf[0];
    let leak = leak_buf[0];
    let height = p.beta * vth * p.out_scale;
    var counted = 0u;
    for (var k = 0u; k < NEURONS_PER_THREAD; k++) {
        let i = g + k * p.threads;
        if (i >= p.n) { break; }
        var u = p.init * vth;
        var count = 0u;
        for (var t = 0u; t < p.t; t++) {
            let ut = leak * u + input[t * p.in_stride_t + i] + p.shift;
            let o = t * p.n + i;
            if (p.save_trace != 0u) { u_trace[o] = ut; }
            if (ut > vth) {
                out[o] = height;
                u = ut - vth;
                count += 1u;
            } else {
                out[o] = 0.0;
                u = ut;
            }
        }
        if (i < p.count_n) { counted += count; }
    }
    if (counted > 0u) { atomicAdd(&spike_count[0], counted); }
}
