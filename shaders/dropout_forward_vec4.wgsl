// dropout_forward_vec4: mask[i] = keep ? scale : 0,  y[i] = x[i] * mask[i]     flat f32, [rows, per_row]
// dropout_forward (see its header for the hash) on 4 consecutive elements i = 4q .. 4q+3 per
// thread, with the same hash and product per element, so the same bits: on llvmpipe each
// storage access costs about the same at any width, so vec4 accesses do a quarter of the
// scalar kernel's. The divisions giving (e, r), and the row's part of the hash, are done for
// element 4q only; the next three step e and wrap it into the next row (and r at
// rows_per_mask), as i / per_row would, rehashing the row only then.
// Only for p.n % 4 == 0 (the op builder picks it then). p.n counts f32 elements.
// Dispatch: grid_1d(n / 4, 256); q = gid.x + gid.y * nwg.x * 256 indexes vec4s.

struct Params { n: u32, per_row: u32, rows_per_mask: u32, seed: u32, threshold: u32, scale: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> mask: array<vec4<f32>>;
@group(0) @binding(3) var<uniform>             p: Params;

fn pcg(v: u32) -> u32 {
    let s = v * 747796405u + 2891336453u;
    let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

// Element e of mask row r, with hr = pcg(r + pcg(seed)), the part of the hash shared by a row.
struct Elem { e: u32, r: u32, hr: u32 }

fn mask_at(el: Elem) -> f32 {
    return select(0.0, p.scale, pcg(el.e + el.hr) >= p.threshold);
}

// The next element: e + 1, or the next row's first element (r + 1 mod rows_per_mask, whose
// row hash is then computed; the thread's other elements reuse theirs).
fn advance(el: Elem, hs: u32) -> Elem {
    if (el.e + 1u < p.per_row) { return Elem(el.e + 1u, el.r, el.hr); }
    var r = el.r + 1u;
    if (r == p.rows_per_mask) { r = 0u; }
    return Elem(0u, r, pcg(r + hs));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (q >= p.n / 4u) { return; }
    let i = 4u * q;
    let hs = pcg(p.seed);
    let r0 = (i / p.per_row) % p.rows_per_mask;
    let e0 = Elem(i % p.per_row, r0, pcg(r0 + hs));
    let e1 = advance(e0, hs);
    let e2 = advance(e1, hs);
    let e3 = advance(e2, hs);
    let m = vec4<f32>(mask_at(e0), mask_at(e1), mask_at(e2), mask_at(e3));
    mask[q] = m;
    y[q] = x[q] * m;
}
