//! A minimal HDF5 writer in pure Rust (no C library, so it also runs in wasm):
//! exactly the subset a NIR file needs, written to bytes in memory.
//!
//! What it writes (HDF5 File Format Specification 3.0):
//! - a version-2 superblock (8-byte offsets and lengths, no extension, no free space);
//! - version-2 object headers ("OHDR", one chunk, no times, lookup3 checksums);
//! - groups with compact ("new-style") links: a Link Info message without a
//!   fractal heap, a Group Info message and one hard-link message per member;
//! - datasets with a version-2 dataspace (scalar or simple, fixed size), a
//!   version-3 fill-value message (default fill) and contiguous version-3
//!   layout, of little-endian f32, little-endian signed i64, or fixed-length
//!   null-padded UTF-8 strings (the longest one's length; scalars or arrays).
//!
//! Not written: attributes, chunking, compression, variable-length types,
//! dense link storage (a group may have up to 65535 bytes of link messages).
//! Every size is computed with checked arithmetic; a tree that does not fit is refused.

use super::lookup3::hashlittle;
use crate::error::{Error, Result};

/// The element data of a dataset (row-major, as its shape says).
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Str(Vec<String>),
}

/// A dataset: `shape` empty = a scalar holding one element.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub shape: Vec<usize>,
    pub data: Data,
}

impl Dataset {
    pub fn f32(shape: &[usize], v: Vec<f32>) -> Dataset {
        Dataset {
            shape: shape.to_vec(),
            data: Data::F32(v),
        }
    }

    pub fn i64(shape: &[usize], v: Vec<i64>) -> Dataset {
        Dataset {
            shape: shape.to_vec(),
            data: Data::I64(v),
        }
    }

    pub fn scalar_i64(v: i64) -> Dataset {
        Self::i64(&[], vec![v])
    }

    pub fn string(s: &str) -> Dataset {
        Dataset {
            shape: vec![],
            data: Data::Str(vec![s.to_string()]),
        }
    }

    pub fn strings(shape: &[usize], v: Vec<String>) -> Dataset {
        Dataset {
            shape: shape.to_vec(),
            data: Data::Str(v),
        }
    }

    fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }
}

/// A member of a group.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Group(Group),
    Dataset(Dataset),
}

/// A group: named members, written in this order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub members: Vec<(String, Node)>,
}

impl Group {
    pub fn new() -> Group {
        Group::default()
    }

    pub fn dataset(&mut self, name: &str, d: Dataset) -> &mut Self {
        self.members.push((name.to_string(), Node::Dataset(d)));
        self
    }

    pub fn group(&mut self, name: &str, g: Group) -> &mut Self {
        self.members.push((name.to_string(), Node::Group(g)));
        self
    }
}

const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];
const SUPERBLOCK_LEN: usize = 48;
/// The "undefined address" of the format (all bits set).
const UNDEF: u64 = u64::MAX;

const MSG_DATASPACE: u8 = 0x01;
const MSG_LINK_INFO: u8 = 0x02;
const MSG_DATATYPE: u8 = 0x03;
const MSG_FILL_VALUE: u8 = 0x05;
const MSG_LINK: u8 = 0x06;
const MSG_LAYOUT: u8 = 0x08;
const MSG_GROUP_INFO: u8 = 0x0A;

fn too_big(what: &str) -> Error {
    Error::Config(format!("HDF5: {what} is too large for the writer"))
}

/// The whole file with `root` as its root group.
pub fn write_file(root: &Group) -> Result<Vec<u8>> {
    let mut out = vec![0u8; SUPERBLOCK_LEN];
    let root_addr = write_group(&mut out, root, "/")?;
    let eof = out.len() as u64;
    let mut sb = Vec::with_capacity(SUPERBLOCK_LEN);
    sb.extend_from_slice(&SIGNATURE);
    // Superblock version 2; offsets and lengths of 8 bytes; no consistency flags.
    sb.extend_from_slice(&[2, 8, 8, 0]);
    for addr in [0, UNDEF, eof, root_addr] {
        sb.extend_from_slice(&addr.to_le_bytes());
    }
    let sum = hashlittle(&sb);
    sb.extend_from_slice(&sum.to_le_bytes());
    out[..SUPERBLOCK_LEN].copy_from_slice(&sb);
    Ok(out)
}

