// sum_over_t: y[i] = sum_{t=0..T-1} x[t, i], added in t order (the logits are the
// output layer's per-step outputs summed over T; also sums d_input of a layer whose
// input current was computed once).
// Layout: x [T, n] t-major, y [n] (overwritten).
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, t: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;  // [T, n]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;  // [n]
@group(0) @binding(2) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    var acc = 0.0;
    for (var t = 0u; t < p.t; t++) { acc += x[t * p.n + i]; }
    y[i] = acc;
}
