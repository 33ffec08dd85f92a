// threshold_relu_mu_reduce (stage 2 of 2): dmu[0] = sum_g partial[g]   (OVERWRITES dmu)
// One workgroup: thread t sums partials t, t+256, ... then a fixed-order tree reduction, so the
// result is deterministic for a given partial count.
// Dispatch: [1, 1, 1].

struct Params { groups: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       partial: array<f32>;  // [groups]
@group(0) @binding(1) var<storage, read_write> dmu: array<f32>;      // [1]
@group(0) @binding(2) var<uniform>             p: Params;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var g = lid; g < p.groups; g += 256u) {
        acc += partial[g];
    }
    part[lid] = acc;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h /= 2u) {
        if (lid < h) { part[lid] += part[lid + h]; }
        workgroupBarrier();
    }
    if (lid == 0u) { dmu[0] = part[0]; }
}
