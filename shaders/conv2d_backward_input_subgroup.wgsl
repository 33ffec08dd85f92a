// conv2d_backward_input_subgroup: dx[n,ci,ih,iw] = sum_{co,kh,kw} dy[n,co,oh,ow] * w[co,ci,kh,kw]
// over oh*s-p+kh = ih, ow*s-p+kw = iw (the transposed conv, any stride); overwrites dx.
// Layouts: dy [N,Co,OH,OW], w [Co,Ci,K,K] (OIHW), dx [N,Ci,H,W], NCHW f32.
// The forward subgroup kernel's structure with dy in x's role: 32 input channels x 4 consecutive
// input pixels per thread; per tap and output channel, lane l loads w[co, ci0 + 8g + (l & 7), tap],
// g = 0..3, and subgroupBroadcast hands them to all lanes (4 loads + 32 broadcasts per 4 gathered
// dy values and 128 FMAs). Taps whose oh = (ih+p-kh)/s is fractional or outside [0, OH) are
// masked (the gather formulation), so stride > 1 works, spending 1 - 1/s^2 of the taps on zeros.
// oh, ow are tracked as quotient/remainder updated per tap (no divisions in the loops).
// Needs subgroups of >= 8 lanes (the builder checks); no early return (uniform flow).
// Dispatch: [gx, ceil(Ci/32), gz], tiles = ceil(H*W/4), t = (wid.x + wid.z*nwg.x)*64 + lid.x.
// `enable subgroups;` is left out (naga 30 rejects it); Kernel::device_source adds it on the web.

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, k: u32, stride: u32, pad: u32,
    out_h: u32, out_w: u32, tiles: u32, rows_per: u32,
}

@group(0) @binding(0) var<storage, read>       dy: array<f32>;  // [N, Co, OH, OW]
@group(0) @binding(1) var<storage, read>       w: array<f32>;   // [Co, Ci, K, K]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;  // [N, Ci, H, W]
@group(0) @binding(3) var<uniform>             p: Params;

fn put(live: bool, ci: u32, base: u32, pix: vec4<u32>, ok: vec4<bool>, v: vec4<f32>) {
    if (!live || ci >= p.c_in) { return; }
    let o = base + ci * p.h * p.w;
    if (ok.x) { dx[o + pix.x] = v.x; }
    if (ok.y) { dx[o + pix.y] = v.y; }
    if (ok.z) { dx[o + pix.z] = v.z; }
    if (ok.w) { dx[o + pix.w] = v.w; }
}

