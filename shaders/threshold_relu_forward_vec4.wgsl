// threshold_relu_forward_vec4: y[i] = min(max(x[i], 0), mu) on 4 consecutive elements per thread,
// the same expression per element as threshold_relu_forward, so the same bits.
// Why: on llvmpipe every storage access whose address differs per lane is a loop over the SIMD
// lanes, costing about the same at any width, so one vec4 access replaces four scalar ones.
// Only for p.n % 4 == 0 (the op builder picks this kernel then, the scalar one otherwise).
// p.n counts f32 elements, as in the scalar kernel; x and y are read as n / 4 vec4s.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;  // [1]
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    y[q] = min(max(x[q], vec4<f32>(0.0)), vec4<f32>(mu[0]));
}
