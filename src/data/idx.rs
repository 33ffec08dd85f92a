//! IDX files (MNIST, Fashion-MNIST): big-endian header `00 00 08 ndim`, ndim
//! u32 sizes, then u8 data. Images are idx3 `[n, h, w]`, labels idx1 `[n]`.

use super::archive::maybe_gunzip;
use super::{context, Dataset, DatasetKind, Normalization};
use crate::error::{Error, Result};

/// An IDX array of u8: its dimensions and data.
#[derive(Debug)]
pub struct IdxU8 {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parse an IDX u8 array with `ndim` dimensions, gzip or raw. The data must fill
/// the file exactly: truncated and over-long files are both rejected.
pub fn parse_idx_u8(name: &str, bytes: &[u8], ndim: usize) -> Result<IdxU8> {
    let raw = maybe_gunzip(name, bytes)?;
    let bytes: &[u8] = &raw;
    let err = |msg: String| Error::Data(format!("{name}: {msg}"));
    if bytes.len() < 4 {
        return Err(err(format!("{} bytes is too short for an IDX header", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(err(format!(
            "bad IDX magic {:02x} {:02x} {:02x} {:02x} (expected 00 00 08 {ndim:02x}: unsigned bytes, {ndim} dims)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    if bytes[3] as usize != ndim {
        return Err(err(format!("IDX file has {} dims, expected {ndim}", bytes[3])));
    }
    let head = 4 + 4 * ndim;
    if bytes.len() < head {
        return Err(err(format!(
            "{} bytes is too short for a {ndim}-dim IDX header ({head} bytes)",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = bytes[4..head]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let want = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|n| n.checked_add(head));
    match want {
        Some(w) if w == bytes.len() => {}
        Some(w) => {
            let kind = if bytes.len() < w {
                "truncated"
            } else {
                "has trailing bytes"
            };
            return Err(err(format!(
                "dims {dims:?} need {w} bytes but the file has {} ({kind})",
                bytes.len()
            )));
        }
        None => return Err(err(format!("dims {dims:?} overflow"))),
    }
    let data = match raw {
        std::borrow::Cow::Owned(mut v) => {
            v.drain(..head);
            v
        }
        std::borrow::Cow::Borrowed(b) => b[head..].to_vec(),
    };
    Ok(IdxU8 { dims, data })
}

/// An images file (idx3) and its labels file (idx1), raw or .gz.
pub fn parse_idx_pair(kind: DatasetKind, images: &[u8], labels: &[u8]) -> Result<Dataset> {
    parse_idx_named(kind, ("images", images), ("labels", labels))
}

/// As `parse_idx_pair`, naming each file in error messages.
pub fn parse_idx_named(kind: DatasetKind, images: (&str, &[u8]), labels: (&str, &[u8])) -> Result<Dataset> {
    let im = parse_idx_u8(images.0, images.1, 3)?;
    let lb = parse_idx_u8(labels.0, labels.1, 1)?;
    let (n, h, w) = (im.dims[0], im.dims[1], im.dims[2]);
    if lb.dims[0] != n {
        return Err(Error::Data(format!(
            "{} has {n} images but {} has {} labels",
            images.0, labels.0, lb.dims[0]
        )));
    }
    let classes = kind.shape().map_or(10, |s| s.1);
    if let Some(([_, eh, ew], _)) = kind.shape() {
        if (h, w) != (eh, ew) {
            return Err(Error::Data(format!(
                "{}: {kind} images are {eh}x{ew}, the file has {h}x{w}",
                images.0
            )));
        }
    }
    let ds = Dataset {
        kind,
        n,
        c: 1,
        h,
        w,
        classes,
        images: im.data,
        labels: lb.data,
        norm: Normalization::for_kind(kind),
    };
    ds.validate().map_err(|e| context(e, labels.0))?;
    Ok(ds)
}
