// avgpool2d_forward: y[n,c,oh,ow] = sum_{kh,kw} x[n,c,oh*s+kh,ow*s+kw] / (k*k)   NCHW f32, no padding
// Summed in row-major window order, then divided by k*k (the CPU reference does the same).
// Global average pooling is k = stride = h = w.
// Dispatch: grid_1d(n*c*out_h*out_w, 256); j = gid.x + gid.y * nwg.x * 256.

struct Params { total: u32, h: u32, w: u32, k: u32, stride: u32, out_h: u32, out_w: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read>       x: array<f32>;   // [n, c, h, w]
@group(0) @binding(1) var<storage, read_write> y: array<f32>;   // [n, c, out_h, out_w]
@group(0) @binding(2) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 256u;
    if (j >= p.total) { return; }
    let ow = j % p.out_w;
    let oh = (j / p.out_w) % p.out_h;
    let plane = j / (p.out_w * p.out_h);
    let base = plane * p.h * p.w + oh * p.stride * p.w + ow * p.stride;
    var acc = 0.0;
    for (var kh = 0u; kh < p.k; kh++) {
        for (var kw = 0u; kw < p.k; kw++) {
            acc += x[base + kh * p.w + kw];
        }
    }
    y[j] = acc / f32(p.k * p.k);
}
