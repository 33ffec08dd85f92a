//! Checkpoints as safetensors with PyTorch names and layouts (`features.0.weight`,
//! conv OIHW, linear `[out, in]`), so a state_dict saved with
//! `safetensors.torch.save_file` loads and ours load in PyTorch. The file is
//! self-describing: our JSON metadata (model config, normalization, epoch,
//! metrics, ...) sits in `__metadata__["ultraspike"]` as a JSON string.

use std::collections::BTreeMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use crate::error::{Error, Result};

/// The `__metadata__` key that holds our JSON.
pub const META_KEY: &str = "ultraspike";

/// Names of optimizer state (the DNN's SGD momentum, `optimizer.<param>.momentum_buffer`)
/// start with this; everything else is the model.
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, NamedTensor>,
    /// Our metadata (`Null` when the file has none, e.g. one written by PyTorch).
    pub metadata: serde_json::Value,
    /// Other `__metadata__` string entries, kept as they were (e.g. `format: pt`).
    pub extra: BTreeMap<String, String>,
}

fn err(msg: String) -> Error {
    Error::Checkpoint(msg)
}

impl Checkpoint {
    pub fn new(metadata: serde_json::Value) -> Self {
        Checkpoint {
            metadata,
            ..Default::default()
        }
    }

    /// The model alone: every tensor but the optimizer state, with the same metadata. What a
    /// file needs for evaluation, conversion and export (half the size of an SGD checkpoint);
    /// training resumes from it with fresh momentum.
    pub fn without_optimizer_state(&self) -> Checkpoint {
        let mut ck = self.clone();
        ck.tensors.retain(|name, _| !name.starts_with(OPTIMIZER_PREFIX));
        ck
    }