/// Children first (their addresses go into the links), then the group's header.
fn write_group(out: &mut Vec<u8>, g: &Group, path: &str) -> Result<u64> {
    let mut links = Vec::with_capacity(g.members.len());
    for (name, node) in &g.members {
        if name.is_empty() || name.contains('/') || name == "." {
            return Err(Error::Config(format!("HDF5: `{path}` has a member named `{name}`")));
        }
        if links.iter().any(|(n, _): &(&String, u64)| *n == name) {
            return Err(Error::Config(format!("HDF5: `{path}` has two members named `{name}`")));
        }
        let child = format!("{}/{name}", path.trim_end_matches('/'));
        let addr = match node {
            Node::Group(sub) => write_group(out, sub, &child)?,
            Node::Dataset(d) => write_dataset(out, d, &child)?,
        };
        links.push((name, addr));
    }
    let mut msgs = vec![(MSG_LINK_INFO, link_info()), (MSG_GROUP_INFO, vec![0, 0])];
    for (name, addr) in links {
        msgs.push((MSG_LINK, link(name, addr)?));
    }
    write_object_header(out, &msgs)
}

/// Link Info v0: no creation order, no fractal heap or name index (links stay compact).
fn link_info() -> Vec<u8> {
    let mut m = vec![0, 0];
    m.extend_from_slice(&UNDEF.to_le_bytes());
    m.extend_from_slice(&UNDEF.to_le_bytes());
    m
}

/// A hard-link message v1 with a UTF-8 name.
fn link(name: &str, addr: u64) -> Result<Vec<u8>> {
    let n = name.len();
    // Flags: name-length field of 1 or 2 bytes (bits 0-1), charset field present (bit 4).
    let (flags, len_bytes): (u8, Vec<u8>) = match (u8::try_from(n), u16::try_from(n)) {
        (Ok(b), _) => (0x10, vec![b]),
        (_, Ok(w)) => (0x11, w.to_le_bytes().to_vec()),
        _ => {
            let head: String = name.chars().take(16).collect();
            return Err(too_big(&format!("the link name `{head}...`")));
        }
    };
    let mut m = vec![1, flags, 1]; // version 1, flags, charset UTF-8
    m.extend_from_slice(&len_bytes);
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&addr.to_le_bytes());
    Ok(m)
}

/// The raw data, then the header that points at it.
fn write_dataset(out: &mut Vec<u8>, d: &Dataset, path: &str) -> Result<u64> {
    let n = d
        .shape
        .iter()
        .try_fold(1usize, |a, &x| a.checked_mul(x))
        .ok_or_else(|| too_big(&format!("the shape {:?} of `{path}`", d.shape)))?;
    if n != d.len() || n == 0 {
        return Err(Error::Shape(format!(
            "HDF5 dataset `{path}`: shape {:?} holds {n} values, got {} (empty datasets are not written)",
            d.shape,
            d.len()
        )));
    }
    let (datatype, raw) = encode(&d.data)?;
    let addr = out.len() as u64;
    out.extend_from_slice(&raw);
    let msgs = [
        (MSG_DATASPACE, dataspace(&d.shape)?),
        (MSG_DATATYPE, datatype),
        // Fill value v3: allocation early, fill written "if set", no value defined (zeros).
        (MSG_FILL_VALUE, vec![3, 0x09]),
        (MSG_LAYOUT, contiguous_layout(addr, raw.len() as u64)),
    ];
    write_object_header(out, &msgs)
}

/// Dataspace v2: scalar (rank 0) or simple with fixed dimensions.
fn dataspace(shape: &[usize]) -> Result<Vec<u8>> {
    let rank = u8::try_from(shape.len()).map_err(|_| too_big("a rank"))?;
    let kind = if shape.is_empty() { 0 } else { 1 };
    let mut m = vec![2, rank, 0, kind];
    for &dim in shape {
        m.extend_from_slice(&(dim as u64).to_le_bytes());
    }
    Ok(m)
}

/// Layout v3, contiguous: the address and size of the raw data.
fn contiguous_layout(addr: u64, size: u64) -> Vec<u8> {
    let mut m = vec![3, 1];
    m.extend_from_slice(&addr.to_le_bytes());
    m.extend_from_slice(&size.to_le_bytes());
    m
}

