// maxpool2d_forward_2x2_single: maxpool2d_forward for 2x2 windows of stride 2 when w is even:
// y[n,c,oh,ow] = max of x[n,c,2oh+kh,2ow+kw], argmax[j] = flat index into x of the FIRST maximum in
// row-major window order (strict `>`, the same comparisons in the same order as maxpool2d_forward,
// so the same y and argmax, ties and NaNs included). A trailing odd row of x is never read.
// One thread per output: one vec2 load per input row of its window (rows are vec2-aligned as
// w is even). On llvmpipe each storage access costs about the same at any width, so this does
// 4 accesses per output where maxpool2d_forward does 7; maxpool2d_forward_2x2 does 2 when
// w % 4 == 0, this one serves w % 4 == 2.
// p.total counts outputs (n*c*out_h*out_w).   NCHW f32
// Dispatch: grid_1d(total, 256); j = gid.x + gid.y * nwg.x * 256.

struct Params { total: u32, h: u32, w: u32, k: u32, stride: u32, out_h: u32, out_w: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<vec2<f32>>;  // [n, c, h, w / 2]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;        // [n, c, out_h, out_w]
@group(0) @binding(2) var<storage, read_write> argmax: array<u32>;   // [n, c, out_h, out_w]
@group(0) @binding(3) var<uniform>             p: Params;

struct Best { v: f32, i: u32 }

// The running maximum after looking at x[i] = v (replaced only by a strictly larger v).
fn consider(b: Best, v: f32, i: u32) -> Best {
    if (v > b.v) { return Best(v, i); }
    return b;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 256u;
    if (j >= p.total) { return; }
    let ow = j % p.out_w;
    let t = j / p.out_w;                                    // plane * out_h + oh
    let i0 = ((t / p.out_h) * p.h + 2u * (t % p.out_h)) * p.w + 2u * ow;
    let top = x[i0 / 2u];
    let bottom = x[(i0 + p.w) / 2u];
    var b = Best(top.x, i0);
    b = consider(b, top.y, i0 + 1u);
    b = consider(b, bottom.x, i0 + p.w);
    b = consider(b, bottom.y, i0 + p.w + 1u);
    y[j] = b.v;
    argmax[j] = b.i;
}
