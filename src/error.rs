//! The one error type of the library. Every fallible path returns `Result<T>`;
//! on wasm the `wasm_api` edge turns it into a `JsError` with the same message.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("no usable GPU adapter: {0}")]
    NoAdapter(String),
    #[error("the GPU refused to create a device: {0}")]
    RequestDevice(String),
    #[error("the GPU device was lost ({0}); reload the page or restart the program to get a new one")]
    DeviceLost(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("shader `{name}` is invalid: {msg}")]
    Shader { name: String, msg: String },
    #[error("shape mismatch: {0}")]
    Shape(String),
    #[error("`{what}` needs {size} bytes but the device allows at most {limit} ({limit_name}); use a smaller batch or model")]
    TooLarge {
        what: String,
        size: u64,
        limit: u64,
        limit_name: &'static str,
    },
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
    #[error("dataset: {0}")]
    Data(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("config: {0}")]
    Config(String),
    #[error("training diverged: {0}")]
    Diverged(String),
    #[error("cancelled")]
    Cancelled,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `wrap(self)` to add context, except that a lost device stays `DeviceLost`:
    /// it fails every call, and the call is not at fault.
    pub fn unless_lost(self, wrap: impl FnOnce(Error) -> Error) -> Error {
        match self {
            Error::DeviceLost(_) => self,
            e => wrap(e),
        }
    }
}

/// Shorthand for shape errors: `shape_err!("conv2d: x has {} channels, w expects {}", a, b)`.
#[macro_export]
macro_rules! shape_err {
    ($($arg:tt)*) => { $crate::error::Error::Shape(format!($($arg)*)) };
}
