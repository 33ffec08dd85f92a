// conv2d_backward_weight_subgroup: dw[co,ci,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] * x[n,ci,oh*s-p+kh,ow*s-p+kw]
// Layouts: x [N,Ci,H,W], dy [N,Co,OH,OW], out [S, Co, Ci*K*K] (S = wid.z slices), NCHW f32.
// A GEMM [Co x (N*OH*OW)] x [(N*OH*OW) x (Ci*K*K)]: each thread owns 32 output channels x 4
// consecutive r = ci*K*K + kh*K + kw. Per output pixel, lane l loads dy[n, co0 + 8g + (l & 7), oh, ow],
// g = 0..3, and subgroupBroadcast hands them to all lanes (every lane of a subgroup walks the same
// pixels), so 4 loads + 32 broadcasts + 4 gathered x values feed 128 FMAs.
// Slice z sums the (image, output row) pairs [z*rows_per, min((z+1)*rows_per, N*OH)); with S = 1
// `out` is dw itself, otherwise conv2d_backward_weight_reduce sums the S partials (split-K).
// Needs subgroups of >= 8 lanes (the builder checks); no early return (uniform flow); a subgroup
// without weights skips the pixel loop (a subgroup-uniform bound).
// Dispatch: [ceil(ceil(Ci*K*K/4)/64), ceil(Co/32), S].
// `enable subgroups;` is left out (naga 30 rejects it); Kernel::device_source adds it on the web.

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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(subgroup_invocation_id) sid: u32) {
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

    // Lane l loads dy of channel co0 + 8g + (l & 7) (clamped; out-of-range ones are not stored).
    let co0 = wid.y * 32u;
    let last = p.c_out - 1u;
    let dl0 = min(co0 + 0u + (sid & 7u), last) * plane;
    let dl1 = min(co0 + 8u + (sid & 7u), last) * plane;
    let dl2 = min(co0 + 16u + (sid & 7u), last) * plane;
    let dl3 = min(co0 + 24u + (sid & 7u), last) * plane;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var a8 = vec4<f32>(0.0);
    var a9 = vec4<f32>(0.0);
    var a10 = vec4<f32>(0.0);
    var a11 = vec4<f32>(0.0);
    var a12 = vec4<f32>(0.0);
    var a13 = vec4<f32>(0.0);
    var a14 = vec4<f32>(0.0);
    var a15 = vec4<f32>(0.0);
    var a16 = vec4<f32>(0.0);
    var a17 = vec4<f32>(0.0);
    var a18 = vec4<f32>(0.0);
    var a19 = vec4<f32>(0.0);
    var a20 = vec4<f32>(0.0);
    var a21 = vec4<f32>(0.0);
    var a22 = vec4<f32>(0.0);
    var a23 = vec4<f32>(0.0);
    var a24 = vec4<f32>(0.0);
    var a25 = vec4<f32>(0.0);
    var a26 = vec4<f32>(0.0);
    var a27 = vec4<f32>(0.0);
    var a28 = vec4<f32>(0.0);
    var a29 = vec4<f32>(0.0);
    var a30 = vec4<f32>(0.0);
    var a31 = vec4<f32>(0.0);

    // A subgroup none of whose lanes owns a weight (the tail of the last x block: with Ci = 1,
    // 9 weights use 3 lanes of 64) walks no pixels. subgroupAny makes the bound the same on every
    // lane of the subgroup, so the broadcasts below still run in subgroup-uniform flow, and the
    // lanes that own weights sum exactly as before.
    let lo = wid.z * p.rows_per;
    let hi = select(lo, min(lo + p.rows_per, p.n * p.out_h), subgroupAny(live.x));
    for (var row = lo; row < hi; row++) {
        let img = row / p.out_h;
        let oh = row % p.out_h;
        let xb = vec4<i32>(ci * hw + img * p.c_in * hw);
        let ih = vec4<i32>(i32(oh * p.stride)) + kh;
        let rok = (ih >= vec4<i32>(0)) & (ih < hh);
        let rb = xb + ih * ww;
        var dyo = img * p.c_out * plane + oh * p.out_w;
        for (var ow = 0u; ow < p.out_w; ow++) {
            let iw = vec4<i32>(i32(ow * p.stride)) + kw;
            let ok = rok & (iw >= vec4<i32>(0)) & (iw < ww);
            let o = select(vec4<i32>(0), rb + iw, ok);
            let xv = select(vec4<f32>(0.0), vec4<f32>(x[o.x], x[o.y], x[o.z], x[o.w]), ok);
            let dv0 = dy[dl0 + dyo];
            a0 += subgroupBroadcast(dv0, 0u) * xv;
            a1 += subgroupBroadcast(dv0, 1u) * xv;
            a2 += subgroupBroadcast(dv0, 2u) * xv;
            a3 += subgroupBroadcast(dv0, 3u) * xv;
            a4 += subgroupBroadcast(dv0, 4u) * xv;
            a5 += subgroupBroadcast(dv0, 5u) * xv;
            a6 += subgroupBroadcast(dv0, 6u) * xv;
            a7 += subgroupBroadcast(dv0, 7u) * xv;
            let dv1 = dy[dl1 + dyo];
            a8 += subgroupBroadcast(dv1, 0u) * xv;
            a9 += subgroupBroadcast(dv1, 1u) * xv;
            a10 += subgroupBroadcast(dv1, 2u) * xv;
            a11 += subgroupBroadcast(dv1, 3u) * xv;
            a12 += subgroupBroadcast(dv1, 4u) * xv;
            a13 += subgroupBroadcast(dv1, 5u) * xv;
            a14 += subgroupBroadcast(dv1, 6u) * xv;
            a15 += subgroupBroadcast(dv1, 7u) * xv;
            let dv2 = dy[dl2 + dyo];
            a16 += subgroupBroadcast(dv2, 0u) * xv;
            a17 += subgroupBroadcast(dv2, 1u) * xv;
            a18 += subgroupBroadcast(dv2, 2u) * xv;
            a19 += subgroupBroadcast(dv2, 3u) * xv;
            a20 += subgroupBroadcast(dv2, 4u) * xv;
            a21 += subgroupBroadcast(dv2, 5u) * xv;
            a22 += subgroupBroadcast(dv2, 6u) * xv;
            a23 += subgroupBroadcast(dv2, 7u) * xv;
            let dv3 = dy[dl3 + dyo];
            a24 += subgroupBroadcast(dv3, 0u) * xv;
            a25 += subgroupBroadcast(dv3, 1u) * xv;
            a26 += subgroupBroadcast(dv3, 2u) * xv;
            a27 += subgroupBroadcast(dv3, 3u) * xv;
            a28 += subgroupBroadcast(dv3, 4u) * xv;
            a29 += subgroupBroadcast(dv3, 5u) * xv;
            a30 += subgroupBroadcast(dv3, 6u) * xv;
            a31 += subgroupBroadcast(dv3, 7u) * xv;
            dyo += 1u;
        }
    }
    let base = wid.z * p.c_out * rs;
    put(live, co0 + 0u, base, rc, a0);
    put(live, co0 + 1u, base, rc, a1);
    put(live, co0 + 2u, base, rc, a2);
    put(live, co0 + 3u, base, rc, a3);
    put(live, co0 + 4u, base, rc, a4);
    put(live, co0 + 5u, base, rc, a5);
    put(live, co0 + 6u, base, rc, a6);
    put(live, co0 + 7u, base, rc, a7);
    put(live, co0 + 8u, base, rc, a8);
    put(live, co0 + 9u, base, rc, a9);
    put(live, co0 + 10u, base, rc, a10);
    put(live, co0 + 11u, base, rc, a11);
    put(live, co0 + 12u, base, rc, a12);
    put(live, co0 + 13u, base, rc, a13);
    put(live, co0 + 14u, base, rc, a14);
    put(live, co0 + 15u, base, rc, a15);
    put(live, co0 + 16u, base, rc, a16);
    put(live, co0 + 17u, base, rc, a17);
    put(live, co0 + 18u, base, rc, a18);
    put(live, co0 + 19u, base, rc, a19);
    put(live, co0 + 20u, base, rc, a20);
    put(live, co0 + 21u, base, rc, a21);
    put(live, co0 + 22u, base, rc, a22);
    put(live, co0 + 23u, base, rc, a23);
    put(live, co0 + 24u, base, rc, a24);
    put(live, co0 + 25u, base, rc, a25);
    put(live, co0 + 26u, base, rc, a26);
    put(live, co0 + 27u, base, rc, a27);
    put(live, co0 + 28u, base, rc, a28);
    put(live, co0 + 29u, base, rc, a29);
    put(live, co0 + 30u, base, rc, a30);
    put(live, co0 + 31u, base, rc, a31);
}
