// spike_map_count: counts[i % hw] += 1 for every i < n with x[i] != 0 and i % step < count_n.
// Counts the non-zero inputs (spikes) of a layer per spatial position, summed
// over rows (time x batch) and channels; the host multiplies each position by
// its exact fan-out to count synaptic operations (ACs). counts accumulate.
// Each thread owns one position s and one of `chunks` interleaved slices of the
// m = n / hw values at that position (x[j * hw + s], j = k, k + chunks, ...), sums
// them in a register and adds the sum to counts[s] once. Why not workgroup-shared
// counters: one atomic per spike, two barriers and a clear and flush of the whole
// map per workgroup made this the slowest op of an SNN evaluation on CPU adapters
// (SwiftShader: ~0.5 s per dispatch); here neighbouring threads read neighbouring
// positions (coalesced), and the only atomics are the final per-thread adds.
// Layout: x [rows, C, H*W] f32 (flat n = rows*C*H*W), counts [hw] u32. Rows are
// [T, batch]: step = batch*C*H*W, and count_n = valid*C*H*W skips the padding images
// of a partial batch (count_n = step counts everything).
// Dispatch: (ceil(hw * chunks / 256), 1, 1); thread g: s = g % hw, k = g / hw.

struct Params { n: u32, hw: u32, step: u32, count_n: u32, chunks: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = gid.x % p.hw;
    let k = gid.x / p.hw;
    if (k >= p.chunks) { return; }
    let m = p.n / p.hw;
    var c = 0u;
    for (var j = k; j < m; j += p.chunks) {
        let i = j * p.hw + s;
        if (x[i] != 0.0 && i % p.step < p.count_n) { c += 1u; }
    }
    if (c > 0u) { atomicAdd(&counts[s], c); }
}
