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
    /// A step asked for before the one it needs (no dataset, DNN, calibration, SNN or run yet).
    #[error("{0}")]
    MissingStep(String),
    /// A user's option or flag out of its range, or a name that means nothing (`--batch 0`,
    /// an unknown method).
    #[error("{0}")]
    InvalidOption(String),
    /// A model description that cannot be built (an unknown model, a layer that does not fit).
    #[error("model: {0}")]
    Model(String),
    #[error("training diverged: {0}")]
    Diverged(String),
    #[error("cancelled")]
    Cancelled,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Every `Error::kind` code, in the order of the variants: what the page decides on (never the
/// wording), and what tests/error_kinds.rs holds the page's table to.
pub const ERROR_KINDS: &[&str] = &[
    "no-adapter",
    "request-device",
    "device-lost",
    "gpu",
    "shader",
    "shape",
    "too-large",
    "readback",
    "data",
    "checkpoint",
    "config",
    "missing-step",
    "invalid-option",
    "model",
    "diverged",
    "cancelled",
    "io",
];

impl Error {
    /// A stable code for what went wrong (one of `ERROR_KINDS`): faces branch on it, never on
    /// the message.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoAdapter(_) => "no-adapter",
            Error::RequestDevice(_) => "request-device",
            Error::DeviceLost(_) => "device-lost",
            Error::Gpu(_) => "gpu",
            Error::Shader { .. } => "shader",
            Error::Shape(_) => "shape",
            Error::TooLarge { .. } => "too-large",
            Error::Readback(_) => "readback",
            Error::Data(_) => "data",
            Error::Checkpoint(_) => "checkpoint",
            Error::Config(_) => "config",
            Error::MissingStep(_) => "missing-step",
            Error::InvalidOption(_) => "invalid-option",
            Error::Model(_) => "model",
            Error::Diverged(_) => "diverged",
            Error::Cancelled => "cancelled",
            Error::Io(_) => "io",
        }
    }

    /// What the user can do about it, in words for any face, where the message does not say it
    /// already ("" there: data, checkpoint, size and option messages name their own remedy).
    pub fn hint(&self) -> &'static str {
        match self {
            Error::NoAdapter(_) | Error::RequestDevice(_) => {
                "a WebGPU-capable browser or a Vulkan/Metal/DX12 driver is needed (or --fallback for a CPU adapter)"
            }
            Error::Model(_) => "use a built-in model, or fix the named layer of the model config",
            Error::Diverged(_) => "lower the learning rate, or start from a checkpoint that trained",
            _ => "",
        }
    }

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
