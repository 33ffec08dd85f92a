// conv2d_backward_input: dx[n,ci,ih,iw] = sum_{co,kh,kw} dy[n,co,oh,ow] * w[co,ci,kh,kw]
// over oh*s-p+kh = ih, ow*s-p+kw = iw (the transposed conv); overwrites dx.
// Layouts: dy [N,Co,OH,OW], w [Co,Ci,K,K] (OIHW), dx [N,Ci,H,W], NCHW f32.
// Register blocking as the forward: 8 input channels (from workgroup_id.y, so w loads are
// workgroup-uniform) x 4 consecutive input pixels (flattened ih*W+iw) per thread; no early return.
// oh = (ih+p-kh)/s is tracked as quotient/remainder updated per tap, so the loops divide nothing.
// Dispatch: [gx, ceil(Ci/8), gz], tiles = ceil(H*W/4), t = (wid.x + wid.z*nwg.x)*64 + lid.x.

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
        @builtin(num_workgroups) nwg: vec3<u32>) {
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

    let ci0 = wid.y * 8u;
    let last = p.c_in - 1u;
    let w0 = min(ci0, last) * kk;       let w1 = min(ci0 + 1u, last) * kk;
    let w2 = min(ci0 + 2u, last) * kk;  let w3 = min(ci0 + 3u, last) * kk;
    let w4 = min(ci0 + 4u, last) * kk;  let w5 = min(ci0 + 5u, last) * kk;
    let w6 = min(ci0 + 6u, last) * kk;  let w7 = min(ci0 + 7u, last) * kk;
    var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);

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
                a0 += w[w0 + wo] * dv;  a1 += w[w1 + wo] * dv;
                a2 += w[w2 + wo] * dv;  a3 += w[w3 + wo] * dv;
                a4 += w[w4 + wo] * dv;  a5 += w[w5 + wo] * dv;
                a6 += w[w6 + wo] * dv;  a7 += w[w7 + wo] * dv;
                wo += rs;
            }
            dec(&qw, si);
        }
        dec(&qh, si);
    }
    let xb = img * p.c_in * hw;
    put(live, ci0, xb, pc, pok, a0);       put(live, ci0 + 1u, xb, pc, pok, a1);
    put(live, ci0 + 2u, xb, pc, pok, a2);  put(live, ci0 + 3u, xb, pc, pok, a3);
    put(live, ci0 + 4u, xb, pc, pok, a4);  put(live, ci0 + 5u, xb, pc, pok, a5);
    put(live, ci0 + 6u, xb, pc, pok, a6);  put(live, ci0 + 7u, xb, pc, pok, a7);
}
