// maxpool2d_backward: dx[i] = sum over output positions j whose window covers i and whose
// argmax[j] == i of dy[j]. OVERWRITES dx (zero where no window chose i); overlapping windows
// (stride < k) that chose the same i are summed in row-major (oh, ow) order. Gather form:
// one thread per input element, so no atomics and a deterministic order.
// argmax holds flat indices into x (see maxpool2d_forward).   NCHW f32
// Dispatch: grid_1d(n*c*h*w, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { total: u32, h: u32, w: u32, k: u32, stride: u32, out_h: u32, out_w: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<f32>;      // [n, c, out_h, out_w]
@group(0) @binding(1) var<storage, read>       argmax: array<u32>;  // [n, c, out_h, out_w]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;      // [n, c, h, w]
@group(0) @binding(3) var<uniform>             p: Params;

// Output positions o with o*stride <= pos < o*stride + k, clamped to [0, out): [lo, hi).
fn window_range(pos: u32, out: u32) -> vec2<u32> {
    var lo = 0u;
    if (pos + 1u > p.k) { lo = (pos + 1u - p.k + p.stride - 1u) / p.stride; }
    let hi = min(pos / p.stride + 1u, out);
    return vec2<u32>(lo, hi);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.total) { return; }
    let iw = i % p.w;
    let ih = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let rh = window_range(ih, p.out_h);
    let rw = window_range(iw, p.out_w);
    var acc = 0.0;
    for (var oh = rh.x; oh < rh.y; oh++) {
        for (var ow = rw.x; ow < rw.y; ow++) {
            let j = (plane * p.out_h + oh) * p.out_w + ow;
            if (argmax[j] == i) { acc += dy[j]; }
        }
    }
    dx[i] = acc;
}
