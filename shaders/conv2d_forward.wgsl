// conv2d_forward (Direct): y[n,co,oh,ow] = b[co] + sum_{ci,kh,kw} x[n,ci,oh*s-p+kh,ow*s-p+kw] * w[co,ci,kh,kw]
// Layouts: x [N,Ci,H,W], w [Co,Ci,K,K] (OIHW), b [Co], y [N,Co,OH,OW], NCHW f32.
// Register blocking: a thread computes 8 output channels x 4 consecutive output pixels of one image
// (flattened oh*OW+ow, so tiny 2x2 maps fill tiles too): each x load feeds 8 FMAs, each w load 4.
// The channel block comes from workgroup_id.y, so w addresses are workgroup-uniform: lavapipe then
// issues scalar loads (and real GPUs scalar/broadcast loads). Hence no early return: every thread
// runs the uniform loops and only the stores are guarded.
// Dispatch: [gx, ceil(Co/8), gz] with gx*gz >= ceil(N*tiles/64) (tiles = ceil(OH*OW/4)); tile
// t = (wid.x + wid.z*nwg.x)*64 + lid.x.

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, k: u32, stride: u32, pad: u32,
    out_h: u32, out_w: u32, tiles: u32, rows_per: u32,
}

@group(0) @binding(0) var<storage, read>       x: array<f32>;   // [N, Ci, H, W]
@group(0) @binding(1) var<storage, read>       w: array<f32>;   // [Co, Ci, K, K]
@group(0) @binding(2) var<storage, read>       b: array<f32>;   // [Co]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;   // [N, Co, OH, OW]
@group(0) @binding(4) var<uniform>             p: Params;

fn put(live: bool, co: u32, base: u32, pix: vec4<u32>, ok: vec4<bool>, v: vec4<f32>) {
    if (!live || co >= p.c_out) { return; }
    let o = base + co * p.out_h * p.out_w;
    if (ok.x) { y[o + pix.x] = v.x; }
    if (ok.y) { y[o + pix.y] = v.y; }
    if (ok.z) { y[o + pix.z] = v.z; }
    if (ok.w) { y[o + pix.w] = v.w; }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = (wid.x + wid.z * nwg.x) * 64u + lid.x;
    let live = t < p.n * p.tiles;
    let tc = min(t, p.n * p.tiles - 1u);
    let img = tc / p.tiles;
    let plane = p.out_h * p.out_w;
    let pix = vec4<u32>((tc % p.tiles) * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    let pok = pix < vec4<u32>(plane);
    let pc = min(pix, vec4<u32>(plane - 1u));
    let ih0 = vec4<i32>((pc / p.out_w) * p.stride) - i32(p.pad);
    let iw0 = vec4<i32>((pc % p.out_w) * p.stride) - i32(p.pad);
    let hh = vec4<i32>(i32(p.h));
    let ww = vec4<i32>(i32(p.w));
    let hw = p.h * p.w;
    let kk = p.k * p.k;
    let xb = vec4<i32>(i32(img * p.c_in * hw));

    // Clamped (workgroup-uniform) weight rows of the 8 channels; out-of-range ones are not stored.
    let co0 = wid.y * 8u;
    let last = p.c_out - 1u;
    let rs = p.c_in * kk;
    let w0 = min(co0, last) * rs;       let w1 = min(co0 + 1u, last) * rs;
    let w2 = min(co0 + 2u, last) * rs;  let w3 = min(co0 + 3u, last) * rs;
    let w4 = min(co0 + 4u, last) * rs;  let w5 = min(co0 + 5u, last) * rs;
    let w6 = min(co0 + 6u, last) * rs;  let w7 = min(co0 + 7u, last) * rs;
    var a0 = vec4<f32>(b[min(co0, last)]);       var a1 = vec4<f32>(b[min(co0 + 1u, last)]);
    var a2 = vec4<f32>(b[min(co0 + 2u, last)]);  var a3 = vec4<f32>(b[min(co0 + 3u, last)]);
    var a4 = vec4<f32>(b[min(co0 + 4u, last)]);  var a5 = vec4<f32>(b[min(co0 + 5u, last)]);
    var a6 = vec4<f32>(b[min(co0 + 6u, last)]);  var a7 = vec4<f32>(b[min(co0 + 7u, last)]);

    // Taps outer (the bounds masks are computed once per tap), input channels inner.
    for (var kh = 0u; kh < p.k; kh++) {
        let ih = ih0 + vec4<i32>(i32(kh));
        let rok = (ih >= vec4<i32>(0)) & (ih < hh);
        for (var kw = 0u; kw < p.k; kw++) {
            let iw = iw0 + vec4<i32>(i32(kw));
            let ok = rok & (iw >= vec4<i32>(0)) & (iw < ww);
            let idx = select(vec4<i32>(0), xb + ih * ww + iw, ok);
            var wo = kh * p.k + kw;
            for (var ci = 0u; ci < p.c_in; ci++) {
                let xo = vec4<i32>(i32(ci * hw)) + idx;
                let xv = select(vec4<f32>(0.0), vec4<f32>(x[xo.x], x[xo.y], x[xo.z], x[xo.w]), ok);
                a0 += w[w0 + wo] * xv;  a1 += w[w1 + wo] * xv;
                a2 += w[w2 + wo] * xv;  a3 += w[w3 + wo] * xv;
                a4 += w[w4 + wo] * xv;  a5 += w[w5 + wo] * xv;
                a6 += w[w6 + wo] * xv;  a7 += w[w7 + wo] * xv;
                wo += kk;
            }
        }
    }
    let yb = img * p.c_out * plane;
    put(live, co0, yb, pc, pok, a0);       put(live, co0 + 1u, yb, pc, pok, a1);
    put(live, co0 + 2u, yb, pc, pok, a2);  put(live, co0 + 3u, yb, pc, pok, a3);
    put(live, co0 + 4u, yb, pc, pok, a4);  put(live, co0 + 5u, yb, pc, pok, a5);
    put(live, co0 + 6u, yb, pc, pok, a6);  put(live, co0 + 7u, yb, pc, pok, a7);
}
