// radix_count_high: counts[key(x[i]) >> LOW_BITS] += 1 over i < n, the first pass of an exact
// selection: key() maps f32 bits to u32 in the order of the values (negatives: all bits
// flipped; the rest: the sign bit set), so bucket h holds the values whose keys share the
// top 32 - LOW_BITS bits, and the k-th smallest value lies in the bucket where the
// cumulative count reaches k. Accumulates (the caller clears counts). NaN keys sort last.
// Layout: x [n] f32, counts [2^(32 - LOW_BITS)] u32 (global atomics: too many for shared memory).
// Dispatch: (min(ceil(n / 256), 1024), 1, 1); i = gid.x + k * nwg.x * 256.

struct Params { n: u32, low_bits: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<uniform>             p: Params;

fn key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * 256u;
    for (var i = gid.x; i < p.n; i += stride) {
        atomicAdd(&counts[key(x[i]) >> p.low_bits], 1u);
    }
}
