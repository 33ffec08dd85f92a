// conv2d_backward_weight: dw[co,ci,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] * x[n,ci,oh*s-p+kh,ow*s-p+kw]
// Layouts: x [N,Ci,H,W], dy [N,Co,OH,OW], out [S, Co, Ci*K*K] (S = wid.z splits over images), f32.
// Slice z sums the (image, output row) pairs [z*rows_per, min((z+1)*rows_per, N*OH)); with S = 1
// `out` is dw itself, otherwise conv2d_backward_weight_reduce sums the S partials (split-K: keeps
// small layers parallel).
// Register blocking: 8 output channels (from workgroup_id.y, so dy loads are workgroup-uniform)
// x 4 consecutive r = ci*K*K + kh*K + kw per thread; no early return (uniform loops).
// Dispatch: [ceil(ceil(Ci*K*K/4)/64), ceil(Co/8), S].

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, k: u32, stride: u32, pad: u32,
    out_h: u32, out_w: u32, tiles: u32, rows_per: u32,
}

@group(0) @binding(0) var<storage, read>       x: array<f32>;    // [N, Ci, H, W]
@group(0) @binding(1) var<storage, read>       dy: array<f32>;   // [N, Co, OH, OW]
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // [S, Co, Ci*K*K]
@group(0) @binding(3) var<uniform>             p: Params;

fn put(live: vec4<bool>, co: u32, base: u32, r: vec4<u32>, v: vec4<f32>) {
    if (co >= p.c_out) { return; }
    let o = base + co * p.c_in * p.k * p.k;
    if (live.x) { out[o + r.x] = v.x; }
    if (live.y) { out[o + r.y] = v.y; }
    if (live.z) { out[o + r.z] = v.z; }
    if (live.w) { out[o + r.w] = v.w; }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let kk = p.k * p.k;
    let rs = p.c_in * kk;
    let r = vec4<u32>((wid.x * 64u + lid.x) * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    let live = r < vec4<u32>(rs);
    let rc = min(r, vec4<u32>(rs - 1u));
    let ci = rc / kk;
    let kh = vec4<i32>((rc % kk) / p.k) - i32(p.pad);
    let kw = vec4<i32>(rc % p.k) - i32(p.pad);
    let hw = p.h * p.w;
    let hh = vec4<i32>(i32(p.h));
    let ww = vec4<i32>(i32(p.w));
    let plane = p.out_h * p.out_w;
    let co0 = wid.y * 8u;
    let last = p.c_out - 1u;
    let d0 = min(co0, last) * plane;       let d1 = min(co0 + 1u, last) * plane;
    let d2 = min(co0 + 2u, last) * plane;  let d3 = min(co0 + 3u, last) * plane;
    let d4 = min(co0 + 4u, last) * plane;  let d5 = min(co0 + 5u, last) * plane;
    let d6 = min(co0 + 6u, last) * plane;  let d7 = min(co0 + 7u, last) * plane;
    var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);

    let lo = wid.z * p.rows_per;
    let hi = min(lo + p.rows_per, p.n * p.out_h);
    for (var row = lo; row < hi; row++) {
        let img = row / p.out_h;
        let oh = row % p.out_h;
        let xb = vec4<i32>(ci * hw + img * p.c_in * hw);
        var dyo = img * p.c_out * plane + oh * p.out_w;
        let ih = vec4<i32>(i32(oh * p.stride)) + kh;
        let rok = (ih >= vec4<i32>(0)) & (ih < hh);
        let rb = xb + ih * ww;
        for (var ow = 0u; ow < p.out_w; ow++) {
            let iw = vec4<i32>(i32(ow * p.stride)) + kw;
            let ok = rok & (iw >= vec4<i32>(0)) & (iw < ww);
            let o = select(vec4<i32>(0), rb + iw, ok);
            let xv = select(vec4<f32>(0.0), vec4<f32>(x[o.x], x[o.y], x[o.z], x[o.w]), ok);
            a0 += dy[d0 + dyo] * xv;  a1 += dy[d1 + dyo] * xv;
            a2 += dy[d2 + dyo] * xv;  a3 += dy[d3 + dyo] * xv;
            a4 += dy[d4 + dyo] * xv;  a5 += dy[d5 + dyo] * xv;
            a6 += dy[d6 + dyo] * xv;  a7 += dy[d7 + dyo] * xv;
            dyo += 1u;
        }
    }
    let base = wid.z * p.c_out * rs;
    put(live, co0, base, rc, a0);       put(live, co0 + 1u, base, rc, a1);
    put(live, co0 + 2u, base, rc, a2);  put(live, co0 + 3u, base, rc, a3);
    put(live, co0 + 4u, base, rc, a4);  put(live, co0 + 5u, base, rc, a5);
    put(live, co0 + 6u, base, rc, a6);  put(live, co0 + 7u, base, rc, a7);
}
