// activation_backward_fused_reg: activation_backward_fused.wgsl (see there for the formula and
// why its sums equal the unfused sequence's bits) with one thread playing a whole workgroup and
// its 64 vec4 lane sums in a private array: no workgroup memory and no barriers, which
// SwiftShader (the page's CPU WebGPU) pays dearly for. The group's chunk is walked in order:
// for each row of 256 elements, the 64 vec4s of that row, so the loads are sequential.
// Needs n % 4 == 0 and per_group % 256 == 0 (the op builder falls back to the unfused pair else).
// Dispatch: grid_1d(groups, 64), g = (wid.x + wid.y * nwg.x) * 64 + lid.

struct Params { n: u32, per_group: u32, groups: u32, levels: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;       // [1]
@group(0) @binding(2) var<storage, read>       dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;  // [groups]
@group(0) @binding(5) var<uniform>             p: Params;

// One element's dy_dmu, exactly as qcfs_backward_mu.wgsl computes it.
fn qcfs_dy_dmu(v: f32, m: f32, l: f32) -> f32 {
    if (v >= m) { return 1.0; }
    if (v <= 0.0) { return 0.0; }
    let q = clamp(floor((v * l) / m + 0.5) / l, 0.0, 1.0);
    return q - v / m;
}

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
    let g = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (g >= p.groups) { return; }
    let m = mu[0];
    let start = g * (p.per_group / 4u);
    let end = min(start + p.per_group / 4u, p.n / 4u);
    var part: array<vec4<f32>, 64>;
    for (var q0 = start; q0 < end; q0 += 64u) {
        for (var t = 0u; t < 64u; t++) {
            let q = q0 + t;
            if (q < end) {
                let v = x[q];
                let d = dy[q];
                let inside = (v > vec4<f32>(0.0)) & (v < vec4<f32>(m));
                dx[q] = select(vec4<f32>(0.0), d, inside);
                part[t] += mu_terms(v, d, m);
            }
        }
    }
    for (var h = 32u; h > 0u; h /= 2u) {
        for (var t = 0u; t < h; t++) { part[t] += part[t + h]; }
    }
    let pair = part[0].xy + part[0].zw;
    partial[g] = pair.x + pair.y;
}
