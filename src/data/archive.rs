//! gzip and tar, just enough for the official dataset archives: flate2's pure-Rust
//! inflater (builds for wasm32) and a small ustar reader (GNU long names and pax
//! `path=` records included) so no tar crate or filesystem is needed.

use std::io::Read;

use crate::error::{Error, Result};

/// Refuse to inflate past this, so a corrupt or hostile stream cannot exhaust memory
/// (CIFAR-100's tar, the largest input we expect, is ~170 MB).
pub const MAX_INFLATED: u64 = 1 << 30;

const BLOCK: usize = 512;

/// True when `bytes` starts with the gzip magic 0x1f 0x8b.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// Inflate a gzip stream (all members). `name` only labels error messages.
pub fn gunzip(name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    if !is_gzip(bytes) {
        return Err(Error::Data(format!("{name}: not a gzip stream (no 1f 8b magic)")));
    }
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(bytes).take(MAX_INFLATED + 1);
    dec.read_to_end(&mut out).map_err(|e| {
        Error::Data(format!(
            "{name}: gzip stream of {} bytes is corrupt or truncated ({e}) after {} inflated bytes",
            bytes.len(),
            out.len()
        ))
    })?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(Error::Data(format!(
            "{name}: inflates to more than {MAX_INFLATED} bytes"
        )));
    }
    Ok(out)
}

/// Inflate when gzip, else borrow the bytes as they are.
pub fn maybe_gunzip<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    if is_gzip(bytes) {
        Ok(std::borrow::Cow::Owned(gunzip(name, bytes)?))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// A regular file inside a tar archive.
#[derive(Clone, Debug)]
pub struct TarEntry<'a> {
    pub name: String,
    pub data: &'a [u8],
}

/// List the regular files of a tar archive (directories, links and metadata
/// records are skipped). Checks each header's checksum and that every file's data
/// lies inside the archive.
pub fn tar_entries<'a>(name: &str, tar: &'a [u8]) -> Result<Vec<TarEntry<'a>>> {
    let err = |off: usize, msg: String| Error::Data(format!("{name}: tar header at offset {off}: {msg}"));
    let mut out = Vec::new();
    let mut off = 0usize;
    let mut long_name: Option<String> = None;
    while off + BLOCK <= tar.len() {
        let h = &tar[off..off + BLOCK];
        if h.iter().all(|&b| b == 0) {
            return Ok(out); // end-of-archive marker
        }
        let want = octal(&h[148..156]).ok_or_else(|| err(off, "checksum field is not octal".into()))?;
        let got: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 })
            .sum();
        if want != got {
            return Err(err(
                off,
                format!("checksum {want} does not match computed {got} (not a tar file, or corrupt)"),
            ));
        }
        let size = field_size(&h[124..136]).ok_or_else(|| err(off, "size field is not a number".into()))?;
        let start = off + BLOCK;
        let end = start
            .checked_add(size as usize)
            .filter(|&e| e <= tar.len())
            .ok_or_else(|| {
                err(
                    off,
                    format!(
                        "entry of {size} bytes runs past the end of the {}-byte archive (truncated)",
                        tar.len()
                    ),
                )
            })?;
        let data = &tar[start..end];
        match h[156] {
            b'L' => long_name = Some(cstr(data)),
            b'x' => long_name = pax_path(data).or(long_name),
            b'0' | 0 | b'7' => {
                let name = long_name.take().unwrap_or_else(|| header_name(h));
                out.push(TarEntry { name, data });
            }
            _ => long_name = None, // directories, links, global pax headers
        }
        off = start + (size as usize).div_ceil(BLOCK) * BLOCK;
    }
    if off == tar.len() {
        return Ok(out); // no end marker, but every entry was complete
    }
    Err(Error::Data(format!(
        "{name}: tar archive ends inside a header at offset {off} of {} (truncated)",
        tar.len()
    )))
}

/// ustar name: optional `prefix` (345..500) + '/' + `name` (0..100).
fn header_name(h: &[u8]) -> String {
    let name = cstr(&h[0..100]);
    let is_ustar = &h[257..262] == b"ustar";
    let prefix = if is_ustar { cstr(&h[345..500]) } else { String::new() };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Octal number, space/NUL padded.
fn octal(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b)
        .ok()?
        .trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Size field: octal, or GNU base-256 when the high bit of the first byte is set.
fn field_size(b: &[u8]) -> Option<u64> {
    if b[0] & 0x80 != 0 {
        let mut v: u64 = (b[0] & 0x7f) as u64;
        for &x in &b[1..] {
            v = v.checked_mul(256)? | x as u64;
        }
        return Some(v);
    }
    octal(b)
}

/// pax extended header records look like "LEN path=NAME\n".
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|line| {
        let (_, kv) = line.split_once(' ')?;
        kv.strip_prefix("path=").map(str::to_string)
    })
}
