// conv2d_pack_weights: wp[kh, kw, r, o] = w[o, r, kh, kw] (forward: r = input channel, o = output
// channel) or w[r, o, kh, kw] (transposed = 1, for backward-input: r = output channel, o = input
// channel); zero for the padding o in [Co, Co4 * 4). The layout conv2d_3x3_sg.wgsl reads: one vec4
// holds 4 consecutive o of one (kh, kw, r), so a lane loads 4 channels' weights at once.
// Layouts: w [Co_layer, Ci_layer, 3, 3] (OIHW), wp [3, 3, Cr, Co4 * 4], f32.
// Runs before every conv2d_3x3_sg (weights change each optimizer step); it is tiny next to the
// convolution (9 * Cr * Co values against 9 * Cr * Co * N * H * W multiply-adds).
// Dispatch: grid_1d(9 * Cr * Co4 * 4, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { c_red: u32, c_out: u32, cout4: u32, transposed: u32 }

@group(0) @binding(0) var<storage, read>       w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wp: array<f32>;
@group(0) @binding(2) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let row = p.cout4 * 4u;
    if (i >= 9u * p.c_red * row) { return; }
    let o = i % row;
    let r = (i / row) % p.c_red;
    let tap = i / (row * p.c_red);
    if (o >= p.c_out) {
        wp[i] = 0.0;
        return;
    }
    // OIHW index of (out channel, in channel) of the layer.
    let oi = select(o * p.c_red + r, r * p.c_out + o, p.transposed == 1u);
    wp[i] = w[oi * 9u + tap];
}
