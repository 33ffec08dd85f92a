// maxpool2d_backward_2x2_single: maxpool2d_backward for 2x2 windows of stride 2 tiling the map
// exactly (h = 2 out_h, w = 2 out_w), any out_w: dx[i] = 0 + dy[j] if argmax[j] == i for the one
// window j covering i, else 0.   (OVERWRITES dx)   NCHW f32, argmax as in maxpool2d_forward.
// One thread per output j: its argmax and dy, then one vec2 store per input row of its window
// (w even, so the rows are vec2-aligned). On llvmpipe each storage access costs about the same
// at any width, so this does 4 accesses per 4 inputs where the gather kernel does ~3 per input.
// maxpool2d_backward_2x2 does half that when out_w is even; this one serves odd out_w.
// Bit-identical to maxpool2d_backward: a chosen input gets zero + dy with zero = +0.0 read from
// the uniform, the general kernel's `acc = 0.0; acc += dy` (which turns -0.0 into +0.0 and
// flushes denormals where the device does); a literal 0.0 + dy could be folded to dy.
// p.total counts outputs (n*c*out_h*out_w); p.zero must be 0.
// Dispatch: grid_1d(total, 256); j = gid.x + gid.y * nwg.x * 256.

struct Params { total: u32, h: u32, w: u32, k: u32, stride: u32, out_h: u32, out_w: u32, zero: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<f32>;        // [n, c, out_h, out_w]
@group(0) @binding(1) var<storage, read>       argmax: array<u32>;    // [n, c, out_h, out_w]
@group(0) @binding(2) var<storage, read_write> dx: array<vec2<f32>>;  // [n, c, h, w / 2]
@group(0) @binding(3) var<uniform>             p: Params;

// dx of the 2 inputs i0, i0+1 of one input row of the window.
fn row(i0: u32, a: u32, g: f32) -> vec2<f32> {
    return select(vec2<f32>(0.0), vec2<f32>(g), vec2<u32>(a) == vec2<u32>(i0, i0 + 1u));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 256u;
    if (j >= p.total) { return; }
    let ow = j % p.out_w;
    let t = j / p.out_w;                    // plane * out_h + oh
    let i0 = 2u * t * p.w + 2u * ow;        // top-left input of window j: row 2 oh of the plane
    let a = argmax[j];
    let g = f32(p.zero) + dy[j];
    dx[i0 / 2u] = row(i0, a, g);
    dx[(i0 + p.w) / 2u] = row(i0 + p.w, a, g);
}
