// qcfs_backward_mu (stage 1 of 2): partial[g] = sum of dy[i] * dy_dmu(x[i]) over the
// p.per_group consecutive elements of workgroup g, where with c = x / mu and
// q = clamp(floor(c * L + 1/2) / L, 0, 1) (the forward's level; the floor is straight-through):
//   dy_dmu = 1       where x >= mu      (y = mu)
//          = q - c   where 0 < x < mu   (y = mu * q(x / mu), dq/dc = 1)
//          = 0       where x <= 0
// Threads stride by 256 inside the chunk (coalesced), then a fixed-order tree reduction:
// deterministic, no float atomics. Stage 2 is threshold_relu_mu_reduce.
// Dispatch: grid_1d(groups * 256, 256), groups = ceil(n / per_group), per_group a multiple of 256.

struct Params { n: u32, per_group: u32, groups: u32, levels: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;       // [1]
@group(0) @binding(2) var<storage, read>       dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;  // [groups]
@group(0) @binding(4) var<uniform>             p: Params;

var<workgroup> part: array<f32, 256>;

fn dy_dmu(v: f32, m: f32, l: f32) -> f32 {
    if (v >= m) { return 1.0; }
    if (v <= 0.0) { return 0.0; }
    let q = clamp(floor((v * l) / m + 0.5) / l, 0.0, 1.0);
    return q - v / m;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = wid.x + wid.y * nwg.x;      // uniform per workgroup, so the barriers stay uniform
    if (g >= p.groups) { return; }
    let m = mu[0];
    let l = f32(p.levels);
    let start = g * p.per_group;
    let end = min(start + p.per_group, p.n);
    var acc = 0.0;
    for (var i = start + lid; i < end; i += 256u) {
        acc += dy[i] * dy_dmu(x[i], m, l);
    }
    part[lid] = acc;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h /= 2u) {
        if (lid < h) { part[lid] += part[lid + h]; }
        workgroupBarrier();
    }
    if (lid == 0u) { partial[g] = part[0]; }
}
