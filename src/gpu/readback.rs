//! The one async readback path: ranges of GPU buffers copied into pooled
//! staging buffers, mapped once per chunk and split back into one `Vec` per range.

use std::ops::Range;
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::gpu::live::Staging;
use crate::gpu::Gpu;

/// Staging buffers up to this size go back to the pool for the next readback.
const STAGING_POOL_MAX_BYTES: u64 = 64 << 20;

/// `bytes` bytes at `offset` of `buffer`, for `Gpu::read_bytes_many`. wgpu copies
/// whole 4-byte words, so both must be multiples of 4 (every tensor range is).
#[derive(Clone, Copy, Debug)]
pub struct ReadRange<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub bytes: u64,
}

impl ReadRange<'_> {
    fn is_aligned(&self) -> bool {
        self.offset.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
            && self.bytes.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
    }
}

impl Gpu {
    /// Copy every range back with one submit and one map: each map is a full GPU
    /// sync, and in the browser a yield to the page, so small results travel together.
    /// Only over the device's `max_buffer_size` is the staging split into chunks.
    pub async fn read_bytes_many(&self, ranges: &[ReadRange<'_>]) -> Result<Vec<Vec<u8>>> {
        // A MAP_READ buffer is never bound to a shader, so only max_buffer_size limits it.
        self.read_bytes_chunked(ranges, self.limits.max_buffer_size).await
    }

    /// `read_bytes_many` with staging buffers of at most `max_chunk` bytes (a
    /// range over that gets a chunk of its own): one submit and one map per chunk.
    pub async fn read_bytes_chunked(&self, ranges: &[ReadRange<'_>], max_chunk: u64) -> Result<Vec<Vec<u8>>> {
        self.check()?;
        if let Some(r) = ranges.iter().find(|r| !r.is_aligned()) {
            return Err(Error::Readback(format!(
                "range of {} bytes at {} is not a multiple of {} bytes",
                r.bytes,
                r.offset,
                wgpu::COPY_BUFFER_ALIGNMENT
            )));
        }
        let mut out = Vec::with_capacity(ranges.len());
        for chunk in plan_chunks(ranges.iter().map(|r| r.bytes), max_chunk) {
            out.extend(self.read_chunk(&ranges[chunk]).await?);
        }
        Ok(out)
    }

    /// Copy `ranges` back to back into one staging buffer, map it once, split it.
    async fn read_chunk(&self, ranges: &[ReadRange<'_>]) -> Result<Vec<Vec<u8>>> {
        let total: u64 = ranges.iter().map(|r| r.bytes).sum();
        if total == 0 {
            return Ok(vec![Vec::new(); ranges.len()]);
        }
        let pooled = self.take_staging(total);
        let staging = &pooled.buffer;
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
        let mut at = 0;
        for r in ranges.iter().filter(|r| r.bytes > 0) {
            enc.copy_buffer_to_buffer(r.buffer, r.offset, staging, at, r.bytes);
            at += r.bytes;
        }
        self.submit([enc.finish()]);
        let out = self.map_staging(staging, total, ranges).await?;
        self.give_staging(pooled);
        Ok(out)
    }

    /// Map the first `total` bytes of `staging` (the ranges' copies, back to
    /// back), copy each range's bytes out, unmap.
    async fn map_staging(&self, staging: &wgpu::Buffer, total: u64, ranges: &[ReadRange<'_>]) -> Result<Vec<Vec<u8>>> {
        self.maps.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..total).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        let mapped = rx.await.map_err(|_| Error::Readback("map callback dropped".into()))?;
        if let Err(e) = mapped {
            // A lost device fails every map: say that, not the map's own error.
            self.check()?;
            return Err(Error::Readback(e.to_string()));
        }
        let out = {
            let view = staging
                .slice(..total)
                .get_mapped_range()
                .map_err(|e| Error::Readback(e.to_string()))?;
            // Split straight from the mapping: no second copy of a whole checkpoint.
            let mut rest: &[u8] = &view;
            ranges
                .iter()
                .map(|r| {
                    let (head, tail) = rest.split_at(r.bytes as usize);
                    rest = tail;
                    head.to_vec()
                })
                .collect()
        };
        staging.unmap();
        self.check()?;
        Ok(out)
    }

    /// GPU-to-CPU maps so far. Each is a full sync (and a yield in the browser);
    /// tests use this to hold exports and evaluations to one map.
    pub fn maps(&self) -> u64 {
        self.maps.load(Ordering::Relaxed)
    }

    /// The smallest pooled staging buffer that holds `bytes`, else a new one.
    fn take_staging(&self, bytes: u64) -> Staging {
        if let Ok(mut pool) = self.staging.lock() {
            let fits = pool.iter().enumerate().filter(|(_, b)| b.buffer.size() >= bytes);
            if let Some((i, _)) = fits.min_by_key(|(_, b)| b.buffer.size()) {
                return pool.swap_remove(i);
            }
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Staging::new(buffer, &self.live)
    }

    fn give_staging(&self, buf: Staging) {
        // A whole-checkpoint staging buffer (hundreds of MB for VGG-16) is not
        // kept: exports are rare, and it would hold that host memory for good.
        if buf.buffer.size() > STAGING_POOL_MAX_BYTES {
            return;
        }
        if let Ok(mut pool) = self.staging.lock() {
            if pool.len() < 8 {
                pool.push(buf);
            }
        }
    }
}

/// Split ranges of `sizes` bytes, in order, into runs whose sum stays within
/// `max` (a range over `max` alone); none when there are no ranges.
pub fn plan_chunks(sizes: impl IntoIterator<Item = u64>, max: u64) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut sum, mut n) = (0, 0u64, 0);
    for (i, size) in sizes.into_iter().enumerate() {
        if i > start && sum + size > max {
            chunks.push(start..i);
            (start, sum) = (i, 0);
        }
        sum += size;
        n = i + 1;
    }
    if n > start {
        chunks.push(start..n);
    }
    chunks
}
