// activation_backward_fused: the threshold-ReLU / QCFS backward in one pass over x and dy,
// replacing threshold_relu_backward(_vec4) + stage 1 of the mu gradient
// (threshold_relu_backward_mu or qcfs_backward_mu), with the same bits as that sequence:
//   dx[i]      = dy[i] if 0 < x[i] < mu else 0                    (OVERWRITES dx)
//   partial[g] = sum over group g's p.per_group elements of dy[i] * dy_dmu(x[i])
//   dy_dmu(v)  = [v >= mu]                          (p.levels == 0: threshold ReLU)
//              = 1 if v >= mu, 0 if v <= 0, q - v/mu otherwise (p.levels = L: QCFS, q its level)
// Stage 2 is unchanged (threshold_relu_mu_reduce sums the partials into dmu).
// Same sums as the unfused stage 1: there, lane l of 256 adds elements start + l + 256k in turn
// and a fixed tree halves the 256 lane sums (part[l] += part[l + h], h = 128 ... 1). Here thread t
// of 64 holds lanes 4t..4t+3 as one vec4 (one aligned vec4 load per row of 256 elements gives
// all four lanes' next terms), so every lane sum sees the same terms in the same order, and the
// tree runs on vec4s down to h = 4 and then finishes .xy + .zw, .x + .y as lanes 0..3 would.
// Why: x and dy are read once instead of twice, as vec4s (on llvmpipe each storage access is a
// loop over the SIMD lanes whatever its width), and one dispatch replaces two.
// Needs n % 4 == 0 and per_group % 256 == 0 (the op builder falls back to the unfused pair else).
// Dispatch: grid_1d(groups * 64, 64), g = wid.x + wid.y * nwg.x.

struct Params { n: u32, per_group: u32, groups: u32, levels: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;       // [1]
@group(0) @binding(2) var<storage, read>       dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;  // [groups]
@group(0) @binding(5) var<uniform>             p: Params;

var<workgroup> part: array<vec4<f32>, 64>;

// One element's dy_dmu, exactly as qcfs_backward_mu.wgsl computes it.
fn qcfs_dy_dmu(v: f32, m: f32, l: f32) -> f32 {
    if (v >= m) { return 1.0; }
    if (v <= 0.0) { return 0.0; }
    let q = clamp(floor((v * l) / m + 0.5) / l, 0.0, 1.0);
    return q - v / m;
}

// The four terms added to lanes 4t..4t+3 for one row.
fn mu_terms(v: vec4<f32>, d: vec4<f32>, m: f32) -> vec4<f32> {
    if (p.levels == 0u) { return select(vec4<f32>(0.0), d, v >= vec4<f32>(m)); }
    let l = f32(p.levels);
    let g = vec4<f32>(qcfs_dy_dmu(v.x, m, l), qcfs_dy_dmu(v.y, m, l), qcfs_dy_dmu(v.z, m, l),
                      qcfs_dy_dmu(v.w, m, l));
    return d * g;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = wid.x + wid.y * nwg.x;      // uniform per workgroup, so the barriers stay uniform
    if (g >= p.groups) { return; }
    let m = mu[0];
    let start = g * (p.per_group / 4u);
    let end = min(start + p.per_group / 4u, p.n / 4u);
    var acc = vec4<f32>(0.0);
    for (var q = start + lid; q < end; q += 64u) {
        let v = x[q];
        let d = dy[q];
        let inside = (v > vec4<f32>(0.0)) & (v < vec4<f32>(m));
        dx[q] = select(vec4<f32>(0.0), d, inside);
        acc += mu_terms(v, d, m);
    }
    part[lid] = acc;
    workgroupBarrier();
    for (var h = 32u; h > 0u; h /= 2u) {
        if (lid < h) { part[lid] += part[lid + h]; }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let s = part[0];
        let pair = s.xy + s.zw;
        partial[g] = pair.x + pair.y;
    }
}
