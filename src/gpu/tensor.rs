//! A GPU buffer of 4-byte elements (f32 or u32) with a shape. Buffers are
//! STORAGE | COPY_SRC | COPY_DST, checked against device limits before allocation.

use crate::error::{Error, Result};
use crate::gpu::readback::ReadRange;
use crate::gpu::Gpu;

/// Cloning gives another handle to the same GPU buffer (a view, not a copy). A tensor owns its
/// buffer, or is one part of a group's buffer (`Gpu::tensor_group`) at a byte `offset`; so
/// kernels bind it through `bind()` and copies, clears and reads go through the tensor, never
/// through the raw buffer.
#[derive(Clone)]
pub struct Tensor {
    buffer: wgpu::Buffer,
    /// Where the tensor starts in `buffer`, in bytes (0 unless a part of a group).
    offset: u64,
    pub shape: Vec<usize>,
    pub label: String,
    /// Counts the buffer as live until its last handle drops (shared by clones and aliases).
    pub(crate) live: std::sync::Arc<crate::gpu::live::LiveGuard>,
}

impl Tensor {
    /// Another handle to the same buffer with its own shape and label (a reshape or an alias;
    /// no copy). It shares the buffer's live-count guard.
    pub fn view(&self, shape: &[usize], label: &str) -> Tensor {
        Tensor {
            buffer: self.buffer.clone(),
            offset: self.offset,
            shape: shape.to_vec(),
            label: label.into(),
            live: self.live.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> u64 {
        self.len() as u64 * 4
    }

    /// The tensor's bytes as a shader binding (or a copy/clear range): its own buffer, or its
    /// part of a group's. At least 4 bytes (an empty tensor's buffer still holds one element).
    pub fn bind(&self) -> Bind<'_> {
        Bind {
            buffer: &self.buffer,
            offset: self.offset,
            bytes: self.bytes().max(4),
        }
    }

    /// `bytes` bytes from byte `offset` of the tensor, as a range to read back (unchecked:
    /// `Gpu::read_bytes_many` refuses ranges that are not 4-byte aligned).
    pub fn read_range(&self, offset: u64, bytes: u64) -> ReadRange<'_> {
        ReadRange {
            buffer: &self.buffer,
            offset: self.offset + offset,
            bytes,
        }
    }

    /// All of the tensor, as a range to read back.
    fn whole(&self) -> ReadRange<'_> {
        self.read_range(0, self.bytes())
    }

    /// Error unless the shape is exactly `want`.
    pub fn expect_shape(&self, want: &[usize]) -> Result<()> {
        if self.shape != want {
            return Err(Error::Shape(format!(
                "`{}` has shape {:?}, expected {:?}",
                self.label, self.shape, want
            )));
        }
        Ok(())
    }
}

/// Tensors in one buffer (`Gpu::tensor_group`).
pub struct TensorGroup {
    /// The whole buffer as one flat tensor (the parts and the padding between them).
    pub whole: Tensor,
    pub parts: Vec<Tensor>,
}

/// A tensor's bytes in its buffer: what a kernel binds, a copy moves or a clear zeroes.
#[derive(Clone, Copy)]
pub struct Bind<'a> {
    pub(crate) buffer: &'a wgpu::Buffer,
    pub(crate) offset: u64,
    pub(crate) bytes: u64,
}

impl Bind<'_> {
    pub(crate) fn resource(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buffer,
            offset: self.offset,
            size: std::num::NonZeroU64::new(self.bytes),
        })
    }
}

impl Gpu {
    /// The engine's buffers alive now (tensors, op uniforms, pooled staging) and their bytes.
    pub fn live_buffers(&self) -> crate::gpu::LiveBuffers {
        self.live.snapshot()
    }

