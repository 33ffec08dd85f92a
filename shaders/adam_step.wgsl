// adam_step: PyTorch Adam (L2 weight decay added to the gradient), AMSGrad optional:
//   g = grad + weight_decay * p
//   m = beta1*m + (1 - beta1)*g ;  v = beta2*v + (1 - beta2)*g^2
//   vh = amsgrad ? (vmax = max(vmax, v)) : v
//   p -= step_size * m / (sqrt(vh) / bc2_sqrt + eps)
//   with step_size = lr / (1 - beta1^step), bc2_sqrt = sqrt(1 - beta2^step) computed on
//   the host in f64 (AdamParams::prepared), step 1-based.
//   Then, if use_clamp != 0: p = min(p, clamp_max) (a leak stays <= 1).
// Layout: grad, param, m, v, vmax [n] flat (vmax untouched without amsgrad).
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params {
    n: u32, step: u32, lr: f32, beta1: f32,
    beta2: f32, eps: f32, weight_decay: f32, amsgrad: u32,
    clamp_max: f32, use_clamp: u32, step_size: f32, bc2_sqrt: f32,
}

@group(0) @binding(0) var<storage, read>       grad: array<f32>;   // [n]
@group(0) @binding(1) var<storage, read_write> param: array<f32>;  // [n]
@group(0) @binding(2) var<storage, read_write> m: array<f32>;      // [n] first moment
@group(0) @binding(3) var<storage, read_write> v: array<f32>;      // [n] second moment
@group(0) @binding(4) var<storage, read_write> vmax: array<f32>;   // [n] AMSGrad max of v
@group(0) @binding(5) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let w = param[i];
    let g = grad[i] + p.weight_decay * w;
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * (g * g);
    m[i] = mi;
    v[i] = vi;
    var vh = vi;
    if (p.amsgrad != 0u) {
        vh = max(vmax[i], vi);
        vmax[i] = vh;
    }
    let denom = sqrt(vh) / p.bc2_sqrt + p.eps;
    var nw = w - p.step_size * (mi / denom);
    if (p.use_clamp != 0u) { nw = min(nw, p.clamp_max); }
    param[i] = nw;
}
