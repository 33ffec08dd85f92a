//! CIFAR-10/100 binary version: fixed-size records of label byte(s) + 3072 pixels
//! (1024 red, 1024 green, 1024 blue, rows top to bottom), which is already NCHW.
//! CIFAR-10: `<label>`; CIFAR-100: `<coarse label><fine label>` (we use fine).

use super::archive::{maybe_gunzip, tar_entries};
use super::{context, Dataset, DatasetKind, Normalization, Split};
use crate::error::{Error, Result};

const PIXELS: usize = 3 * 32 * 32;

/// Bytes per record and label bytes for a CIFAR kind.
pub fn record_layout(kind: DatasetKind) -> Result<(usize, usize)> {
    match kind {
        DatasetKind::Cifar10 => Ok((PIXELS + 1, 1)),
        DatasetKind::Cifar100 => Ok((PIXELS + 2, 2)),
        _ => Err(Error::Data(format!("{kind} is not a CIFAR dataset"))),
    }
}

/// Concatenate the records of several CIFAR binary files (e.g. data_batch_1..5).
pub fn parse_cifar(kind: DatasetKind, files: &[&[u8]]) -> Result<Dataset> {
    let names: Vec<String> = (0..files.len()).map(|i| format!("file {i}")).collect();
    let named: Vec<(&str, &[u8])> = names.iter().map(String::as_str).zip(files.iter().copied()).collect();
    parse_cifar_named(kind, &named)
}

/// As `parse_cifar`, naming each file in error messages.
pub fn parse_cifar_named(kind: DatasetKind, files: &[(&str, &[u8])]) -> Result<Dataset> {
    let (rec, lab) = record_layout(kind)?;
    let classes = if kind == DatasetKind::Cifar100 { 100 } else { 10 };
    if files.is_empty() {
        return Err(Error::Data(format!("{kind}: no files given")));
    }
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (name, raw) in files {
        let bytes = maybe_gunzip(name, raw)?;
        if bytes.is_empty() || bytes.len() % rec != 0 {
            return Err(Error::Data(format!(
                "{name}: {} bytes is not a whole number of {kind} records of {rec} bytes \
                 ({} records + {} bytes; truncated, or another dataset's file)",
                bytes.len(),
                bytes.len() / rec,
                bytes.len() % rec
            )));
        }
        images.reserve(bytes.len() / rec * PIXELS);
        for (i, r) in bytes.chunks_exact(rec).enumerate() {
            let label = r[lab - 1];
            if label as usize >= classes {
                return Err(Error::Data(format!(
                    "{name}: record {i} (offset {}) has label {label}, out of range for {classes} classes",
                    i * rec
                )));
            }
            labels.push(label);
            images.extend_from_slice(&r[lab..]);
        }
    }
    let ds = Dataset {
        kind,
        n: labels.len(),
        c: 3,
        h: 32,
        w: 32,
        classes,
        images,
        labels,
        norm: Normalization::for_kind(kind),
    };
    ds.validate()?;
    Ok(ds)
}

/// The role of a CIFAR file name: Some((kind, is_train, order)).
pub fn cifar_file_role(path: &str) -> Option<(DatasetKind, bool, u32)> {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let base = base.strip_suffix(".gz").unwrap_or(base);
    match base {
        "test_batch.bin" => Some((DatasetKind::Cifar10, false, 0)),
        "train.bin" => Some((DatasetKind::Cifar100, true, 0)),
        "test.bin" => Some((DatasetKind::Cifar100, false, 0)),
        _ => {
            let k = base.strip_prefix("data_batch_")?.strip_suffix(".bin")?.parse().ok()?;
            Some((DatasetKind::Cifar10, true, k))
        }
    }
}

/// Train/test split from named CIFAR files of one kind; `kind: None` infers it
/// from the file names. Unrelated files (batches.meta.txt, readme) are ignored.
pub fn cifar_split_from_files(kind: Option<DatasetKind>, files: &[(&str, &[u8])]) -> Result<Split> {
    let mut roles: Vec<(DatasetKind, bool, u32, &str, &[u8])> = files
        .iter()
        .filter_map(|&(n, b)| cifar_file_role(n).map(|(k, t, o)| (k, t, o, n, b)))
        .collect();
    let kind = match kind {
        Some(k) => k,
        None => roles.first().map(|r| r.0).ok_or_else(|| {
            Error::Data("no CIFAR files (data_batch_N.bin, test_batch.bin, train.bin, test.bin)".into())
        })?,
    };
    record_layout(kind)?;
    let other = roles.iter().find(|r| r.0 != kind).map(|r| r.3.to_string());
    roles.retain(|r| r.0 == kind);
    roles.sort_by_key(|r| (r.2, r.3.to_string()));
    let pick =
        |train: bool| -> Vec<(&str, &[u8])> { roles.iter().filter(|r| r.1 == train).map(|r| (r.3, r.4)).collect() };
    let (train, test) = (pick(true), pick(false));
    if train.is_empty() || test.is_empty() {
        let want = if kind == DatasetKind::Cifar10 {
            "at least one of data_batch_1..5.bin, and test_batch.bin"
        } else {
            "train.bin and test.bin"
        };
        let hint = other
            .map(|o| format!("; `{o}` belongs to the other CIFAR"))
            .unwrap_or_default();
        return Err(Error::Data(format!(
            "{kind} needs {want}, found {} train and {} test files{hint}",
            train.len(),
            test.len()
        )));
    }
    Ok(Split {
        train: parse_cifar_named(kind, &train)?,
        test: parse_cifar_named(kind, &test)?,
    })
}

/// The official `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz` (a plain
/// .tar is accepted too). `kind: None` infers CIFAR-10 vs -100 from the entries.
pub fn parse_cifar_archive_named(kind: Option<DatasetKind>, name: &str, bytes: &[u8]) -> Result<Split> {
    let tar = maybe_gunzip(name, bytes)?;
    let entries = tar_entries(name, &tar)?;
    let files: Vec<(&str, &[u8])> = entries.iter().map(|e| (e.name.as_str(), e.data)).collect();
    cifar_split_from_files(kind, &files).map_err(|e| context(e, name))
}

/// The official CIFAR binary archive of `kind`, as bytes.
pub fn parse_cifar_archive(kind: DatasetKind, tar_gz: &[u8]) -> Result<Split> {
    parse_cifar_archive_named(Some(kind), "archive", tar_gz)
}
