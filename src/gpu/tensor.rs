//! A GPU buffer of 4-byte elements (f32 or u32) with a shape. Buffers are
//! STORAGE | COPY_SRC | COPY_DST, checked against device limits before allocation.

use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// Cloning gives another handle to the same GPU buffer (a view, not a copy).
#[derive(Clone)]
pub struct Tensor {
    pub buffer: wgpu::Buffer,
    pub shape: Vec<usize>,
    pub label: String,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> u64 {
        self.len() as u64 * 4
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
    /// A zero-filled tensor.
    pub fn tensor(&self, label: &str, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let bytes = (n as u64 * 4).max(4);
        self.check_buffer_size(label, bytes)?;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Tensor {
            buffer,
            shape: shape.to_vec(),
            label: label.into(),
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
            self.queue
                .write_buffer(&t.buffer, 0, bytemuck::cast_slice(data));
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
        let bytes = self
            .read_bytes(&t.buffer, offset as u64 * 4, len as u64 * 4)
            .await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}
