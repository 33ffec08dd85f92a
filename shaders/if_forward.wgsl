// if_forward: IF/LIF neuron over T steps, one thread per neuron (the loop over t
// is the only sequential part). Per neuron i, u(0) = init * vth (0 by default; 0.5 starts
// half-way to the threshold, which centres the rate code's rounding), t = 1..T:
//   u_tmp(t) = leak * u(t-1) + I(t) + shift       evaluated as (leak*u + I) + shift
//   s(t)     = u_tmp(t) > vth                      strict
//   out(t)   = s(t) * beta*vth*out_scale           out_scale scales the output only
//   u(t)     = u_tmp(t) - s(t) * vth               soft reset by the threshold
// Layout: I read at t*in_stride_t + i: in_stride_t = n for [T, n] t-major, 0 for one
//   constant current [n] reused at every step (direct encoding: the first conv runs once).
//   out, u_trace [T, n]; vth, leak [1]; spike_count [>= 1] u32.
// u_trace keeps u_tmp(t) for BPTT when save_trace != 0 (inference binds any buffer).
// spike_count[0] += the spikes of neurons i < count_n: per-workgroup total, one atomicAdd;
//   never cleared here. count_n = valid images x neurons per image leaves the padding rows
//   of a partial batch (i = image*per + j) out of the count; n when the batch is full.
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params {
    n: u32, t: u32, in_stride_t: u32, save_trace: u32,
    beta: f32, shift: f32, out_scale: f32, surrogate: u32,
    count_n: u32, init: f32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read>       input: array<f32>;        // [T, n] or [n]
@group(0) @binding(1) var<storage, read>       vth_buf: array<f32>;      // [1]
@group(0) @binding(2) var<storage, read>       leak_buf: array<f32>;     // [1]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;          // [T, n]
@group(0) @binding(4) var<storage, read_write> u_trace: array<f32>;      // [T, n] u_tmp
@group(0) @binding(5) var<storage, read_write> spike_count: array<atomic<u32>>;
@group(0) @binding(6) var<uniform>             p: Params;

var<workgroup> wg_spikes: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    if (lid == 0u) { atomicStore(&wg_spikes, 0u); }
    workgroupBarrier();
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < p.n) {
        let vth = vth_buf[0];
        let leak = leak_buf[0];
        let height = p.beta * vth * p.out_scale;
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
        if (count > 0u && i < p.count_n) { atomicAdd(&wg_spikes, count); }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let total = atomicLoad(&wg_spikes);
        if (total > 0u) { atomicAdd(&spike_count[0], total); }
    }
}
