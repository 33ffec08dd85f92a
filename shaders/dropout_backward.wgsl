// dropout_backward: dx[i] = dy[i] * mask[i]      (OVERWRITES dx; mask from dropout_forward)
// Flat f32 arrays of p.n elements.
// Dispatch: grid_1d(n, 256); i = gid.x + gid.y * nwg.x * 256.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read>       dy: array<f32>;
@group(0) @binding(1) var<storage, read>       mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform>             p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    dx[i] = dy[i] * mask[i];
}