    /// Add (or replace) a tensor, checking that the shape matches the data.
    pub fn insert(&mut self, name: &str, shape: &[usize], data: Vec<f32>) -> Result<()> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(err(format!(
                "tensor `{name}`: shape {shape:?} holds {n} values, got {}",
                data.len()
            )));
        }
        self.tensors.insert(
            name.to_string(),
            NamedTensor {
                shape: shape.to_vec(),
                data,
            },
        );
        Ok(())
    }

    /// `insert`, unless a value is NaN or infinite: a diverged model is refused
    /// with the tensor and index named, instead of being saved over a good one.
    pub fn insert_finite(&mut self, name: &str, shape: &[usize], data: Vec<f32>) -> Result<()> {
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(Error::Diverged(format!(
                "{name}[{i}] is {} - refusing to save it",
                data[i]
            )));
        }
        self.insert(name, shape, data)
    }

    /// The data of `name`, which must have exactly `expect_shape`.
    pub fn get(&self, name: &str, expect_shape: &[usize]) -> Result<&[f32]> {
        let t = self.tensors.get(name).ok_or_else(|| {
            let mut have: Vec<&str> = self.tensors.keys().map(String::as_str).take(12).collect();
            if self.tensors.len() > have.len() {
                have.push("...");
            }
            err(format!("no tensor `{name}` (the checkpoint has {})", have.join(", ")))
        })?;
        if t.shape != expect_shape {
            return Err(err(format!(
                "tensor `{name}` has shape {:?} but the model expects {expect_shape:?}",
                t.shape
            )));
        }
        Ok(&t.data)
    }

    /// Serialize to safetensors bytes: F32 little-endian tensors, metadata as JSON.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes: Vec<(&String, &NamedTensor, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(k, t)| (k, t, t.data.iter().flat_map(|v| v.to_le_bytes()).collect()))
            .collect();
        let mut views = Vec::with_capacity(bytes.len());
        for (name, t, b) in &bytes {
            let v = TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map_err(|e| err(format!("tensor `{name}` {:?}: {e}", t.shape)))?;
            views.push((name.as_str(), v));
        }
        let mut meta: Vec<(String, String)> = self.extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !self.metadata.is_null() {
            let json = serde_json::to_string(&self.metadata).map_err(|e| err(format!("metadata: {e}")))?;
            meta.push((META_KEY.to_string(), json));
        }
        let meta = if meta.is_empty() {
            None
        } else {
            Some(meta.into_iter().collect())
        };
        let bytes = safetensors::serialize(views, meta).map_err(|e| err(format!("serialize: {e}")))?;
        canonical_header(bytes)
    }

    /// Parse safetensors bytes. F32 loads as is; F16, BF16, F64 and integer
    /// tensors (e.g. BatchNorm's `num_batches_tracked`) are converted to f32.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        precheck(bytes)?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| explain(e, bytes.len()))?;
        let mut ck = Checkpoint::default();
        for (name, view) in st.tensors() {
            let data = to_f32(view.dtype(), view.data()).ok_or_else(|| {
                err(format!(
                    "tensor `{name}` has dtype {:?}, which cannot be read as f32",
                    view.dtype()
                ))
            })?;
            ck.tensors.insert(
                name,
                NamedTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        if let Some(meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| explain(e, bytes.len()))?
            .1
            .metadata()
        {
            for (k, v) in meta.iter() {
                if k == META_KEY {
                    ck.metadata = serde_json::from_str(v)
                        .map_err(|e| err(format!("__metadata__[\"{META_KEY}\"] is not valid JSON: {e}")))?;
                } else {
                    ck.extra.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(ck)
    }

    /// Write to `path` atomically: a temp file in the same folder, synced, then
    /// renamed over the target, so a crash never leaves a half-written checkpoint.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save_atomic(&self, path: &std::path::Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        // What is renamed over the target must read back as what was meant.
        let back = Self::from_bytes(&bytes)
            .map_err(|e| err(format!("{}: not written, it would not read back: {e}", path.display())))?;
        if !back.same_bits(self) {
            return Err(err(format!(
                "{}: not written, it would not read back identically",
                path.display()
            )));
        }
        crate::util::fs::write_atomic(path, &bytes).map_err(|e| err(format!("{}: cannot write: {e}", path.display())))
    }

    /// Equal tensors bit for bit (NaN payloads included), metadata and extra entries.
    pub fn same_bits(&self, other: &Checkpoint) -> bool {
        let bits = |t: &NamedTensor| t.data.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        self.metadata == other.metadata
            && self.extra == other.extra
            && self.tensors.len() == other.tensors.len()
            && self
                .tensors
                .iter()
                .zip(&other.tensors)
                .all(|((ka, a), (kb, b))| ka == kb && a.shape == b.shape && bits(a) == bits(b))
    }

    /// Fail now, before any work, if `path` cannot be written (missing or
    /// read-only folder): create and remove a probe file beside it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn check_writable(path: &std::path::Path) -> Result<()> {
        let file = path
            .file_name()
            .ok_or_else(|| err(format!("{}: not a file path", path.display())))?;
        let probe = path.with_file_name(format!(".{}.probe{}", file.to_string_lossy(), std::process::id()));
        std::fs::File::create(&probe).map_err(|e| err(format!("{}: cannot write here: {e}", path.display())))?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            Error::Checkpoint(m) => err(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

/// Clear messages for the commonest damage before the parser's terser ones.
fn precheck(bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 {
        return Err(err(format!(
            "{} bytes is too short for a safetensors file (8-byte header length)",
            bytes.len()
        )));
    }
    let n = u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ]);
    if n > (bytes.len() - 8) as u64 {
        return Err(err(format!(
            "header length {n} exceeds the {} bytes after it (truncated, or not a safetensors file)",
            bytes.len() - 8
        )));
    }
    Ok(())
}

fn explain(e: SafeTensorError, len: usize) -> Error {
    match e {
        SafeTensorError::MetadataIncompleteBuffer => err(format!(
            "the tensors' data offsets do not cover the {len}-byte file exactly (truncated or trailing bytes)"
        )),
        other => err(format!("not a valid safetensors file ({len} bytes): {other}")),
    }
}

/// Little-endian elements of `dtype` as f32; None for dtypes we do not read.
fn to_f32(dtype: Dtype, b: &[u8]) -> Option<Vec<f32>> {
    fn each<const N: usize>(b: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
        b.chunks_exact(N).map(|c| f(c.try_into().unwrap_or([0; N]))).collect()
    }
    Some(match dtype {
        Dtype::F32 => each(b, f32::from_le_bytes),
        Dtype::F64 => each(b, |c| f64::from_le_bytes(c) as f32),
        Dtype::F16 => each(b, |c| f16_to_f32(u16::from_le_bytes(c))),
        Dtype::BF16 => each(b, |c: [u8; 2]| f32::from_bits((u16::from_le_bytes(c) as u32) << 16)),
        Dtype::I64 => each(b, |c| i64::from_le_bytes(c) as f32),
        Dtype::I32 => each(b, |c| i32::from_le_bytes(c) as f32),
        Dtype::I16 => each(b, |c| i16::from_le_bytes(c) as f32),
        Dtype::U8 | Dtype::BOOL => b.iter().map(|&v| v as f32).collect(),
        Dtype::I8 => b.iter().map(|&v| v as i8 as f32).collect(),
        _ => return None,
    })
}

/// IEEE half -> single, subnormals and inf/NaN included.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // subnormal: value = m * 2^-24
            let v = m as f32 / 16_777_216.0;
            return if sign != 0 { -v } else { v };
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// safetensors takes `__metadata__` as a HashMap, so its key order (and the
/// file's bytes) changed from call to call. Rewrite the header with sorted
/// keys, so equal checkpoints are equal files. Data offsets are relative to the
/// data section, which stays as it is.
fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let bad = || err("serialize: malformed header".into());
    let n = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(bad)? as usize;
    let raw = bytes.get(8..8 + n).ok_or_else(bad)?;
    let mut header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(raw).map_err(|e| err(format!("serialize: {e}")))?;
    if let Some(m) = header.get_mut("__metadata__") {
        let sorted: BTreeMap<String, String> =
            serde_json::from_value(m.take()).map_err(|e| err(format!("serialize: {e}")))?;
        *m = serde_json::to_value(sorted).map_err(|e| err(format!("serialize: {e}")))?;
    }
    let mut json = serde_json::to_vec(&header).map_err(|e| err(format!("serialize: {e}")))?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}
