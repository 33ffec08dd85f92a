// spike_map_count: counts[i % hw] += 1 for every i < n with x[i] != 0 and i % step < count_n.
// Counts the non-zero inputs (spikes) of a layer per spatial position, summed
// over rows (time x batch) and channels; the host multiplies each position by
// its exact fan-out to count synaptic operations (ACs). counts accumulate.
// Each workgroup counts into a shared map when hw <= 4096, else straight to
// global atomics. Threads stride over x, so the grid stays small.
// Layout: x [rows, C, H*W] f32 (flat n = rows*C*H*W), counts [hw] u32. Rows are
// [T, batch]: step = batch*C*H*W, and count_n = valid*C*H*W skips the padding images
// of a partial batch (count_n = step counts everything).
// Dispatch: (min(ceil(n / 256), 1024), 1, 1); i = gid.x + k * nwg.x * 256.

struct Params { n: u32, hw: u32, step: u32, count_n: u32 }

const LOCAL: u32 = 4096u;

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<uniform>             p: Params;

var<workgroup> local_counts: array<atomic<u32>, 4096>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let use_local = p.hw <= LOCAL;
    if (use_local) {
        for (var s = lid; s < p.hw; s += 256u) { atomicStore(&local_counts[s], 0u); }
    }
    workgroupBarrier();
    let stride = nwg.x * 256u;
    for (var i = gid.x; i < p.n; i += stride) {
        if (x[i] != 0.0 && i % p.step < p.count_n) {
            let s = i % p.hw;
            if (use_local) { atomicAdd(&local_counts[s], 1u); } else { atomicAdd(&counts[s], 1u); }
        }
    }
    workgroupBarrier();
    if (use_local) {
        for (var s = lid; s < p.hw; s += 256u) {
            let c = atomicLoad(&local_counts[s]);
            if (c > 0u) { atomicAdd(&counts[s], c); }
        }
    }
}