/// The datatype message (v1) and the little-endian raw bytes of `data`.
fn encode(data: &Data) -> Result<(Vec<u8>, Vec<u8>)> {
    Ok(match data {
        Data::F32(v) => {
            // Floating point: LE, implied mantissa msb (0x20), sign at bit 31; IEEE single.
            let mut t = vec![0x11, 0x20, 31, 0];
            t.extend_from_slice(&4u32.to_le_bytes());
            t.extend_from_slice(&0u16.to_le_bytes());
            t.extend_from_slice(&32u16.to_le_bytes());
            t.extend_from_slice(&[23, 8, 0, 23]);
            t.extend_from_slice(&127u32.to_le_bytes());
            (t, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
        Data::I64(v) => {
            // Fixed point: LE, signed (0x08), 64 bits at offset 0.
            let mut t = vec![0x10, 0x08, 0, 0];
            t.extend_from_slice(&8u32.to_le_bytes());
            t.extend_from_slice(&0u16.to_le_bytes());
            t.extend_from_slice(&64u16.to_le_bytes());
            (t, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
        Data::Str(v) => {
            // Fixed-length string of the longest one's bytes (at least 1), null-padded (1), UTF-8 (1 << 4).
            let width = v.iter().map(String::len).max().unwrap_or(0).max(1);
            let mut t = vec![0x13, 0x11, 0, 0];
            let size = u32::try_from(width).map_err(|_| too_big("a string"))?;
            t.extend_from_slice(&size.to_le_bytes());
            let mut raw = Vec::with_capacity(width.saturating_mul(v.len()));
            for s in v {
                raw.extend_from_slice(s.as_bytes());
                raw.resize(raw.len() + width - s.len(), 0);
            }
            (t, raw)
        }
    })
}

/// An object header v2 holding `msgs` in one chunk; returns its address.
fn write_object_header(out: &mut Vec<u8>, msgs: &[(u8, Vec<u8>)]) -> Result<u64> {
    let mut chunk = Vec::new();
    for (kind, body) in msgs {
        let size = u16::try_from(body.len()).map_err(|_| too_big("an object header message"))?;
        chunk.push(*kind);
        chunk.extend_from_slice(&size.to_le_bytes());
        chunk.push(0); // message flags
        chunk.extend_from_slice(body);
    }
    let chunk_len = u32::try_from(chunk.len()).map_err(|_| too_big("an object header"))?;
    // Version 2; flags 0x02: the chunk size is a 4-byte field, no times or attribute limits.
    let mut h = b"OHDR".to_vec();
    h.extend_from_slice(&[2, 0x02]);
    h.extend_from_slice(&chunk_len.to_le_bytes());
    h.extend_from_slice(&chunk);
    let sum = hashlittle(&h);
    h.extend_from_slice(&sum.to_le_bytes());
    let addr = out.len() as u64;
    out.extend_from_slice(&h);
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_dataset(d: Dataset) -> Result<Vec<u8>> {
        let mut g = Group::new();
        g.dataset("d", d);
        write_file(&g)
    }

    #[test]
    fn the_superblock_points_at_the_root_and_the_end() {
        let bytes = one_dataset(Dataset::scalar_i64(3)).unwrap();
        assert_eq!(&bytes[..8], &SIGNATURE);
        let addr = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        assert_eq!(addr(28), bytes.len() as u64, "end-of-file address");
        let root = addr(36) as usize;
        assert_eq!(&bytes[root..root + 4], b"OHDR");
        let sum = u32::from_le_bytes(bytes[44..48].try_into().unwrap());
        assert_eq!(sum, hashlittle(&bytes[..44]));
    }

    #[test]
    fn refuses_what_it_cannot_write() {
        let short = one_dataset(Dataset::f32(&[2, 2], vec![1.0; 3])).unwrap_err();
        assert!(
            short.to_string().contains("shape [2, 2] holds 4 values, got 3"),
            "{short}"
        );
        assert!(one_dataset(Dataset::f32(&[0], vec![])).is_err());
        let mut g = Group::new();
        g.dataset("x", Dataset::scalar_i64(1))
            .dataset("x", Dataset::scalar_i64(2));
        assert!(write_file(&g)
            .unwrap_err()
            .to_string()
            .contains("two members named `x`"));
        let mut g = Group::new();
        g.dataset("a/b", Dataset::scalar_i64(1));
        assert!(write_file(&g).is_err());
        let huge = Dataset::f32(&[usize::MAX, 2], vec![]);
        assert!(one_dataset(huge).unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn strings_are_null_padded_to_the_longest() {
        let (t, raw) = encode(&Data::Str(vec!["ab".into(), "c".into()])).unwrap();
        assert_eq!(u32::from_le_bytes(t[4..8].try_into().unwrap()), 2);
        assert_eq!(raw, b"abc\0");
    }
}
