// maxpool2d_forward_2x2: maxpool2d_forward for 2x2 windows of stride 2 when w % 4 == 0 (out_w even):
// y[n,c,oh,ow] = max of x[n,c,2oh+kh,2ow+kw], argmax[j] = flat index into x of the FIRST maximum in
// row-major window order (strict `>`, the same comparisons in the same order as maxpool2d_forward,
// so the same y and argmax, ties and NaNs included). A trailing odd row of x is never read.
// One thread per pair of outputs (j, j + 1) of an output row: one vec4 load per input row of
// the pair's 2x4 inputs (rows are vec4-aligned as w % 4 == 0), one vec2 store each of y and
// argmax. On llvmpipe each storage access costs about the same at any width, so this does 4
// accesses per 2 outputs where maxpool2d_forward does 7 per output.
// p.total counts outputs (n*c*out_h*out_w, even).   NCHW f32
// Dispatch: grid_1d(total / 2, 256); u = gid.x + gid.y * nwg.x * 256 indexes output pairs.

struct Params { total: u32, h: u32, w: u32, k: u32, stride: u32, out_h: u32, out_w: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec4<f32>>;       // [n, c, h, w / 4]
@group(0) @binding(1) var<storage, read_write> y: array<vec2<f32>>;       // [n, c, out_h, out_w / 2]
@group(0) @binding(2) var<storage, read_write> argmax: array<vec2<u32>>;  // [n, c, out_h, out_w / 2]
@group(0) @binding(3) var<uniform>             p: Params;

struct Best { v: f32, i: u32 }

// The running maximum after looking at x[i] = v (replaced only by a strictly larger v).
fn consider(b: Best, v: f32, i: u32) -> Best {
    if (v > b.v) { return Best(v, i); }
    return b;
}

// The window whose top row is `top` at flat index i0 and bottom row `bottom`, in row-major order.
fn window(top: vec2<f32>, bottom: vec2<f32>, i0: u32) -> Best {
    var b = Best(top.x, i0);
    b = consider(b, top.y, i0 + 1u);
    b = consider(b, bottom.x, i0 + p.w);
    return consider(b, bottom.y, i0 + p.w + 1u);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let u = gid.x + gid.y * nwg.x * 256u;
    if (u >= p.total / 2u) { return; }
    let j = 2u * u;
    let ow = j % p.out_w;
    let t = j / p.out_w;                                    // plane * out_h + oh
    let i0 = ((t / p.out_h) * p.h + 2u * (t % p.out_h)) * p.w + 2u * ow;
    let top = x[i0 / 4u];
    let bottom = x[(i0 + p.w) / 4u];
    let b0 = window(top.xy, bottom.xy, i0);
    let b1 = window(top.zw, bottom.zw, i0 + 2u);
    y[u] = vec2<f32>(b0.v, b1.v);
    argmax[u] = vec2<u32>(b0.i, b1.i);
}
