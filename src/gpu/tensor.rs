//! A GPU buffer of 4-byte elements (f32 or u32) with a shape. Buffers are
//! STORAGE | COPY_SRC | COPY_DST, checked against device limits before allocation.

use crate::error::{Error, Result};
use crate::gpu::readback::ReadRange;
use crate::gpu::Gpu;

/// Cloning gives another handle to the same GPU buffer (a view, not a copy).
#[derive(Clone)]
pub struct Tensor {
    pub buffer: wgpu::Buffer,
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

    /// All of the tensor, as a range to read back.
    fn whole(&self) -> ReadRange<'_> {
        ReadRange {
            buffer: &self.buffer,
            offset: 0,
            bytes: self.bytes(),
        }
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
            shape: shape.to_vec(),
            label: label.into(),
            live: std::sync::Arc::new(crate::gpu::live::LiveGuard::new(&self.live, bytes)),
        })
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
                .write_buffer(&t.buffer, offset as u64 * 4, bytemuck::cast_slice(data));
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
            self.queue.write_buffer(&t.buffer, 0, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    pub async fn read(&self, t: &Tensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(&t.buffer, 0, t.bytes()).await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    pub async fn read_u32(&self, t: &Tensor) -> Result<Vec<u32>> {
        let bytes = self.read_bytes(&t.buffer, 0, t.bytes()).await?;
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
        let bytes = self.read_bytes(&t.buffer, offset as u64 * 4, len as u64 * 4).await?;
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
