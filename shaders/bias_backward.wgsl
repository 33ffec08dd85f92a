// bias_backward: db[c] = sum_{n,s} dy[n,c,s]      (dy NCHW with s = H*W; linear uses s = 1)
// OVERWRITES db. One workgroup per channel: its 64 threads stride over the n*s terms, then a
// fixed-order tree reduction in workgroup memory (deterministic, no atomics).
// Dispatch: grid_1d(c * 64, 64) -> one workgroup per channel, folded into y past 65,535.

struct Params { n: u32, c: u32, spatial: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<f32>;  // [n, c, spatial]
@group(0) @binding(1) var<storage, read_write> db: array<f32>;  // [c]
@group(0) @binding(2) var<uniform>             p: Params;

const WG: u32 = 64u;
var<workgroup> part: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = wid.x + wid.y * nwg.x;     // uniform per workgroup, so the barriers stay uniform
    if (ch >= p.c) { return; }
    let total = p.n * p.spatial;
    // Term t = lid + WG k is (b, s) = (t / spatial, t % spatial). Stepping t by WG adds
    // (WG / spatial, WG % spatial) with at most one carry, so only the first term divides
    // (an integer division per term was most of this kernel's time on llvmpipe).
    let step_b = WG / p.spatial;
    let step_s = WG % p.spatial;
    var b = lid / p.spatial;
    var s = lid % p.spatial;
    var acc = 0.0;
    for (var t = lid; t < total; t += WG) {
        acc += dy[(b * p.c + ch) * p.spatial + s];
        b += step_b;
        s += step_s;
        if (s >= p.spatial) { s -= p.spatial; b += 1u; }
    }
    part[lid] = acc;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h /= 2u) {
        if (lid < h) { part[lid] += part[lid + h]; }
        workgroupBarrier();
    }
    if (lid == 0u) { db[ch] = part[0]; }
}
