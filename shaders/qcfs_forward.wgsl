// qcfs_forward: y[i] = mu * clamp(floor(x[i] * L / mu + 1/2) / L, 0, 1)
// The quantization-clip-floor-shift activation (QCFS, Bu et al., ICLR 2022): the threshold
// ReLU clip(x, 0, mu) rounded to L levels of mu / L. An IF neuron with V_th = mu that
// starts at V_th / 2 emits exactly this rate at T = L for a constant input current.
// Evaluated as floor((x * L) / mu + 0.5), then / L, clamp, * mu (the CPU twin's order).
// mu: a 1-element tensor (one trainable level height per layer). Flat f32 arrays of p.n elements.
// Backward: dx is threshold_relu_backward (straight-through floor), dmu is qcfs_backward_mu.
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, levels: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;  // [1]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let m = mu[0];
    let l = f32(p.levels);
    let q = floor((x[i] * l) / m + 0.5) / l;
    y[i] = clamp(q, 0.0, 1.0) * m;
}
