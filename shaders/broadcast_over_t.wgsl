// broadcast_over_t: y[t, i] = x[i] (the backward of sum_over_t: every step's output
// gets the gradient of the summed logits).
// Layout: x [n], y [T, n] t-major (overwritten); one thread per element of y.
// Dispatch: grid_1d(T*n, 256); j = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, t: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;  // [n]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;  // [T, n]
@group(0) @binding(2) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 256u;
    if (j >= p.n * p.t) { return; }
    y[j] = x[j % p.n];
}
