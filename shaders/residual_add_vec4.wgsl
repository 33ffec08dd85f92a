// residual_add_vec4: y[i] = a[i] + b[i] on 4 consecutive elements per thread (the residual join,
// and backward the accumulate of two gradients), the same add per element as residual_add, so the
// same bits: on llvmpipe each storage access costs about the same at any width, so vec4 accesses
// do a quarter of the scalar kernel's. Only for p.n % 4 == 0 (the op builder picks it then).
// p.n counts f32 elements; a, b, y are read as n / 4 vec4s.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    y[q] = a[q] + b[q];
}
