//! A pipeline's models in one file, for a face to keep across a reload or a
//! lost GPU device (the page stores it in IndexedDB): the DNN's and the SNN's
//! last snapshots (the same safetensors bytes a download gives), where the SNN
//! came from, and the finished calibration. Running work is not kept: a
//! training or fine-tuning continues from its last epoch's snapshot.
//!
//! Layout: `USPKARC1`, a little-endian u64 header length, the JSON header
//! (`ArchiveHeader`), then the DNN's bytes and the SNN's bytes. Everything is
//! checked on the way in (sizes with checked arithmetic, both checkpoints as a
//! file would be, the calibration against the DNN's layers and mu), so a
//! damaged or stale archive is refused by name, never half restored.

use serde::{Deserialize, Serialize};

use super::{Calibrated, Calibration, DnnStage, Pipeline, Snapshot, SnnOrigin};
use crate::checkpoint::Checkpoint;
use crate::convert::stats::{LayerStats, BINS};
use crate::error::{Error, Result};
use crate::meta::{DnnMeta, SnnMeta};
use crate::models::params::{param_specs, ParamKind};

const MAGIC: &[u8; 8] = b"USPKARC1";
/// A header larger than this is not one we wrote (a calibration of 64 layers is ~2 MB of JSON).
const MAX_HEADER: u64 = 64 << 20;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveHeader {
    dnn_len: u64,
    snn_len: u64,
    snn_origin: Option<SnnOrigin>,
    calibration: Option<CalibrationRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationRecord {
    /// FNV-1a of the DNN section the statistics were gathered on.
    dnn_fingerprint: u64,
    stats: Vec<LayerStats>,
    last_t: usize,
    steps: usize,
}

/// The parsed, checked content of an archive.
pub struct Archive {
    dnn: Option<Snapshot<DnnMeta>>,
    snn: Option<(Snapshot<SnnMeta>, SnnOrigin)>,
    calibration: Option<Calibrated>,
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::Checkpoint(format!("saved session: {msg}"))
}

impl Archive {
    /// Parse and check an archive (see the module header for what is checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Archive> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not an ultraspike session archive"))?;
        let (len, rest) = rest
            .split_at_checked(8)
            .ok_or_else(|| bad("truncated before the header"))?;
        let header_len = u64::from_le_bytes(len.try_into().map_err(|_| bad("header length"))?);
        if header_len > MAX_HEADER || header_len > rest.len() as u64 {
            return Err(bad(format!(
                "header length {header_len} exceeds the {} bytes after it",
                rest.len()
            )));
        }
        let (header, body) = rest.split_at(header_len as usize);
        let h: ArchiveHeader = serde_json::from_slice(header).map_err(|e| bad(format!("header: {e}")))?;
        let expected = h
            .dnn_len
            .checked_add(h.snn_len)
            .ok_or_else(|| bad("section sizes overflow"))?;
        if expected != body.len() as u64 {
            return Err(bad(format!(
                "sections of {expected} bytes, but {} follow the header",
                body.len()
            )));
        }
        let (dnn_bytes, snn_bytes) = body.split_at(h.dnn_len as usize);
        let dnn = (!dnn_bytes.is_empty()).then(|| parse_dnn(dnn_bytes)).transpose()?;
        let snn = match (snn_bytes.is_empty(), h.snn_origin) {
            (true, None) => None,
            (false, Some(origin)) => Some((parse_snn(snn_bytes)?, origin)),
            _ => return Err(bad("an SNN section and its origin come together")),
        };
        if matches!(snn, Some((_, SnnOrigin::Converted))) && dnn.is_none() {
            return Err(bad("an SNN converted from a DNN, but no DNN"));
        }
        let calibration = match h.calibration {
            None => None,
            Some(c) if c.dnn_fingerprint != fnv1a(dnn_bytes) => {
                return Err(bad("the calibration was made on another DNN (its fingerprint differs)"))
            }
            Some(c) => Some(check_calibration(
                c,
                dnn.as_ref().ok_or_else(|| bad("a calibration but no DNN"))?,
            )?),
        };
        Ok(Archive { dnn, snn, calibration })
    }

    fn to_bytes(&self) -> Result<Vec<u8>> {
        let dnn = self
            .dnn
            .as_ref()
            .map(Snapshot::to_bytes)
            .transpose()?
            .unwrap_or_default();
        let snn = self
            .snn
            .as_ref()
            .map(|(s, _)| s.to_bytes())
            .transpose()?
            .unwrap_or_default();
        let header = ArchiveHeader {
            dnn_len: dnn.len() as u64,
            snn_len: snn.len() as u64,
            snn_origin: self.snn.as_ref().map(|(_, o)| *o),
            calibration: self.calibration.as_ref().map(|c| CalibrationRecord {
                dnn_fingerprint: fnv1a(&dnn),
                stats: c.stats.clone(),
                last_t: c.last_t,
                steps: c.steps,
            }),
        };
        let header = serde_json::to_vec(&header).map_err(|e| bad(format!("header: {e}")))?;
        let mut out = Vec::with_capacity(16 + header.len() + dnn.len() + snn.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend([header, dnn, snn].concat());
        Ok(out)
    }
}

/// FNV-1a, 64 bits: binds a calibration to the exact DNN bytes (not a defence
/// against forgery, a guard against restoring a mismatched pair).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn parse_dnn(bytes: &[u8]) -> Result<Snapshot<DnnMeta>> {
    let ck = Checkpoint::from_bytes(bytes).map_err(|e| bad(format!("DNN: {e}")))?;
    let meta = DnnMeta::from_checkpoint(&ck).map_err(|e| bad(format!("DNN: {e}")))?;
    Ok(Snapshot { ck, meta })
}

