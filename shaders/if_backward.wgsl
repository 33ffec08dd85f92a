// if_backward: BPTT of if_forward, one thread per neuron looping t = T..1, plus the
// first stage of the deterministic dvth / dleak reductions (one partial per workgroup).
// Forward: u(0) = init*vth; u_tmp(t) = leak*u(t-1) + I(t) + shift; s(t) = H(u_tmp(t) - vth);
//   out(t) = s(t)*h with h = beta*vth*out_scale; u(t) = u_tmp(t) - sd(t)*vth, where
//   sd is s detached (no gradient through the spike inside the reset).
// Surrogate sg(t) ~ dS/du_tmp at u_tmp(t) (x = u_tmp/vth - 1):
//   0 Boxcar      1 if 0 <= u_tmp <= 2*vth else 0   (paper: |x| <= 1)
//   1 Triangle    max(0, 1 - |x|)
//   2 FastSigmoid 1 / (1 + K|x|)^2 with K = 2 (unit area in x, like the triangle)
//   and dS/dvth = -sg (the width's own dependence on vth is ignored).
// Chain rule, gu(t) = dL/du(t) from the future, gu(T) = 0:
//   g_s(t)    = g_out(t) * h
//   g_utmp(t) = gu(t) + g_s(t)*sg(t)                     (u(t) = u_tmp(t) - ..., and out(t))
//   gu(t-1)   = leak * g_utmp(t)
//   d_input(t) = g_utmp(t)                              ([T, n] even for in_stride_t = 0:
//                                                        the caller sums over T)
//   dleak    += g_utmp(t) * u(t-1), u(t-1) = u_tmp(t-1) - s(t-1)*vth, u(0) = init*vth
//   dvth     += g_out(t)*s(t)*beta*out_scale            (output height)
//             - gu(t)*s(t)                              (reset)
//             - g_s(t)*sg(t)                            (spike, dS/dvth = -sg)
//   and once, after the loop: dvth += gu(0) * init         (u(0) = init*vth)
// Layout: u_trace, g_out, d_input [T, n] t-major; vth, leak [1];
//   part_vth, part_leak [workgroups] = per-workgroup sums (tree in shared memory),
//   summed further by reduce_stage. d_input is overwritten.
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256; w = wid.x + wid.y * nwg.x.

struct Params {
    n: u32, t: u32, in_stride_t: u32, save_trace: u32,
    beta: f32, shift: f32, out_scale: f32, surrogate: u32,
    count_n: u32, init: f32, _p1: u32, _p2: u32,   // count_n: if_forward only
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

var<workgroup> red_vth: array<f32, 256>;
var<workgroup> red_leak: array<f32, 256>;

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

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = gid.x + gid.y * nwg.x * 256u;
    var dv = 0.0;
    var dl = 0.0;
    if (i < p.n) {
        let vth = vth_buf[0];
        let leak = leak_buf[0];
        let bo = p.beta * p.out_scale;
        let height = p.beta * vth * p.out_scale;
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
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red_vth[lid] += red_vth[lid + s];
            red_leak[lid] += red_leak[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let w = wid.x + wid.y * nwg.x;
        part_vth[w] = red_vth[0];
        part_leak[w] = red_leak[0];
    }
}
