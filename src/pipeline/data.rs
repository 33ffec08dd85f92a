//! Where the data comes from (a folder, named byte buffers, the synthetic
//! set), subsets, and the summary a face shows.

use serde::Serialize;

use super::Pipeline;
use crate::data::{load_named_files, synthetic_split, DatasetKind, Split};
use crate::error::{Error, Result};

/// A dataset to load.
pub enum DataSource<'a> {
    /// The learnable synthetic set (1x16x16 images, 4 classes).
    Synthetic,
    /// A folder laid out as scripts/fetch-datasets.sh does (native only).
    #[cfg(not(target_arch = "wasm32"))]
    Dir {
        kind: DatasetKind,
        dir: &'a std::path::Path,
    },
    /// Files by name (IDX raw/gz, CIFAR .bin or .tar.gz); `kind` None guesses from the names.
    Files {
        kind: Option<DatasetKind>,
        files: &'a [(&'a str, &'a [u8])],
    },
}

/// What a loaded dataset is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetSummary {
    pub kind: DatasetKind,
    pub train: usize,
    pub test: usize,
    pub shape: [usize; 3],
    pub classes: usize,
}

impl DatasetSummary {
    pub fn of(split: &Split) -> DatasetSummary {
        let d = &split.train;
        DatasetSummary {
            kind: d.kind,
            train: d.n,
            test: split.test.n,
            shape: [d.c, d.h, d.w],
            classes: d.classes,
        }
    }
}

/// Parse `source`, keep the first `train_subset` / `test_subset` images.
pub fn load_split(source: DataSource, train_subset: Option<usize>, test_subset: Option<usize>) -> Result<Split> {
    if train_subset == Some(0) || test_subset == Some(0) {
        return Err(Error::InvalidOption(
            "--train-subset and --test-subset must be >= 1 (omit them for the whole set)".into(),
        ));
    }
    let mut split = match source {
        DataSource::Synthetic => synthetic_split(2048, 512, 1, 16, 16, 4, 1)?,
        #[cfg(not(target_arch = "wasm32"))]
        DataSource::Dir { kind, dir } => crate::data::load_dir(kind, dir).map_err(|e| with_fetch_hint(e, kind))?,
        DataSource::Files { kind, files } => load_named_files(kind, files)?,
    };
    if let Some(n) = train_subset {
        split.train = split.train.subset(0, n);
    }
    if let Some(n) = test_subset {
        split.test = split.test.subset(0, n);
    }
    Ok(split)
}

/// Say how to get the data that is missing: fetch the MNISTs, bring CIFAR.
#[cfg(not(target_arch = "wasm32"))]
fn with_fetch_hint(e: Error, kind: DatasetKind) -> Error {
    let hint = match kind {
        DatasetKind::Mnist | DatasetKind::FashionMnist => {
            "fetch MNIST/Fashion-MNIST with `bash scripts/fetch-datasets.sh data`"
        }
        _ => "bring CIFAR's official binary files (or *-binary.tar.gz) with --data DIR",
    };
    match e {
        Error::Data(m) => Error::Data(format!("{m} ({hint})")),
        e => e,
    }
}

impl Pipeline {
    /// Load `source` (subsets as in `load_split`) as the pipeline's data.
    pub fn load_data(
        &mut self,
        source: DataSource,
        train_subset: Option<usize>,
        test_subset: Option<usize>,
    ) -> Result<DatasetSummary> {
        let split = load_split(source, train_subset, test_subset)?;
        Ok(self.set_data(split))
    }
}
