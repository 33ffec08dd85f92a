// qcfs_forward_vec4: y[i] = mu * clamp(floor(x[i] * L / mu + 1/2) / L, 0, 1)
// qcfs_forward (see its header) on 4 consecutive elements per thread, each element evaluated
// in the same order (floor((x * L) / mu + 0.5), then / L, clamp, * mu), so the same bits:
// on llvmpipe each storage access costs about the same at any width, so vec4 accesses do a
// quarter of the scalar kernel's. Only for p.n % 4 == 0 (the op builder picks it then).
// p.n counts f32 elements; x and y are read as n / 4 vec4s.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, levels: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;  // [1]
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    let m = vec4<f32>(mu[0]);
    let l = vec4<f32>(f32(p.levels));
    let lv = floor((x[q] * l) / m + vec4<f32>(0.5)) / l;
    y[q] = clamp(lv, vec4<f32>(0.0), vec4<f32>(1.0)) * m;
}
