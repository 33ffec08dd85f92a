// threshold_relu_forward: y[i] = min(max(x[i], 0), mu)    (the trainable clip of the DNN)
// mu: a 1-element tensor (one trainable threshold per layer). Flat f32 arrays of p.n elements.
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;  // [1]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    y[i] = min(max(x[i], 0.0), mu[0]);
}
