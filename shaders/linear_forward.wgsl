// linear_forward: y[n,o] = b[o] + sum_i x[n,i] * w[o,i]        (PyTorch layout, f32, row-major)
// Register-blocked: each thread owns a 4 (rows n) x 4 (outputs o) tile, so every loaded x and w
// value feeds 4 FMAs (the kernel is load-bound on lavapipe and cache-bound on GPUs).
// Edge tiles clamp their load indices into range and skip the out-of-range stores.
// Dispatch: [ceil(ceil(out_f/4)/16), ceil(ceil(n/4)/4), 1] workgroups of (16, 4).

struct Params { n: u32, in_f: u32, out_f: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;   // [n, in_f]
@group(0) @binding(1) var<storage, read>       w: array<f32>;   // [out_f, in_f]
@group(0) @binding(2) var<storage, read>       b: array<f32>;   // [out_f]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;   // [n, out_f]
@group(0) @binding(4) var<uniform>             p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o0 = gid.x * 4u;
    let n0 = gid.y * 4u;
    if (o0 >= p.out_f || n0 >= p.n) { return; }
    let k = p.in_f;
    let on = p.out_f - 1u;
    let nn = p.n - 1u;
    let x0 = min(n0, nn) * k;
    let x1 = min(n0 + 1u, nn) * k;
    let x2 = min(n0 + 2u, nn) * k;
    let x3 = min(n0 + 3u, nn) * k;
    let w0 = min(o0, on) * k;
    let w1 = min(o0 + 1u, on) * k;
    let w2 = min(o0 + 2u, on) * k;
    let w3 = min(o0 + 3u, on) * k;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var i = 0u; i < k; i++) {
        let wv = vec4<f32>(w[w0 + i], w[w1 + i], w[w2 + i], w[w3 + i]);
        a0 += x[x0 + i] * wv;
        a1 += x[x1 + i] * wv;
        a2 += x[x2 + i] * wv;
        a3 += x[x3 + i] * wv;
    }
    let bv = vec4<f32>(b[min(o0, on)], b[min(o0 + 1u, on)], b[min(o0 + 2u, on)], b[min(o0 + 3u, on)]);
    var acc = array<vec4<f32>, 4>(a0 + bv, a1 + bv, a2 + bv, a3 + bv);
    for (var r = 0u; r < 4u; r++) {
        let row = n0 + r;
        if (row >= p.n) { break; }
        for (var c = 0u; c < 4u; c++) {
            if (o0 + c < p.out_f) { y[row * p.out_f + o0 + c] = acc[r][c]; }
        }
    }
}
