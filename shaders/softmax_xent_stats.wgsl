// softmax_xent_stats: stats = [sum_r loss[r], sum_r correct[r]] over all n rows (rows
// beyond n_valid hold 0), stage 2 of softmax_xent. One workgroup: thread l adds rows
// l, l+256, ... in order, then a fixed tree: deterministic, no float atomics.
// Layout: row_stats [2, n] (loss, correct); stats [2].
// Dispatch: (1, 1, 1).

struct Params { n: u32, classes: u32, n_valid: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       row_stats: array<f32>; // [2, n]
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;     // [2]
@group(0) @binding(2) var<uniform>             p: Params;

var<workgroup> red_loss: array<f32, 256>;
var<workgroup> red_correct: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var loss = 0.0;
    var correct = 0.0;
    for (var r = lid; r < p.n; r += 256u) {
        loss += row_stats[r];
        correct += row_stats[p.n + r];
    }
    red_loss[lid] = loss;
    red_correct[lid] = correct;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red_loss[lid] += red_loss[lid + s];
            red_correct[lid] += red_correct[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        stats[0] = red_loss[0];
        stats[1] = red_correct[0];
    }
}
