//! A dispatch built once: pipeline + bind group + its own uniform buffer + grid.
//! Layers build their `Op`s at model-build time; a step only records them
//! (and writes small uniforms), so nothing is allocated per step.

use bytemuck::Pod;

use crate::error::{Error, Result};
use crate::gpu::tensor::Bind;
use crate::gpu::{Gpu, Kernel};

pub struct Op {
    pub label: String,
    /// The kernel it runs (the builder's choice among a kernel's variants).
    pub kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    pub groups: [u32; 3],
    /// Counts the uniform buffer as live while the op exists.
    _live: super::live::LiveGuard,
}

/// Workgroups for `n` invocations of a 1-D kernel of `wg` threads, folded
/// into y when x would exceed the per-dimension limit. Kernels index with
/// `i = gid.x + gid.y * nwg.x * WG`.
pub fn grid_1d(n: usize, wg: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(wg as u64).max(1);
    const MAX_X: u64 = 65_535;
    if groups <= MAX_X {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(MAX_X);
        let x = groups.div_ceil(y);
        [x as u32, y as u32, 1]
    }
}

/// The variant of an element-wise kernel for `n` elements, with its grid (256-thread
/// workgroups): `vec4` (4 consecutive elements per thread) when `n % 4 == 0`, else `scalar`.
/// On llvmpipe a storage access costs about the same at any width (a loop over the SIMD
/// lanes), so the vec4 form makes a quarter of the accesses. Both compute the same
/// expression per element, so the choice never changes a result.
pub fn elementwise(n: usize, scalar: Kernel, vec4: Kernel) -> (Kernel, [u32; 3]) {
    if n.is_multiple_of(4) {
        (vec4, grid_1d(n / 4, 256))
    } else {
        (scalar, grid_1d(n, 256))
    }
}

impl Gpu {
    /// Build an op: `buffers` bind to 0..n-1 in order (read-only inputs, then
    /// outputs, as the kernel declares), the params uniform binds to n.
    pub fn op<P: Pod>(
        &self,
        kernel: Kernel,
        label: &str,
        buffers: &[Bind],
        params: &P,
        groups: [u32; 3],
    ) -> Result<Op> {
        let max = self.limits.max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(Error::TooLarge {
                what: format!("{label}: grid {groups:?}"),
                size: *groups.iter().max().unwrap_or(&0) as u64,
                limit: max as u64,
                limit_name: "max_compute_workgroups_per_dimension",
            });
        }
        let pipeline = self.pipeline(kernel)?;
        let params_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (std::mem::size_of::<P>() as u64).max(16).next_multiple_of(16),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&params_buf, 0, bytemuck::bytes_of(params));
        let mut entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.resource(),
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: buffers.len() as u32,
            resource: params_buf.as_entire_binding(),
        });
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.check()
            .map_err(|e| e.unless_lost(|e| Error::Gpu(format!("building `{label}` ({}): {e}", kernel.name()))))?;
        let _live = super::live::LiveGuard::new(&self.live, params_buf.size());
        Ok(Op {
            label: label.into(),
            kernel,
            pipeline,
            bind_group,
            params: params_buf,
            groups,
            _live,
        })
    }

    /// Record and submit `ops` in order, in one compute pass.
    pub fn run(&self, ops: &[&Op]) -> Result<()> {
        let mut enc = Encoder::new(self, "run");
        for op in ops {
            enc.dispatch(op);
        }
        enc.submit(self)
    }
}

impl Op {
    /// Update the uniform (e.g. a per-step seed or learning rate); takes
    /// effect for dispatches submitted after this call.
    pub fn set_params<P: Pod>(&self, gpu: &Gpu, params: &P) {
        gpu.queue.write_buffer(&self.params, 0, bytemuck::bytes_of(params));
    }

    /// Overwrite one 32-bit field (index `word`) of the uniform, the others kept.
    pub fn set_param_word(&self, gpu: &Gpu, word: usize, value: u32) -> crate::Result<()> {
        let at = 4 * word as u64;
        if at + 4 > self.params.size() {
            return Err(crate::Error::Shape(format!(
                "{}: uniform word {word} past its {} bytes",
                self.label,
                self.params.size()
            )));
        }
        gpu.queue.write_buffer(&self.params, at, bytemuck::bytes_of(&value));
        Ok(())
    }
}

/// Records dispatches, buffer clears and copies in order; consecutive
/// dispatches share a compute pass (WebGPU orders their storage accesses).
pub struct Encoder<'a> {
    enc: wgpu::CommandEncoder,
    pending: Vec<&'a Op>,
}

impl<'a> Encoder<'a> {
    pub fn new(gpu: &Gpu, label: &str) -> Self {
        let enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        Encoder {
            enc,
            pending: Vec::new(),
        }
    }

    pub fn dispatch(&mut self, op: &'a Op) {
        self.pending.push(op);
    }

    /// Zero a tensor (only its part of a group's buffer).
    pub fn clear(&mut self, t: Bind) {
        self.flush();
        self.enc.clear_buffer(t.buffer, t.offset, Some(t.bytes));
    }

    /// Copy the first `bytes` bytes of `src` to the start of `dst`.
    pub fn copy(&mut self, src: Bind, dst: Bind, bytes: u64) {
        self.copy_at(src, 0, dst, 0, bytes);
    }

    /// Copy `bytes` from byte `src_off` of `src` to byte `dst_off` of `dst` (4-byte aligned).
    pub fn copy_at(&mut self, src: Bind, src_off: u64, dst: Bind, dst_off: u64, bytes: u64) {
        self.flush();
        let (from, to) = (src.offset + src_off, dst.offset + dst_off);
        self.enc.copy_buffer_to_buffer(src.buffer, from, dst.buffer, to, bytes);
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut pass = self.enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        for op in self.pending.drain(..) {
            pass.set_pipeline(&op.pipeline);
            pass.set_bind_group(0, &op.bind_group, &[]);
            pass.dispatch_workgroups(op.groups[0], op.groups[1], op.groups[2]);
        }
    }

    pub fn submit(mut self, gpu: &Gpu) -> Result<()> {
        self.flush();
        gpu.submit([self.enc.finish()]);
        gpu.check()
    }
}
