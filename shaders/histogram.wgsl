// histogram: counts[slot(x[i])] += 1 over all i, slots [under, bins..., over]:
//   x < lo -> 0;  lo <= x < hi -> 1 + min(u32((x - lo) * scale), bins - 1);  else (and NaN) -> bins + 1
// scale = bins / (hi - lo) comes from the host (f32), so host and shader pick the same
// bin. counts accumulate (the caller clears them).
// Every thread adds to the global counters. A workgroup-shared copy would save
// global atomics on small histograms, but the calibration's has 16,384 bins (too
// many to share), and merely declaring the unused 16 KiB shared array made this
// kernel take ~5 s per calibration batch on SwiftShader against ~0.15 s without it
// (likely WebGPU's zero-fill of workgroup memory in each of the 1,024 workgroups). Threads stride over x, so the grid stays small.
// Layout: x [n] f32, counts [bins + 2] u32.
// Dispatch: (min(ceil(n / 256), 1024), 1, 1); i = gid.x + k * nwg.x * 256.

struct Params { n: u32, bins: u32, lo: f32, hi: f32, scale: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;              // [n]
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>; // [bins + 2]
@group(0) @binding(2) var<uniform>             p: Params;

fn slot(v: f32) -> u32 {
    if (v < p.lo) { return 0u; }
    if (v < p.hi) { return 1u + min(u32((v - p.lo) * p.scale), p.bins - 1u); }
    return p.bins + 1u;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * 256u;
    for (var i = gid.x; i < p.n; i += stride) { atomicAdd(&counts[slot(x[i])], 1u); }
}
