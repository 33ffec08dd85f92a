// maxpool2d_backward_2x2: maxpool2d_backward for 2x2 windows of stride 2 tiling the map
// exactly (h = 2 out_h, w = 2 out_w) with out_w even: dx[i] = 0 + dy[j] if argmax[j] == i for
// the one window j covering i, else 0.   (OVERWRITES dx)   NCHW f32, argmax as in maxpool2d_forward.
// One thread per pair of outputs (j, j + 1) of an output row (out_w even, so j even): one vec2
// load of argmax and of dy, one vec4 store per input row of the pair's 2x4 inputs (w % 4 == 0,
// so the rows are vec4-aligned). On llvmpipe each storage access costs about the same at any
// width, so this does 4 accesses per 8 inputs where the gather kernel does ~3 per input.
// Bit-identical to maxpool2d_backward: a chosen input gets zero + dy with zero = +0.0 read from
// the uniform, the general kernel's `acc = 0.0; acc += dy` (which turns -0.0 into +0.0 and
// flushes denormals where the device does); a literal 0.0 + dy could be folded to dy.
// p.total counts outputs (n*c*out_h*out_w); p.zero must be 0.
// Dispatch: grid_1d(total / 2, 256); u = gid.x + gid.y * nwg.x * 256 indexes output pairs.

struct Params { total: u32, h: u32, w: u32, k: u32, stride: u32, out_h: u32, out_w: u32, zero: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<vec2<f32>>;      // [n, c, out_h, out_w / 2]
@group(0) @binding(1) var<storage, read>       argmax: array<vec2<u32>>;  // [n, c, out_h, out_w / 2]
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;      // [n, c, h, w / 4]
@group(0) @binding(3) var<uniform>             p: Params;

// dx of the 4 inputs i0 .. i0+3 of one input row: input i0 + c belongs to output c / 2 of the pair.
fn row(i0: u32, a: vec2<u32>, g: vec2<f32>) -> vec4<f32> {
    let chosen = vec4<u32>(a.x, a.x, a.y, a.y) == vec4<u32>(i0, i0 + 1u, i0 + 2u, i0 + 3u);
    return select(vec4<f32>(0.0), vec4<f32>(g.x, g.x, g.y, g.y), chosen);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let u = gid.x + gid.y * nwg.x * 256u;
    if (u >= p.total / 2u) { return; }
    let j = 2u * u;
    let ow = j % p.out_w;
    let t = j / p.out_w;                    // plane * out_h + oh
    let i0 = 2u * t * p.w + 2u * ow;        // top-left input of window j: row 2 oh of the plane
    let a = argmax[u];
    let g = vec2<f32>(f32(p.zero)) + dy[u];
    dx[i0 / 4u] = row(i0, a, g);
    dx[(i0 + p.w) / 4u] = row(i0 + p.w, a, g);
}
