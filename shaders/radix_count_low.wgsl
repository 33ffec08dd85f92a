// radix_count_low: the second pass of the exact selection (see radix_count_high). For every
// x[i] whose high bucket h = key(x[i]) >> LOW_BITS was given a region r = region[h]
// (0xffffffff: none), counts[r * 2^LOW_BITS + (key & (2^LOW_BITS - 1))] += 1. A wanted rank's
// value is then the key (h << LOW_BITS) | l where l is the low digit at which the region's
// cumulative count reaches the rank's place inside bucket h: exact, no interpolation.
// Accumulates (the caller clears counts).
// Layout: x [n] f32, region [2^(32 - LOW_BITS)] u32, counts [regions * 2^LOW_BITS] u32.
// Dispatch: (min(ceil(n / 256), 1024), 1, 1); i = gid.x + k * nwg.x * 256.

struct Params { n: u32, low_bits: u32, _p0: u32, _p1: u32 }

const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read>       region: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<uniform>             p: Params;

fn key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * 256u;
    let low_mask = (1u << p.low_bits) - 1u;
    for (var i = gid.x; i < p.n; i += stride) {
        let k = key(x[i]);
        let r = region[k >> p.low_bits];
        if (r != NONE) {
            atomicAdd(&counts[(r << p.low_bits) + (k & low_mask)], 1u);
        }
    }
}
