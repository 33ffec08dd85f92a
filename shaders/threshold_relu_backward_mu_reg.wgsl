// threshold_relu_backward_mu_reg (stage 1 of 2, register-only): partial[g] = sum of dy[i] where
// x[i] >= mu, over the p.per_group consecutive elements of group g, summed exactly as
// threshold_relu_backward_mu.wgsl's workgroup does, so both give the same bits: lane l's partial
// adds dy[start + l + 256 k] for k = 0, 1, ... in turn (from 0.0), then a fixed-order tree halves
// the 256 partials (part[l] += part[l + h], h = 128 ... 1). Here one thread plays the whole
// workgroup with the 256 partials in a private array: no workgroup memory, no barriers, which
// SwiftShader (the page's CPU WebGPU) pays dearly for (1.6M elements: 190 CPU-ms with barriers).
// The chunk is walked in order (terms i0 + l for each row i0 of 256), so the loads are sequential.
// Stage 2 (threshold_relu_mu_reduce) sums the partials into dmu.
// Dispatch: grid_1d(groups, 64), g = (wid.x + wid.y * nwg.x) * 64 + lid.x.

struct Params { n: u32, per_group: u32, groups: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read>       mu: array<f32>;       // [1]
@group(0) @binding(2) var<storage, read>       dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;  // [groups]
@group(0) @binding(4) var<uniform>             p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (g >= p.groups) { return; }
    let m = mu[0];
    let start = g * p.per_group;
    let end = min(start + p.per_group, p.n);
    var part: array<f32, 256>;
    for (var i0 = start; i0 < end; i0 += 256u) {
        for (var l = 0u; l < 256u; l++) {
            let i = i0 + l;
            if (i < end) { part[l] += select(0.0, dy[i], x[i] >= m); }
        }
    }
    for (var h = 128u; h > 0u; h /= 2u) {
        for (var l = 0u; l < h; l++) { part[l] += part[l + h]; }
    }
    partial[g] = part[0];
}
