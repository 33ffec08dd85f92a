// linear_backward_input: dx[n,i] = sum_o dy[n,o] * w[o,i]      (PyTorch layout, f32, row-major)
// OVERWRITES dx. Register-blocked: each thread owns a 4 (rows n) x 4 (inputs i) tile; per o it
// loads 4 dy values and 4 contiguous w values and does 16 FMAs.
// Edge tiles clamp their load indices into range and skip the out-of-range stores.
// Dispatch: [ceil(ceil(in_f/4)/16), ceil(ceil(n/4)/4), 1] workgroups of (16, 4).

struct Params { n: u32, in_f: u32, out_f: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<f32>;  // [n, out_f]
@group(0) @binding(1) var<storage, read>       w: array<f32>;   // [out_f, in_f]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;  // [n, in_f]
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i0 = gid.x * 4u;
    let n0 = gid.y * 4u;
    if (i0 >= p.in_f || n0 >= p.n) { return; }
    let k = p.out_f;
    let im = p.in_f - 1u;
    let nm = p.n - 1u;
    let d0 = min(n0, nm) * k;
    let d1 = min(n0 + 1u, nm) * k;
    let d2 = min(n0 + 2u, nm) * k;
    let d3 = min(n0 + 3u, nm) * k;
    let c0 = min(i0, im);
    let c1 = min(i0 + 1u, im);
    let c2 = min(i0 + 2u, im);
    let c3 = min(i0 + 3u, im);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var o = 0u; o < k; o++) {
        let r = o * p.in_f;
        let wv = vec4<f32>(w[r + c0], w[r + c1], w[r + c2], w[r + c3]);
        a0 += dy[d0 + o] * wv;
        a1 += dy[d1 + o] * wv;
        a2 += dy[d2 + o] * wv;
        a3 += dy[d3 + o] * wv;
    }
    var acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
    for (var r = 0u; r < 4u; r++) {
        let row = n0 + r;
        if (row >= p.n) { break; }
        for (var c = 0u; c < 4u; c++) {
            if (i0 + c < p.in_f) { dx[row * p.in_f + i0 + c] = acc[r][c]; }
        }
    }
}
