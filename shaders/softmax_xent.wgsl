// softmax_xent: mean softmax cross-entropy, one thread per row r (stage 1 of 2).
// For r < n_valid, with m = max_c z[r, c] (subtracted for stability), S = sum_c exp(z - m):
//   loss[r]       = log(S) - (z[r, label] - m)
//   dlogits[r, c] = (exp(z[r, c] - m) / S - [c == label]) / n_valid
//   correct[r]    = argmax_c z[r, c] == label   (ties: the first maximum)
// Rows r >= n_valid (a short last batch) get dlogits 0 and contribute nothing.
// Labels must be < classes (a larger one is read as classes - 1, never out of bounds).
// Layout: logits, dlogits [n, classes]; labels [n] u32; row_stats [2, n] = (loss, correct),
//   summed by softmax_xent_stats.
// Dispatch: grid_1d(n, 256); r = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, classes: u32, n_valid: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       logits: array<f32>;    // [n, classes]
@group(0) @binding(1) var<storage, read>       labels: array<u32>;    // [n]
@group(0) @binding(2) var<storage, read_write> dlogits: array<f32>;   // [n, classes]
@group(0) @binding(3) var<storage, read_write> row_stats: array<f32>; // [2, n]
@group(0) @binding(4) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 256u;
    if (r >= p.n) { return; }
    let base = r * p.classes;
    if (r >= p.n_valid) {
        for (var c = 0u; c < p.classes; c++) { dlogits[base + c] = 0.0; }
        row_stats[r] = 0.0;
        row_stats[p.n + r] = 0.0;
        return;
    }
    var m = logits[base];
    var arg = 0u;
    for (var c = 1u; c < p.classes; c++) {
        let v = logits[base + c];
        if (v > m) { m = v; arg = c; }
    }
    var sum = 0.0;
    for (var c = 0u; c < p.classes; c++) { sum += exp(logits[base + c] - m); }
    let label = min(labels[r], p.classes - 1u);
    row_stats[r] = log(sum) - (logits[base + label] - m);
    row_stats[p.n + r] = select(0.0, 1.0, arg == label);
    let inv_n = 1.0 / f32(p.n_valid);
    for (var c = 0u; c < p.classes; c++) {
        let prob = exp(logits[base + c] - m) / sum;
        dlogits[base + c] = (prob - select(0.0, 1.0, c == label)) * inv_n;
    }
}
