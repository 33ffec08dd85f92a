// sgd_step: PyTorch SGD with momentum (dampening 0, no Nesterov), one parameter tensor:
//   d = g + weight_decay * p;  buf = momentum * buf + d;  p -= lr * buf
// buf starts at 0, so the first step gives buf = d, as PyTorch does. lr etc. are
// set per step through the uniform.
// Layout: grad, param, buf [n] flat.
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, lr: f32, momentum: f32, weight_decay: f32 }

@group(0) @binding(0) var<storage, read>       grad: array<f32>;   // [n]
@group(0) @binding(1) var<storage, read_write> param: array<f32>;  // [n]
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;    // [n] momentum
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let w = param[i];
    let d = grad[i] + p.weight_decay * w;
    let b = p.momentum * buf[i] + d;
    buf[i] = b;
    param[i] = w - p.lr * b;
}
