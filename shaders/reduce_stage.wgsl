// reduce_stage: one stage of a deterministic tree reduction. Workgroup w folds
// x[256*k*w .. 256*k*(w + 1) - 1] into y[w] (k = per_thread): thread l first folds
// x[256*k*w + l + 256*j] for j = 0..k in that order, then the workgroup's tree folds
// the 256 partial values (fixed pairing order, no float atomics), so the result is
// the same on every run. op: 0 sum, 1 max, 2 min (identity 0, -inf, +inf fills the
// tail). max/min with NaN inputs follow the device's max/min.
// Why k > 1 on long inputs: each workgroup's tree costs 8 barriers, and CPU adapters
// (SwiftShader) run a barrier by switching between the workgroup's invocations, so
// a stage of n / 256 workgroups was the slowest op of a calibration step there;
// the host picks k so a stage has at most ~256 workgroups (nn::reduce).
// Stages repeat (n -> workgroups) until one value is left (nn::reduce).
// Layout: x [n], y [workgroups] with workgroups = nwg.x * nwg.y (folded grid).
// Dispatch: grid_1d(ceil(n / k), 256); w = wid.x + wid.y * nwg.x.

struct Params { n: u32, op: u32, per_thread: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;  // [n]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;  // [workgroups]
@group(0) @binding(2) var<uniform>             p: Params;

var<workgroup> buf: array<f32, 256>;

fn combine(a: f32, b: f32) -> f32 {
    switch p.op {
        case 1u: { return max(a, b); }
        case 2u: { return min(a, b); }
        default: { return a + b; }
    }
}

fn identity() -> f32 {
    switch p.op {
        // +-inf through a var: browsers reject infinite f32 constant expressions.
        case 1u: { var b = 0xff800000u; return bitcast<f32>(b); }
        case 2u: { var b = 0x7f800000u; return bitcast<f32>(b); }
        default: { return 0.0; }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let w = wid.x + wid.y * nwg.x;
    let base = w * 256u * p.per_thread + lid;
    var v = identity();
    for (var j = 0u; j < p.per_thread; j++) {
        let i = base + j * 256u;
        if (i < p.n) { v = combine(v, x[i]); }
    }
    buf[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) { buf[lid] = combine(buf[lid], buf[lid + s]); }
        workgroupBarrier();
    }
    if (lid == 0u) { y[wid.x + wid.y * nwg.x] = buf[0]; }
}
