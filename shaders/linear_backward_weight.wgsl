// linear_backward_weight: dw[o,i] = sum_n dy[n,o] * x[n,i]     (PyTorch layout, f32, row-major)
// OVERWRITES dw. Register-blocked: each thread owns a 4 (outputs o) x 4 (inputs i) tile; per
// sample n it loads 4 contiguous dy values and 4 contiguous x values and does 16 FMAs.
// Edge tiles clamp their load indices into range and skip the out-of-range stores.
// Dispatch: [ceil(ceil(in_f/4)/16), ceil(ceil(out_f/4)/4), 1] workgroups of (16, 4).

struct Params { n: u32, in_f: u32, out_f: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;   // [n, in_f]
@group(0) @binding(1) var<storage, read>       dy: array<f32>;  // [n, out_f]
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;  // [out_f, in_f]
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i0 = gid.x * 4u;
    let o0 = gid.y * 4u;
    if (i0 >= p.in_f || o0 >= p.out_f) { return; }
    let im = p.in_f - 1u;
    let om = p.out_f - 1u;
    let c0 = min(i0, im);
    let c1 = min(i0 + 1u, im);
    let c2 = min(i0 + 2u, im);
    let c3 = min(i0 + 3u, im);
    let r0 = min(o0, om);
    let r1 = min(o0 + 1u, om);
    let r2 = min(o0 + 2u, om);
    let r3 = min(o0 + 3u, om);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var s = 0u; s < p.n; s++) {
        let xr = s * p.in_f;
        let dr = s * p.out_f;
        let xv = vec4<f32>(x[xr + c0], x[xr + c1], x[xr + c2], x[xr + c3]);
        a0 += dy[dr + r0] * xv;
        a1 += dy[dr + r1] * xv;
        a2 += dy[dr + r2] * xv;
        a3 += dy[dr + r3] * xv;
    }
    var acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
    for (var r = 0u; r < 4u; r++) {
        let row = o0 + r;
        if (row >= p.out_f) { break; }
        for (var c = 0u; c < 4u; c++) {
            if (i0 + c < p.in_f) { dw[row * p.in_f + i0 + c] = acc[r][c]; }
        }
    }
}