    /// A zero-filled tensor.
    pub fn tensor(&self, label: &str, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let bytes = (n as u64 * 4).max(4);
        self.check_buffer_size(label, bytes)?;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Tensor {
            buffer,
            offset: 0,
            shape: shape.to_vec(),
            label: label.into(),
            live: std::sync::Arc::new(crate::gpu::live::LiveGuard::new(&self.live, bytes)),
        })
    }

    /// Where a group's parts may start: the storage-binding offset alignment, and 16 bytes.
    pub fn group_alignment(&self) -> u64 {
        (self.limits.min_storage_buffer_offset_alignment as u64).max(16)
    }

    /// Tensors of `shapes` (in order) cut into runs whose parts, aligned as `tensor_group`
    /// aligns them, fit one storage binding: the groups to allocate (indices into `shapes`).
    /// A tensor too large for a binding by itself gets a run of its own (whose group fails).
    pub fn binding_runs(&self, shapes: &[&[usize]]) -> Vec<Vec<usize>> {
        let (limit, align) = (self.limits.max_storage_buffer_binding_size, self.group_alignment());
        let mut runs: Vec<Vec<usize>> = Vec::new();
        let mut used = 0u64;
        for (i, shape) in shapes.iter().enumerate() {
            let n: u64 = shape.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
            let bytes = n.saturating_mul(4).next_multiple_of(align);
            match runs.last_mut() {
                Some(run) if used.saturating_add(bytes) <= limit => run.push(i),
                _ => {
                    runs.push(vec![i]);
                    used = 0;
                }
            }
            used = used.saturating_add(bytes);
        }
        runs
    }

    /// `tensor_group` over `members` (name, shape), each part labelled `{name}{suffix}`: the
    /// values, gradients and optimizer moments of one parameter set share their layout.
    pub fn tensor_group_suffixed(
        &self,
        label: &str,
        members: &[(&str, &[usize])],
        suffix: &str,
    ) -> Result<TensorGroup> {
        let names: Vec<String> = members.iter().map(|(n, _)| format!("{n}{suffix}")).collect();
        let parts: Vec<(&str, &[usize])> = names.iter().zip(members).map(|(n, (_, s))| (n.as_str(), *s)).collect();
        self.tensor_group(label, &parts)
    }

    /// Zero-filled tensors that share one buffer: part i has `parts[i]`'s label and shape and
    /// starts at a multiple of the device's storage-binding offset alignment (and of 16 bytes,
    /// for vec4 kernels); `whole` spans the buffer, parts and the zero padding between them, so
    /// one kernel can update every part at once (the one-dispatch optimizer steps). The whole
    /// must fit one binding (max_storage_buffer_binding_size): else an `Error::TooLarge`, and
    /// callers keep separate tensors.
    pub fn tensor_group(&self, label: &str, parts: &[(&str, &[usize])]) -> Result<TensorGroup> {
        let align = self.group_alignment();
        let too_large = || Error::TooLarge {
            what: label.into(),
            size: u64::MAX,
            limit: self.limits.max_storage_buffer_binding_size,
            limit_name: "max_storage_buffer_binding_size",
        };
        let mut offsets = Vec::with_capacity(parts.len());
        let mut end = 0u64;
        for (_, shape) in parts {
            let n = shape
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
                .ok_or_else(too_large)?;
            offsets.push(end);
            let bytes = n.checked_mul(4).ok_or_else(too_large)?;
            end = end
                .checked_add(bytes)
                .and_then(|e| e.checked_next_multiple_of(align))
                .ok_or_else(too_large)?;
        }
        let whole = self.tensor(label, &[(end / 4).max(1) as usize])?;
        let parts = parts
            .iter()
            .zip(offsets)
            .map(|((name, shape), offset)| Tensor {
                buffer: whole.buffer.clone(),
                offset,
                shape: shape.to_vec(),
                label: (*name).into(),
                live: whole.live.clone(),
            })
            .collect();
        Ok(TensorGroup { whole, parts })
    }

    pub fn tensor_from(&self, label: &str, shape: &[usize], data: &[f32]) -> Result<Tensor> {
        let t = self.tensor(label, shape)?;
        self.write(&t, data)?;
        Ok(t)
    }

    pub fn tensor_from_u32(&self, label: &str, shape: &[usize], data: &[u32]) -> Result<Tensor> {
        let t = self.tensor(label, shape)?;
        self.write_u32(&t, data)?;
        Ok(t)
    }

    pub fn write(&self, t: &Tensor, data: &[f32]) -> Result<()> {
        self.write_at(t, 0, data)
    }

    /// Write `data` starting at element `offset`.
    pub fn write_at(&self, t: &Tensor, offset: usize, data: &[f32]) -> Result<()> {
        if offset + data.len() > t.len() {
            return Err(Error::Shape(format!(
                "writing {} values at {offset} into `{}` of {} elements",
                data.len(),
                t.label,
                t.len()
            )));
        }
        if !data.is_empty() {
            self.queue
                .write_buffer(&t.buffer, t.offset + offset as u64 * 4, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    pub fn write_u32(&self, t: &Tensor, data: &[u32]) -> Result<()> {
        if data.len() > t.len() {
            return Err(Error::Shape(format!(
                "writing {} values into `{}` of {} elements",
                data.len(),
                t.label,
                t.len()
            )));
        }
        if !data.is_empty() {
            self.queue.write_buffer(&t.buffer, t.offset, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    pub async fn read(&self, t: &Tensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes_many(&[t.whole()]).await?.pop().unwrap_or_default();
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    pub async fn read_u32(&self, t: &Tensor) -> Result<Vec<u32>> {
        let bytes = self.read_bytes_many(&[t.whole()]).await?.pop().unwrap_or_default();
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Read `len` elements from element `offset`.
    pub async fn read_range(&self, t: &Tensor, offset: usize, len: usize) -> Result<Vec<f32>> {
        if offset + len > t.len() {
            return Err(Error::Shape(format!(
                "reading {len} at {offset} from `{}` of {}",
                t.label,
                t.len()
            )));
        }
        let range = t.read_range(offset as u64 * 4, len as u64 * 4);
        let bytes = self.read_bytes_many(&[range]).await?.pop().unwrap_or_default();
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Every tensor with one submit and one map (see `read_bytes_many`), in order.
    pub async fn read_many(&self, tensors: &[&Tensor]) -> Result<Vec<Vec<f32>>> {
        self.read_many_chunked(tensors, self.limits.max_buffer_size).await
    }

    pub async fn read_many_u32(&self, tensors: &[&Tensor]) -> Result<Vec<Vec<u32>>> {
        self.read_many_as(tensors, self.limits.max_buffer_size).await
    }

    /// `read_many` with staging buffers of at most `max_chunk` bytes: one map per
    /// chunk. For callers that bound host memory, and for tests of the chunking.
    pub async fn read_many_chunked(&self, tensors: &[&Tensor], max_chunk: u64) -> Result<Vec<Vec<f32>>> {
        self.read_many_as(tensors, max_chunk).await
    }

    async fn read_many_as<T: bytemuck::Pod>(&self, tensors: &[&Tensor], max_chunk: u64) -> Result<Vec<Vec<T>>> {
        let ranges: Vec<ReadRange> = tensors.iter().map(|t| t.whole()).collect();
        let bytes = self.read_bytes_chunked(&ranges, max_chunk).await?;
        // into_iter: each tensor's bytes are freed once converted.
        Ok(bytes.into_iter().map(|b| bytemuck::pod_collect_to_vec(&b)).collect())
    }
}
