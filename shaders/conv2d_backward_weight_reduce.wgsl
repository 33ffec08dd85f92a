// conv2d_backward_weight_reduce: dw[i] = sum_{s < S} part[s*len + i]   (split-K partial sums)
// Layouts: part [S, len], dw [len] (len = Co*Ci*K*K), f32. Overwrites dw.
// Dispatch: grid_1d(len, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { len: u32, splits: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       part: array<f32>;  // [S, len]
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;    // [len]
@group(0) @binding(2) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.len) { return; }
    var acc = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        acc += part[s * p.len + i];
    }
    dw[i] = acc;
}