// One step of a tap: (q, r) = divmod(v, s) becomes divmod(v - 1, s).
fn dec(qr: ptr<function, array<vec4<i32>, 2>>, s: vec4<i32>) {
    let r = (*qr)[1] - vec4<i32>(1);
    let wrap = r < vec4<i32>(0);
    (*qr)[1] = select(r, r + s, wrap);
    (*qr)[0] = select((*qr)[0], (*qr)[0] - vec4<i32>(1), wrap);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) sid: u32) {
    let t = (wid.x + wid.z * nwg.x) * 64u + lid.x;
    let live = t < p.n * p.tiles;
    let tc = min(t, p.n * p.tiles - 1u);
    let img = tc / p.tiles;
    let hw = p.h * p.w;
    let pix = vec4<u32>((tc % p.tiles) * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    let pok = pix < vec4<u32>(hw);
    let pc = min(pix, vec4<u32>(hw - 1u));
    let s = vec4<u32>(p.stride);
    let ihp = pc / p.w + p.pad;   // oh*s + kh for the taps that reach this pixel
    let iwp = pc % p.w + p.pad;
    let si = vec4<i32>(s);
    let oh_n = vec4<i32>(i32(p.out_h));
    let ow_n = vec4<i32>(i32(p.out_w));
    let plane = p.out_h * p.out_w;
    let kk = p.k * p.k;
    let dyb = vec4<i32>(i32(img * p.c_out * plane));

    // Lane l holds the (clamped) weights of channel ci0 + 8g + (l & 7); out-of-range ones are not stored.
    let ci0 = wid.y * 32u;
    let last = p.c_in - 1u;
    let wl0 = min(ci0 + 0u + (sid & 7u), last) * kk;
    let wl1 = min(ci0 + 8u + (sid & 7u), last) * kk;
    let wl2 = min(ci0 + 16u + (sid & 7u), last) * kk;
    let wl3 = min(ci0 + 24u + (sid & 7u), last) * kk;
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

    var qh = array<vec4<i32>, 2>(vec4<i32>(ihp / s), vec4<i32>(ihp % s));
    let qw0 = array<vec4<i32>, 2>(vec4<i32>(iwp / s), vec4<i32>(iwp % s));
    let rs = p.c_in * kk;
    for (var kh = 0u; kh < p.k; kh++) {
        let rok = (qh[1] == vec4<i32>(0)) & (qh[0] >= vec4<i32>(0)) & (qh[0] < oh_n);
        var qw = qw0;
        for (var kw = 0u; kw < p.k; kw++) {
            let ok = rok & (qw[1] == vec4<i32>(0)) & (qw[0] >= vec4<i32>(0)) & (qw[0] < ow_n);
            let idx = select(vec4<i32>(0), dyb + qh[0] * ow_n + qw[0], ok);
            var wo = kh * p.k + kw;
            for (var co = 0u; co < p.c_out; co++) {
                let o = vec4<i32>(i32(co * plane)) + idx;
                let dv = select(vec4<f32>(0.0), vec4<f32>(dy[o.x], dy[o.y], dy[o.z], dy[o.w]), ok);
                let wv0 = w[wl0 + wo];
                a0 += subgroupBroadcast(wv0, 0u) * dv;
                a1 += subgroupBroadcast(wv0, 1u) * dv;
                a2 += subgroupBroadcast(wv0, 2u) * dv;
                a3 += subgroupBroadcast(wv0, 3u) * dv;
                a4 += subgroupBroadcast(wv0, 4u) * dv;
                a5 += subgroupBroadcast(wv0, 5u) * dv;
                a6 += subgroupBroadcast(wv0, 6u) * dv;
                a7 += subgroupBroadcast(wv0, 7u) * dv;
                let wv1 = w[wl1 + wo];
                a8 += subgroupBroadcast(wv1, 0u) * dv;
                a9 += subgroupBroadcast(wv1, 1u) * dv;
                a10 += subgroupBroadcast(wv1, 2u) * dv;
                a11 += subgroupBroadcast(wv1, 3u) * dv;
                a12 += subgroupBroadcast(wv1, 4u) * dv;
                a13 += subgroupBroadcast(wv1, 5u) * dv;
                a14 += subgroupBroadcast(wv1, 6u) * dv;
                a15 += subgroupBroadcast(wv1, 7u) * dv;
                let wv2 = w[wl2 + wo];
                a16 += subgroupBroadcast(wv2, 0u) * dv;
                a17 += subgroupBroadcast(wv2, 1u) * dv;
                a18 += subgroupBroadcast(wv2, 2u) * dv;
                a19 += subgroupBroadcast(wv2, 3u) * dv;
                a20 += subgroupBroadcast(wv2, 4u) * dv;
                a21 += subgroupBroadcast(wv2, 5u) * dv;
                a22 += subgroupBroadcast(wv2, 6u) * dv;
                a23 += subgroupBroadcast(wv2, 7u) * dv;
                let wv3 = w[wl3 + wo];
                a24 += subgroupBroadcast(wv3, 0u) * dv;
                a25 += subgroupBroadcast(wv3, 1u) * dv;
                a26 += subgroupBroadcast(wv3, 2u) * dv;
                a27 += subgroupBroadcast(wv3, 3u) * dv;
                a28 += subgroupBroadcast(wv3, 4u) * dv;
                a29 += subgroupBroadcast(wv3, 5u) * dv;
                a30 += subgroupBroadcast(wv3, 6u) * dv;
                a31 += subgroupBroadcast(wv3, 7u) * dv;
                wo += rs;
            }
            dec(&qw, si);
        }
        dec(&qh, si);
    }
    let xb = img * p.c_in * hw;
    put(live, ci0 + 0u, xb, pc, pok, a0);
    put(live, ci0 + 1u, xb, pc, pok, a1);
    put(live, ci0 + 2u, xb, pc, pok, a2);
    put(live, ci0 + 3u, xb, pc, pok, a3);
    put(live, ci0 + 4u, xb, pc, pok, a4);
    put(live, ci0 + 5u, xb, pc, pok, a5);
    put(live, ci0 + 6u, xb, pc, pok, a6);
    put(live, ci0 + 7u, xb, pc, pok, a7);
    put(live, ci0 + 8u, xb, pc, pok, a8);
    put(live, ci0 + 9u, xb, pc, pok, a9);
    put(live, ci0 + 10u, xb, pc, pok, a10);
    put(live, ci0 + 11u, xb, pc, pok, a11);
    put(live, ci0 + 12u, xb, pc, pok, a12);
    put(live, ci0 + 13u, xb, pc, pok, a13);
    put(live, ci0 + 14u, xb, pc, pok, a14);
    put(live, ci0 + 15u, xb, pc, pok, a15);
    put(live, ci0 + 16u, xb, pc, pok, a16);
    put(live, ci0 + 17u, xb, pc, pok, a17);
    put(live, ci0 + 18u, xb, pc, pok, a18);
    put(live, ci0 + 19u, xb, pc, pok, a19);
    put(live, ci0 + 20u, xb, pc, pok, a20);
    put(live, ci0 + 21u, xb, pc, pok, a21);
    put(live, ci0 + 22u, xb, pc, pok, a22);
    put(live, ci0 + 23u, xb, pc, pok, a23);
    put(live, ci0 + 24u, xb, pc, pok, a24);
    put(live, ci0 + 25u, xb, pc, pok, a25);
    put(live, ci0 + 26u, xb, pc, pok, a26);
    put(live, ci0 + 27u, xb, pc, pok, a27);
    put(live, ci0 + 28u, xb, pc, pok, a28);
    put(live, ci0 + 29u, xb, pc, pok, a29);
    put(live, ci0 + 30u, xb, pc, pok, a30);
    put(live, ci0 + 31u, xb, pc, pok, a31);
}
