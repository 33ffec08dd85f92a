// sgd_step_vec4: PyTorch SGD with momentum (dampening 0, no Nesterov), one parameter tensor:
//   d = g + weight_decay * p;  buf = momentum * buf + d;  p -= lr * buf
// sgd_step (see its header) on 4 consecutive elements per thread, the same operations per
// element in the same order, so the same bits: on llvmpipe each storage access costs about
// the same at any width, so vec4 accesses do a quarter of the scalar kernel's.
// Only for p.n % 4 == 0 (the op builder picks it then). p.n counts f32 elements (as set by
// sgd_params for either kernel); grad, param, buf are read as n / 4 vec4s.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, lr: f32, momentum: f32, weight_decay: f32 }

@group(0) @binding(0) var<storage, read>       grad: array<vec4<f32>>;   // [n / 4]
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;  // [n / 4]
@group(0) @binding(2) var<storage, read_write> buf: array<vec4<f32>>;    // [n / 4] momentum
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    let w = param[q];
    let d = grad[q] + p.weight_decay * w;
    let b = p.momentum * buf[q] + d;
    buf[q] = b;
    param[q] = w - p.lr * b;
}
