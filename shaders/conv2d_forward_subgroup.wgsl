// conv2d_forward_subgroup: y[n,co,oh,ow] = b[co] + sum_{ci,kh,kw} x[n,ci,oh*s-p+kh,ow*s-p+kw] * w[co,ci,kh,kw]
// Layouts, pixel tiling and grid as conv2d_forward.wgsl, but 32 output channels per thread
// (dispatch [gx, ceil(Co/32), gz]). Per tap and input channel, lane l of each subgroup loads the
// weights of channels co0 + 8g + (l & 7), g = 0..3, and subgroupBroadcast hands them to all lanes:
// 4 loads + 32 broadcasts instead of 32 loads per thread. On lavapipe every load with a per-lane
// address is a lane-by-lane gather while a broadcast is one shuffle, so this and the wide block
// (each per-lane x load feeds 32 FMAs) are what make it fast. Needs subgroups of >= 8 lanes (the
// builder checks subgroup_min_size). No early return: subgroup ops need all lanes in uniform flow.
// The `enable subgroups;` directive is left out: naga 30 rejects it (gfx-rs/wgpu#5555) and takes
// subgroup builtins under Features::SUBGROUP; a browser (Tint) wants it, so the web path must prepend it.

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
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) sid: u32) {
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

    // Lane l holds the (clamped) weight row of channel co0 + (l & 7); out-of-range ones are not stored.
    let co0 = wid.y * 32u;
    let last = p.c_out - 1u;
    let rs = p.c_in * kk;
    let wl0 = min(co0 + 0u + (sid & 7u), last) * rs;
    let wl1 = min(co0 + 8u + (sid & 7u), last) * rs;
    let wl2 = min(co0 + 16u + (sid & 7u), last) * rs;
    let wl3 = min(co0 + 24u + (sid & 7u), last) * rs;
    var a0 = vec4<f32>(b[min(co0 + 0u, last)]);
    var a1 = vec4<f32>(b[min(co0 + 1u, last)]);
    var a2 = vec4<f32>(b[min(co0 + 2u, last)]);
    var a3 = vec4<f32>(b[min(co0 + 3u, last)]);
    var a4 = vec4<f32>(b[min(co0 + 4u, last)]);
    var a5 = vec4<f32>(b[min(co0 + 5u, last)]);
    var a6 = vec4<f32>(b[min(co0 + 6u, last)]);
    var a7 = vec4<f32>(b[min(co0 + 7u, last)]);
    var a8 = vec4<f32>(b[min(co0 + 8u, last)]);
    var a9 = vec4<f32>(b[min(co0 + 9u, last)]);
    var a10 = vec4<f32>(b[min(co0 + 10u, last)]);
    var a11 = vec4<f32>(b[min(co0 + 11u, last)]);
    var a12 = vec4<f32>(b[min(co0 + 12u, last)]);
    var a13 = vec4<f32>(b[min(co0 + 13u, last)]);
    var a14 = vec4<f32>(b[min(co0 + 14u, last)]);
    var a15 = vec4<f32>(b[min(co0 + 15u, last)]);
    var a16 = vec4<f32>(b[min(co0 + 16u, last)]);
    var a17 = vec4<f32>(b[min(co0 + 17u, last)]);
    var a18 = vec4<f32>(b[min(co0 + 18u, last)]);
    var a19 = vec4<f32>(b[min(co0 + 19u, last)]);
    var a20 = vec4<f32>(b[min(co0 + 20u, last)]);
    var a21 = vec4<f32>(b[min(co0 + 21u, last)]);
    var a22 = vec4<f32>(b[min(co0 + 22u, last)]);
    var a23 = vec4<f32>(b[min(co0 + 23u, last)]);
    var a24 = vec4<f32>(b[min(co0 + 24u, last)]);
    var a25 = vec4<f32>(b[min(co0 + 25u, last)]);
    var a26 = vec4<f32>(b[min(co0 + 26u, last)]);
    var a27 = vec4<f32>(b[min(co0 + 27u, last)]);
    var a28 = vec4<f32>(b[min(co0 + 28u, last)]);
    var a29 = vec4<f32>(b[min(co0 + 29u, last)]);
    var a30 = vec4<f32>(b[min(co0 + 30u, last)]);
    var a31 = vec4<f32>(b[min(co0 + 31u, last)]);

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
                let wv0 = w[wl0 + wo];
                a0 += subgroupBroadcast(wv0, 0u) * xv;
                a1 += subgroupBroadcast(wv0, 1u) * xv;
                a2 += subgroupBroadcast(wv0, 2u) * xv;
                a3 += subgroupBroadcast(wv0, 3u) * xv;
                a4 += subgroupBroadcast(wv0, 4u) * xv;
                a5 += subgroupBroadcast(wv0, 5u) * xv;
                a6 += subgroupBroadcast(wv0, 6u) * xv;
                a7 += subgroupBroadcast(wv0, 7u) * xv;
                let wv1 = w[wl1 + wo];
                a8 += subgroupBroadcast(wv1, 0u) * xv;
                a9 += subgroupBroadcast(wv1, 1u) * xv;
                a10 += subgroupBroadcast(wv1, 2u) * xv;
                a11 += subgroupBroadcast(wv1, 3u) * xv;
                a12 += subgroupBroadcast(wv1, 4u) * xv;
                a13 += subgroupBroadcast(wv1, 5u) * xv;
                a14 += subgroupBroadcast(wv1, 6u) * xv;
                a15 += subgroupBroadcast(wv1, 7u) * xv;
                let wv2 = w[wl2 + wo];
                a16 += subgroupBroadcast(wv2, 0u) * xv;
                a17 += subgroupBroadcast(wv2, 1u) * xv;
                a18 += subgroupBroadcast(wv2, 2u) * xv;
                a19 += subgroupBroadcast(wv2, 3u) * xv;
                a20 += subgroupBroadcast(wv2, 4u) * xv;
                a21 += subgroupBroadcast(wv2, 5u) * xv;
                a22 += subgroupBroadcast(wv2, 6u) * xv;
                a23 += subgroupBroadcast(wv2, 7u) * xv;
                let wv3 = w[wl3 + wo];
                a24 += subgroupBroadcast(wv3, 0u) * xv;
                a25 += subgroupBroadcast(wv3, 1u) * xv;
                a26 += subgroupBroadcast(wv3, 2u) * xv;
                a27 += subgroupBroadcast(wv3, 3u) * xv;
                a28 += subgroupBroadcast(wv3, 4u) * xv;
                a29 += subgroupBroadcast(wv3, 5u) * xv;
                a30 += subgroupBroadcast(wv3, 6u) * xv;
                a31 += subgroupBroadcast(wv3, 7u) * xv;
                wo += kk;
            }
        }
    }
    let yb = img * p.c_out * plane;
    put(live, co0 + 0u, yb, pc, pok, a0);
    put(live, co0 + 1u, yb, pc, pok, a1);
    put(live, co0 + 2u, yb, pc, pok, a2);
    put(live, co0 + 3u, yb, pc, pok, a3);
    put(live, co0 + 4u, yb, pc, pok, a4);
    put(live, co0 + 5u, yb, pc, pok, a5);
    put(live, co0 + 6u, yb, pc, pok, a6);
    put(live, co0 + 7u, yb, pc, pok, a7);
    put(live, co0 + 8u, yb, pc, pok, a8);
    put(live, co0 + 9u, yb, pc, pok, a9);
    put(live, co0 + 10u, yb, pc, pok, a10);
    put(live, co0 + 11u, yb, pc, pok, a11);
    put(live, co0 + 12u, yb, pc, pok, a12);
    put(live, co0 + 13u, yb, pc, pok, a13);
    put(live, co0 + 14u, yb, pc, pok, a14);
    put(live, co0 + 15u, yb, pc, pok, a15);
    put(live, co0 + 16u, yb, pc, pok, a16);
    put(live, co0 + 17u, yb, pc, pok, a17);
    put(live, co0 + 18u, yb, pc, pok, a18);
    put(live, co0 + 19u, yb, pc, pok, a19);
    put(live, co0 + 20u, yb, pc, pok, a20);
    put(live, co0 + 21u, yb, pc, pok, a21);
    put(live, co0 + 22u, yb, pc, pok, a22);
    put(live, co0 + 23u, yb, pc, pok, a23);
    put(live, co0 + 24u, yb, pc, pok, a24);
    put(live, co0 + 25u, yb, pc, pok, a25);
    put(live, co0 + 26u, yb, pc, pok, a26);
    put(live, co0 + 27u, yb, pc, pok, a27);
    put(live, co0 + 28u, yb, pc, pok, a28);
    put(live, co0 + 29u, yb, pc, pok, a29);
    put(live, co0 + 30u, yb, pc, pok, a30);
    put(live, co0 + 31u, yb, pc, pok, a31);
}
