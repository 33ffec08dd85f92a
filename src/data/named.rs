//! Recognize a dataset from (file name, bytes) pairs: what a browser upload or
//! fetch hands us, and what `load_dir` reads natively.

use super::cifar::{cifar_file_role, cifar_split_from_files, parse_cifar_archive_named};
use super::idx::parse_idx_named;
use super::{DatasetKind, Split};
use crate::error::{Error, Result};

fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn is_archive(path: &str) -> bool {
    let b = base_name(path).to_ascii_lowercase();
    b.ends_with(".tar.gz") || b.ends_with(".tgz") || b.ends_with(".tar")
}

/// IDX role of a file name: (is_train, is_images), e.g. `t10k-labels-idx1-ubyte.gz`
/// -> (false, false). Accepts the `train-images.idx3-ubyte` spelling too.
pub fn idx_file_role(path: &str) -> Option<(bool, bool)> {
    let b = base_name(path).to_ascii_lowercase();
    if !(b.contains("idx") || b.contains("ubyte")) {
        return None;
    }
    let train = if b.starts_with("train") {
        true
    } else if b.starts_with("t10k") || b.starts_with("test") {
        false
    } else {
        return None;
    };
    let images = if b.contains("images") || b.contains("idx3") {
        true
    } else if b.contains("labels") || b.contains("idx1") {
        false
    } else {
        return None;
    };
    Some((train, images))
}

/// Build a train/test split from named files: the four IDX files (raw or .gz),
/// loose CIFAR binaries, or a CIFAR .tar.gz. Unrelated files are ignored.
/// `kind: None` guesses (IDX names containing "fashion" mean Fashion-MNIST).
pub fn load_named_files(kind: Option<DatasetKind>, files: &[(&str, &[u8])]) -> Result<Split> {
    let is_idx = |k: DatasetKind| matches!(k, DatasetKind::Mnist | DatasetKind::FashionMnist);
    let has_idx = files.iter().any(|f| idx_file_role(f.0).is_some());
    let has_cifar = files.iter().any(|f| cifar_file_role(f.0).is_some());
    let archive = files.iter().find(|f| is_archive(f.0));
    let kind = match kind {
        Some(k) => Some(k),
        None if has_idx => {
            let fashion = files.iter().any(|f| f.0.to_ascii_lowercase().contains("fashion"));
            Some(if fashion {
                DatasetKind::FashionMnist
            } else {
                DatasetKind::Mnist
            })
        }
        None => None, // CIFAR: inferred from its file names below
    };
    match kind {
        Some(DatasetKind::Synthetic) => Err(Error::Data(
            "the synthetic dataset is generated, not loaded from files".into(),
        )),
        Some(k) if is_idx(k) => idx_split(k, files),
        _ if has_cifar => cifar_split_from_files(kind, files),
        _ => match archive {
            Some(&(name, bytes)) => parse_cifar_archive_named(kind, name, bytes),
            None => {
                let names: Vec<&str> = files.iter().map(|f| f.0).collect();
                Err(Error::Data(format!(
                    "no dataset files recognized among {names:?} (expected *-images-idx3-ubyte[.gz] and \
                     *-labels-idx1-ubyte[.gz], CIFAR *.bin files, or a CIFAR .tar.gz)"
                )))
            }
        },
    }
}

/// The four IDX roles; when a role appears twice (raw and .gz) the raw one wins.
fn idx_split(kind: DatasetKind, files: &[(&str, &[u8])]) -> Result<Split> {
    let find = |train: bool, images: bool| -> Result<(&str, &[u8])> {
        let mut hits: Vec<&(&str, &[u8])> = files
            .iter()
            .filter(|f| idx_file_role(f.0) == Some((train, images)))
            .collect();
        hits.sort_by_key(|f| f.0.ends_with(".gz"));
        let what = format!(
            "{}-{}",
            if train { "train" } else { "t10k" },
            if images {
                "images-idx3-ubyte"
            } else {
                "labels-idx1-ubyte"
            }
        );
        hits.first()
            .map(|f| **f)
            .ok_or_else(|| Error::Data(format!("{kind}: missing {what}[.gz]")))
    };
    Ok(Split {
        train: parse_idx_named(kind, find(true, true)?, find(true, false)?)?,
        test: parse_idx_named(kind, find(false, true)?, find(false, false)?)?,
    })
}

/// Subfolders where the fetch script and the official archives put each dataset.
#[cfg(not(target_arch = "wasm32"))]
fn subdirs(kind: DatasetKind) -> &'static [&'static str] {
    match kind {
        DatasetKind::Mnist => &["mnist"],
        DatasetKind::FashionMnist => &["fashion-mnist", "fashion_mnist", "fashion"],
        DatasetKind::Cifar10 => &["cifar-10-batches-bin", "cifar10", "cifar-10"],
        DatasetKind::Cifar100 => &["cifar-100-binary", "cifar100", "cifar-100"],
        DatasetKind::Synthetic => &[],
    }
}

/// Whether `load_dir` should read this file for `kind` (keeps big unrelated
/// files, e.g. the other MNIST's, out of memory).
#[cfg(not(target_arch = "wasm32"))]
fn wanted(kind: DatasetKind, name: &str) -> bool {
    let b = base_name(name).to_ascii_lowercase();
    match kind {
        DatasetKind::Mnist | DatasetKind::FashionMnist => idx_file_role(&b).is_some(),
        DatasetKind::Cifar10 | DatasetKind::Cifar100 => {
            let archive_prefix = if kind == DatasetKind::Cifar10 {
                "cifar-10-"
            } else {
                "cifar-100-"
            };
            cifar_file_role(&b).is_some_and(|r| r.0 == kind) || (is_archive(&b) && b.starts_with(archive_prefix))
        }
        DatasetKind::Synthetic => false,
    }
}

/// Load `kind` from `dir` or its usual subfolder (`dir/mnist`, `dir/fashion-mnist`,
/// `dir/cifar-10-batches-bin`, ...), raw or gzip files, or a CIFAR archive.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_dir(kind: DatasetKind, dir: &std::path::Path) -> Result<Split> {
    let mut searched = Vec::new();
    let candidates = subdirs(kind)
        .iter()
        .map(|s| dir.join(s))
        .chain(std::iter::once(dir.to_path_buf()));
    for d in candidates {
        searched.push(d.display().to_string());
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let paths: Vec<std::path::PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.to_str().is_some_and(|s| wanted(kind, s)))
            .collect();
        if paths.is_empty() {
            continue;
        }
        // loose files beat an archive, raw beats .gz: read no more than needed
        let names: Vec<String> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let has_loose = names.iter().any(|n| !is_archive(n));
        let keep = |n: &String| {
            let shadowed = n.strip_suffix(".gz").is_some_and(|raw| names.iter().any(|m| m == raw));
            let archive_not_needed = has_loose && is_archive(n);
            !(shadowed || archive_not_needed)
        };
        let paths: Vec<&std::path::PathBuf> = paths
            .iter()
            .zip(&names)
            .filter(|(_, n)| keep(n))
            .map(|(p, _)| p)
            .collect();
        let mut files = Vec::new();
        for p in paths {
            let bytes = std::fs::read(p).map_err(|e| Error::Data(format!("{}: {e}", p.display())))?;
            files.push((p.display().to_string(), bytes));
        }
        let named: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        return load_named_files(Some(kind), &named);
    }
    Err(Error::Data(format!("no {kind} files in {searched:?}")))
}
