//! The engine's live GPU buffers, counted: every buffer the engine creates (tensors, op
//! uniforms, staging) carries a guard that adds its bytes while it lives and takes them back
//! when the last handle drops. So a long session can show that its GPU memory stays flat
//! (`Gpu::live_buffers`), in the browser as natively (wgpu's own counters are native only).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

/// Buffers alive now and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LiveBuffers {
    pub buffers: u64,
    pub bytes: u64,
}

/// The shared tally (one per `Gpu`).
#[derive(Default)]
pub struct LiveTally {
    buffers: AtomicU64,
    bytes: AtomicU64,
}

impl LiveTally {
    pub fn snapshot(&self) -> LiveBuffers {
        LiveBuffers {
            buffers: self.buffers.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Counts one buffer of `bytes` in `tally` until dropped. Handles that share a buffer (clones
/// of a `Tensor`, aliases) share one guard through an `Arc`.
pub struct LiveGuard {
    tally: Arc<LiveTally>,
    bytes: u64,
}

impl LiveGuard {
    pub fn new(tally: &Arc<LiveTally>, bytes: u64) -> LiveGuard {
        tally.buffers.fetch_add(1, Ordering::Relaxed);
        tally.bytes.fetch_add(bytes, Ordering::Relaxed);
        LiveGuard {
            tally: tally.clone(),
            bytes,
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.tally.buffers.fetch_sub(1, Ordering::Relaxed);
        self.tally.bytes.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// A pooled staging buffer with its guard.
pub struct Staging {
    pub buffer: wgpu::Buffer,
    _live: LiveGuard,
}

impl Staging {
    pub fn new(buffer: wgpu::Buffer, tally: &Arc<LiveTally>) -> Staging {
        let _live = LiveGuard::new(tally, buffer.size());
        Staging { buffer, _live }
    }
}
