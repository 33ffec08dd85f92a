// threshold_relu_backward_vec4: dx[i] = dy[i] if 0 < x[i] < mu else 0     (OVERWRITES dx)
// threshold_relu_backward on 4 consecutive elements per thread (same select per element, so
// the same bits): on llvmpipe each storage access costs about the same at any width, so
// vec4 accesses do a quarter of the scalar kernel's. Only for p.n % 4 == 0 (the op builder
// picks this kernel then). p.n counts f32 elements; x, dy, dx are read as n / 4 vec4s.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;  // [1]
@group(0) @binding(2) var<storage, read>       dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(4) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    let v = x[q];
    let inside = (v > vec4<f32>(0.0)) & (v < vec4<f32>(mu[0]));
    dx[q] = select(vec4<f32>(0.0), dy[q], inside);
}
