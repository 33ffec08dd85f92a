// dropout_forward: mask[i] = keep ? scale : 0,  y[i] = x[i] * mask[i]       flat f32, [rows, per_row]
// Counter-based RNG, identical on the CPU (cpu::dropout::hash): with row = i / per_row,
// e = i % per_row, r = row % rows_per_mask (so rows t*B+b share the mask across T steps):
//   pcg(v) = { s = v*747796405 + 2891336453; w = ((s >> ((s >> 28) + 4)) ^ s) * 277803737;
//              (w >> 22) ^ w }                        (PCG-RXS-M-XS hash, wrapping u32 math)
//   h      = pcg(e + pcg(r + pcg(seed)))              (wrapping adds)
//   keep   = h >= threshold,  threshold = min(round(p * 2^32), 2^32 - 1), scale = 1 / (1 - p)
// Dispatch: grid_1d(rows * per_row, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, per_row: u32, rows_per_mask: u32, seed: u32, threshold: u32, scale: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<uniform>             p: Params;

fn pcg(v: u32) -> u32 {
    let s = v * 747796405u + 2891336453u;
    let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let row = i / p.per_row;
    let e = i % p.per_row;
    let h = pcg(e + pcg(row % p.rows_per_mask + pcg(p.seed)));
    let m = select(0.0, p.scale, h >= p.threshold);
    mask[i] = m;
    y[i] = x[i] * m;
}