fn parse_snn(bytes: &[u8]) -> Result<Snapshot<SnnMeta>> {
    let ck = Checkpoint::from_bytes(bytes).map_err(|e| bad(format!("SNN: {e}")))?;
    let meta = SnnMeta::from_checkpoint(&ck).map_err(|e| bad(format!("SNN: {e}")))?;
    Ok(Snapshot { ck, meta })
}

/// The calibration belongs to this DNN: one record per threshold-ReLU, in
/// order, with the DNN's name and mu, and statistics that are well formed.
fn check_calibration(c: CalibrationRecord, dnn: &Snapshot<DnnMeta>) -> Result<Calibrated> {
    let specs = param_specs(&dnn.meta.model)?;
    let mus: Vec<_> = specs.iter().filter(|s| s.kind == ParamKind::Mu).collect();
    if mus.len() != c.stats.len() {
        return Err(bad(format!(
            "the calibration has {} layers, the DNN {} threshold-ReLUs (a calibration of another DNN)",
            c.stats.len(),
            mus.len()
        )));
    }
    for (s, spec) in c.stats.iter().zip(mus) {
        let mu = dnn.ck.tensors.get(&spec.name).and_then(|t| t.data.first().copied());
        if s.name != spec.name.trim_end_matches(".mu") || mu.map(f32::to_bits) != Some(s.mu.to_bits()) {
            return Err(bad(format!(
                "calibration layer `{}` (mu {}) does not match the DNN's `{}` (mu {mu:?}): a calibration of another DNN",
                s.name, s.mu, spec.name
            )));
        }
        check_layer_stats(s)?;
    }
    Ok(Calibrated {
        stats: c.stats,
        last_t: c.last_t,
        steps: c.steps,
    })
}

fn check_layer_stats(s: &LayerStats) -> Result<()> {
    let finite = [s.min, s.max, s.hist_top].iter().all(|v| v.is_finite())
        && [s.p99_9, s.p99_99, s.percentile_error, s.mean_post]
            .iter()
            .all(|v| v.is_finite())
        && s.percentiles.iter().all(|v| v.is_finite());
    let counted = s.hist.iter().try_fold(0u64, |a, &b| a.checked_add(b as u64));
    if !finite
        || s.hist.len() != BINS
        || s.percentiles.len() != 99
        || s.min > s.max
        || s.hist_top < s.max
        || s.count == 0
        || counted != Some(s.count)
    {
        return Err(bad(format!("calibration layer `{}`: malformed statistics", s.name)));
    }
    Ok(())
}

impl Pipeline {
    /// The models and the calibration as one archive (last snapshots: a
    /// running training or fine-tuning is kept as of its last closed epoch).
    pub fn archive(&self) -> Result<Vec<u8>> {
        let calibration = match self.dnn.as_ref().and_then(|d| d.calibration.as_ref()) {
            Some(Calibration::Done(c)) => Some(c.clone()),
            _ => None,
        };
        let dnn = self.saved_dnn().cloned();
        Archive {
            calibration: calibration.filter(|_| dnn.is_some()),
            dnn,
            snn: self.snn.as_ref().map(|s| (s.saved.clone(), s.origin)),
        }
        .to_bytes()
    }

    /// Replace the models (and the calibration) with an archive's. Load the
    /// data first: new data drops the calibration made on the old.
    pub fn restore(&mut self, archive: Archive) -> PipelineRestored {
        let restored = PipelineRestored {
            dnn: archive.dnn.is_some(),
            calibrated: archive.calibration.is_some(),
            snn: archive.snn.is_some(),
        };
        self.dnn = archive.dnn.map(|saved| DnnStage {
            saved: Some(saved),
            training: None,
            calibration: archive.calibration.map(Calibration::Done),
        });
        self.snn = None;
        if let Some((saved, origin)) = archive.snn {
            self.replace_snn(saved, origin);
        }
        restored
    }
}

/// What `restore` brought back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PipelineRestored {
    pub dnn: bool,
    pub calibrated: bool,
    pub snn: bool,
}
