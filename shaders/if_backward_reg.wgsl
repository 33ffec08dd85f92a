// if_backward_reg: if_backward.wgsl (see there for the BPTT formulas and the layouts) for CPU
// adapters: one thread plays a whole 256-neuron workgroup of it, keeping the 256 per-neuron dvth
// and dleak terms in private arrays and summing them with the same tree (pairs lid, lid + s for
// s = 128, 64, ..., 1), so each part_vth / part_leak is the same bits; no workgroup memory and
// no barriers, which SwiftShader (the page's CPU WebGPU) runs as coroutine switches.
// Dispatch: grid_1d(parts, 64), p.threads = parts = the workgroups if_backward.wgsl would run
// (grid_1d(n, 256), folded grids included); thread w = gid.x + gid.y * nwg.x * 64 runs neurons
// w*256 .. w*256+255.

struct Params {
    n: u32, t: u32, in_stride_t: u32, save_trace: u32,
    beta: f32, shift: f32, out_scale: f32, surrogate: u32,
    count_n: u32, init: f32, threads: u32, _p2: u32,   // count_n: if_forward only
}

const FAST_SIGMOID_K: f32 = 2.0;

@group(0) @binding(0) var<storage, read>       u_trace: array<f32>;   // [T, n] u_tmp
@group(0) @binding(1) var<storage, read>       vth_buf: array<f32>;   // [1]
@group(0) @binding(2) var<storage, read>       leak_buf: array<f32>;  // [1]
@group(0) @binding(3) var<storage, read>       g_out: array<f32>;     // [T, n]
@group(0) @binding(4) var<storage, read_write> d_input: array<f32>;   // [T, n]
@group(0) @binding(5) var<storage, read_write> part_vth: array<f32>;  // [workgroups]
@group(0) @binding(6) var<storage, read_write> part_leak: array<f32>; // [workgroups]
@group(0) @binding(7) var<uniform>             p: Params;


fn surrogate(ut: f32, vth: f32) -> f32 {
    switch p.surrogate {
        case 1u: { return max(0.0, 1.0 - abs(ut / vth - 1.0)); }
        case 2u: {
            let d = 1.0 + FAST_SIGMOID_K * abs(ut / vth - 1.0);
            return 1.0 / (d * d);
        }
        default: { return select(0.0, 1.0, ut >= 0.0 && ut <= 2.0 * vth); }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = gid.x + gid.y * nwg.x * 64u;
    if (w >= p.threads) { return; }
    let vth = vth_buf[0];
    let leak = leak_buf[0];
    let bo = p.beta * p.out_scale;
    let height = p.beta * vth * p.out_scale;
    var red_vth: array<f32, 256>;
    var red_leak: array<f32, 256>;
    for (var lid = 0u; lid < 256u; lid++) {
        let i = w * 256u + lid;
        var dv = 0.0;
        var dl = 0.0;
        if (i < p.n) {
            var gu = 0.0;
            for (var k = 0u; k < p.t; k++) {
                let t = p.t - 1u - k;
                let o = t * p.n + i;
                let ut = u_trace[o];
                let s = select(0.0, 1.0, ut > vth);
                let go = g_out[o];
                let gsg = go * height * surrogate(ut, vth);
                let gut = gu + gsg;
                d_input[o] = gut;
                var uprev = p.init * vth;
                if (t > 0u) {
                    let up = u_trace[o - p.n];
                    uprev = select(up, up - vth, up > vth);
                }
                dl += gut * uprev;
                dv += go * s * bo - gu * s - gsg;
                gu = leak * gut;
            }
            dv += gu * p.init;
        }
        red_vth[lid] = dv;
        red_leak[lid] = dl;
    }
    for (var s = 128u; s > 0u; s >>= 1u) {
        for (var lid = 0u; lid < s; lid++) {
            red_vth[lid] += red_vth[lid + s];
            red_leak[lid] += red_leak[lid + s];
        }
    }
    part_vth[w] = red_vth[0];
    part_leak[w] = red_leak[0];
}
