//! A stop request set from outside running work: the page's Cancel button
//! while a `*_steps` call awaits the GPU (the session itself is borrowed then,
//! so the button holds a clone of this), or a CLI's Ctrl-C. Step-wise work
//! checks it before every batch and ends with `Error::Cancelled`, so a cancel
//! takes effect within one batch, however many were asked for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Ask the running (or the next) step-wise call to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Forget an unanswered request (a face starting new work).
    pub fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// `Err(Cancelled)` once per request: the request is consumed by the work it stops.
    pub fn check(&self) -> Result<()> {
        if self.0.swap(false, Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        Ok(())
    }
}
