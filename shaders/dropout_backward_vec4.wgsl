// dropout_backward_vec4: dx[i] = dy[i] * mask[i]      (OVERWRITES dx; mask from dropout_forward)
// dropout_backward on 4 consecutive elements per thread (the same product per element): on
// llvmpipe each storage access costs about the same at any width, so vec4 accesses do a
// quarter of the scalar kernel's. Only for p.n % 4 == 0 (the op builder picks it then).
// p.n counts f32 elements; the arrays are read as n / 4 vec4s.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       mask: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    dx[q] = dy[q] * mask[q];
}
